package client

import (
	"fmt"
	"os/exec"
)

func machineID() (string, error) {
	out, err := exec.Command("/usr/sbin/ioreg", "-rd1", "-c", "IOPlatformExpertDevice").Output()
	if err != nil {
		return "", fmt.Errorf("%w: ioreg: %w", ErrNoMachineID, err)
	}
	return parseIOReg(out)
}
