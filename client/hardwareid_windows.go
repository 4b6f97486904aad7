package client

import (
	"fmt"

	"golang.org/x/sys/windows/registry"
)

func machineID() (string, error) {
	// The 64-bit view: a 32-bit process would otherwise read the WOW64
	// copy, which lacks MachineGuid.
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Cryptography`, registry.QUERY_VALUE|registry.WOW64_64KEY)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNoMachineID, err)
	}
	defer k.Close()
	id, _, err := k.GetStringValue("MachineGuid")
	if err != nil || id == "" {
		return "", fmt.Errorf("%w: MachineGuid: %v", ErrNoMachineID, err)
	}
	return id, nil
}
