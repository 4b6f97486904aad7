//go:build !linux && !darwin && !windows

package client

func machineID() (string, error) { return "", ErrNoMachineID }
