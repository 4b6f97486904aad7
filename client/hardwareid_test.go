package client

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestMachineIDFromFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("machine-id", "0123456789abcdef0123456789abcdef\n")
	uninit := write("uninit", "uninitialized\n")
	id, err := machineIDFromFiles(filepath.Join(dir, "missing"), uninit, good)
	if err != nil || id != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("got %q, %v", id, err)
	}
	if _, err := machineIDFromFiles(uninit, filepath.Join(dir, "missing")); !errors.Is(err, ErrNoMachineID) {
		t.Fatalf("no valid file: %v, want ErrNoMachineID", err)
	}
}

func TestDeriveHardwareID(t *testing.T) {
	const mid = "0123456789abcdef0123456789abcdef"
	a := deriveHardwareID(mid, "print-client")
	if len(a) != 32 || strings.Trim(a, "0123456789abcdef") != "" {
		t.Fatalf("hardware id %q is not 32 hex digits", a)
	}
	if a != deriveHardwareID(mid, "print-client") || a != deriveHardwareID(strings.ToUpper(mid), "print-client") {
		t.Fatal("not stable")
	}
	if a == deriveHardwareID(mid, "other-client") {
		t.Fatal("two clients get the same hardware id")
	}
	if a == deriveHardwareID("fedcba9876543210fedcba9876543210", "print-client") {
		t.Fatal("two machines get the same hardware id")
	}
	if strings.Contains(a, mid[:8]) {
		t.Fatal("the machine id shows through")
	}
}

func TestParseIOReg(t *testing.T) {
	out := []byte(`+-o J314sAP  <class IOPlatformExpertDevice, id 0x100000228, registered, matched, active, busy 0 (1 ms), retain 44>
    {
      "IOPlatformSerialNumber" = "C02XXXXXXXXX"
      "IOPlatformUUID" = "1B2A3C4D-5E6F-7081-92A3-B4C5D6E7F809"
    }`)
	id, err := parseIOReg(out)
	if err != nil || id != "1B2A3C4D-5E6F-7081-92A3-B4C5D6E7F809" {
		t.Fatalf("got %q, %v", id, err)
	}
	if _, err := parseIOReg([]byte("nothing")); !errors.Is(err, ErrNoMachineID) {
		t.Fatalf("no uuid: %v", err)
	}
}

// TestMachineHardwareIDHere: on Linux, the real /etc/machine-id.
func TestMachineHardwareIDHere(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skipf("reads /etc/machine-id, which only Linux has (this is %s)", runtime.GOOS)
	}
	raw, err := os.ReadFile("/etc/machine-id")
	if err != nil {
		t.Fatalf("this machine has no /etc/machine-id (%v): systemd-machine-id-setup or dbus-uuidgen --ensure=/etc/machine-id creates one", err)
	}
	id, err := MachineHardwareID("print-client")
	if err != nil {
		t.Fatal(err)
	}
	if id != deriveHardwareID(strings.TrimSpace(string(raw)), "print-client") {
		t.Fatal("not derived from /etc/machine-id")
	}
}
