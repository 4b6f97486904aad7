package testenv

import "syscall"

// clusterProcAttr runs a PostgreSQL program as cred (nil: as the test),
// in a process group of its own, and, when deathSignal is not 0, has the
// kernel send it deathSignal if the test process dies first.
func clusterProcAttr(cred *syscall.Credential, deathSignal syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: deathSignal}
}
