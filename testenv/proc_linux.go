package testenv

import "syscall"

// sysProcAttr makes the kernel kill the dev server if the test binary dies without running its
// cleanups (a -timeout panic, say), so no orphan keeps the port and runs on after the test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
