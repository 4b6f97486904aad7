// Package printing is what a device's token is for: the printers deployed
// to it (Service, for the device API and the portal), the commands that
// install them on Linux, macOS and Windows (Lpadmin, PowerShell), and the
// IPP check that asks a printer what it is (Prober). It has no net/http
// handlers: the device API (internal/api), the portal and the console
// (internal/web) and the command line use it.
package printing
