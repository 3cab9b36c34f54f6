package redistest

import "syscall"

// sysProcAttr asks the kernel to stop redis-server when the test binary
// dies without running its cleanups (a -timeout panic, a kill), so no
// server outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
