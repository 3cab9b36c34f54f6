package main

import (
	"os"
	"path/filepath"
	"testing"
)

// -cpuprofile writes a profile (gzipped, as pprof reads it) when stopped,
// and a path that cannot be created fails at start.
func TestCPUProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "echo.pprof")
	stop, err := startCPUProfile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("profile %q: %d bytes, %v; want gzip", path, len(b), err)
	}
	if _, err := startCPUProfile(filepath.Join(t.TempDir(), "missing", "echo.pprof")); err == nil {
		t.Fatal("a profile in a missing directory started")
	}
}
