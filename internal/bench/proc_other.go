//go:build !linux

package main

import (
	"errors"
	"syscall"
	"time"
)

func childAttr() *syscall.SysProcAttr { return nil }

// processCPU needs /proc: the echo side's CPU is then not reported.
func processCPU(int) (time.Duration, error) { return 0, errors.ErrUnsupported }
