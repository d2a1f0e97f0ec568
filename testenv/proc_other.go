//go:build !linux

package testenv

import "syscall"

// sysProcAttr: only Linux can tie the server's life to the test binary's (Pdeathsig).
func sysProcAttr() *syscall.SysProcAttr { return nil }
