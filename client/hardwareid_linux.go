package client

func machineID() (string, error) {
	return machineIDFromFiles("/etc/machine-id", "/var/lib/dbus/machine-id")
}
