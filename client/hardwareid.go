package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// ErrNoMachineID is returned where the system offers no stable machine
// identifier: give the hardware id explicitly there.
var ErrNoMachineID = errors.New("this system offers no stable machine identifier; give a hardware id explicitly")

// MachineHardwareID derives a hardware id for this machine, for use with
// the given client, from the identifier the operating system keeps for it:
// /etc/machine-id on Linux, IOPlatformUUID on macOS, MachineGuid on
// Windows. The identifier itself never leaves the machine (machine-id(5)
// asks for that): the result is an HMAC-SHA256 keyed with it, over a
// pairgate-specific string and the client id, as 32 hex digits. It is
// stable across reboots and reinstalls of pairgate, and differs between
// clients, so that two applications cannot correlate the machine through
// it.
func MachineHardwareID(clientID string) (string, error) {
	id, err := machineID()
	if err != nil {
		return "", err
	}
	return deriveHardwareID(id, clientID), nil
}

func deriveHardwareID(machineID, clientID string) string {
	m := hmac.New(sha256.New, []byte(strings.ToLower(machineID)))
	m.Write([]byte("pairgate hardware id\x00" + clientID))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

var machineIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// machineIDFromFiles reads the first valid machine-id(5) file.
func machineIDFromFiles(paths ...string) (string, error) {
	var errs []error
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		id := strings.TrimSpace(string(b))
		// "uninitialized" is what an image carries until first boot.
		if !machineIDPattern.MatchString(id) {
			errs = append(errs, fmt.Errorf("%s does not hold a machine id", p))
			continue
		}
		return id, nil
	}
	return "", fmt.Errorf("%w: %w", ErrNoMachineID, errors.Join(errs...))
}

var ioregUUID = regexp.MustCompile(`"IOPlatformUUID"\s*=\s*"([0-9A-Fa-f-]{36})"`)

// parseIOReg finds IOPlatformUUID in `ioreg -rd1 -c IOPlatformExpertDevice`.
func parseIOReg(out []byte) (string, error) {
	m := ioregUUID.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("%w: no IOPlatformUUID in ioreg's output", ErrNoMachineID)
	}
	return string(m[1]), nil
}
