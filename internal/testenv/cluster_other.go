//go:build unix && !linux

package testenv

import "syscall"

// clusterProcAttr runs a PostgreSQL program as cred (nil: as the test),
// in a process group of its own. Only Linux has a parent-death signal:
// elsewhere a server whose test process was killed outright runs on, on
// its own port behind its own password, until someone stops it.
func clusterProcAttr(cred *syscall.Credential, deathSignal syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true}
}
