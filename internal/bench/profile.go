package main

import (
	"errors"
	"os"
	"runtime/pprof"
)

// profiled runs f under a CPU profile of this process written to path,
// and returns the profile with f's error.
func profiled(path string, f func() error) (*profile, error) {
	file, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(file); err != nil {
		file.Close()
		return nil, err
	}
	ferr := f()
	pprof.StopCPUProfile()
	if err := file.Close(); err != nil || ferr != nil {
		return nil, errors.Join(ferr, err)
	}
	return readProfile(path)
}
