package printing

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/pairgate/pairgate"
)

// Install scripts: the commands that set up a device's printers, for the
// device to run (`pairgate device printers --format lpadmin|powershell`,
// and the Self-service Portal shows them). pairgate never runs them. The
// printer's fields come from the server, and the server may be wrong, so
// every value is quoted for its shell here, whatever was validated there:
// a name with ' or ; or $( ) must neither break a line nor run anything.

// Queue is a printer as a device installs it.
type Queue struct {
	Name        string
	URI         string
	Location    string
	Description string
	Model       string // pairgate.ModelEverywhere or a make-and-model
	Duplex      bool
	Color       bool
	PaperSize   string // one of pairgate.PaperSizes, or ""
	Default     bool
}

// QueueFor is the Queue of a printer deployed to a device.
func QueueFor(p pairgate.DevicePrinter) Queue {
	return Queue{Name: p.Name, URI: p.URI, Location: p.Location, Description: p.Description, Model: p.Model,
		Duplex: p.Options.Duplex, Color: p.Options.Color, PaperSize: p.Options.PaperSize, Default: p.Default}
}

// CUPSName is a printer name as a CUPS queue may be named: letters,
// digits, '_' and '-' (CUPS takes a few more characters, but these are the
// ones every shell, URL and lpstat column takes as they are), at most 127
// bytes, starting with a letter or digit; "printer" when nothing is left.
func CUPSName(name string) string {
	var b strings.Builder
	under := false
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
		if !ok || r == '_' {
			if !under && b.Len() > 0 {
				b.WriteByte('_')
			}
			under = true
			continue
		}
		b.WriteRune(r)
		under = false
	}
	s := strings.Trim(b.String(), "_-")
	if len(s) > 127 {
		s = strings.TrimRight(s[:127], "_-")
	}
	if s == "" {
		return "printer"
	}
	return s
}

// queueNames gives every queue a distinct CUPS name: two printers whose
// names sanitize alike get _2, _3…, compared as CUPS does, ignoring case.
func queueNames(qs []Queue) []string {
	taken := map[string]bool{}
	out := make([]string, len(qs))
	for i, q := range qs {
		base := CUPSName(q.Name)
		name := base
		for n := 2; taken[strings.ToLower(name)]; n++ {
			name = fmt.Sprintf("%s_%d", base, n)
		}
		taken[strings.ToLower(name)] = true
		out[i] = name
	}
	return out
}

// QueueNames returns the CUPS queue names Lpadmin uses, in order.
func QueueNames(qs []Queue) []string { return queueNames(qs) }

// ShellQuote quotes s for a POSIX shell: in single quotes, where nothing
// is special, with each ' written as '\”.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// PowerShellQuote quotes s as a PowerShell verbatim string: in single
// quotes, with each quote doubled. PowerShell takes the typographic single
// quotes (U+2018 to U+201B) for ' as well, so they are doubled too.
func PowerShellQuote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\'', '\u2018', '\u2019', '\u201A', '\u201B':
			b.WriteRune(r)
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}

// Lpadmin returns a POSIX shell script of CUPS commands that install the
// queues: lpadmin with `-m everywhere` for a driverless printer, the
// driver lpinfo finds for a make-and-model otherwise, and the default
// options; `lpadmin -d` makes the default printer the system's default.
// Run as root (or a member of lpadmin).
func Lpadmin(qs []Queue) string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# Printers deployed to this device by pairgate. Run as root; CUPS_SERVER selects another CUPS.\nset -e\n")
	// cupsd makes an IPP Everywhere queue's PPD in the background, after
	// lpadmin -m everywhere has returned, and options set before it is
	// there are lost: wait for it (30 s at most).
	b.WriteString("pairgate_wait_ppd() { i=0; until lpoptions -p \"$1\" -l 2>/dev/null | grep -q .; do i=$((i+1)); [ \"$i\" -lt 300 ] || return 0; sleep 0.1; done; }\n")
	names := queueNames(qs)
	for i, q := range qs {
		name := ShellQuote(names[i])
		create := []string{"-p", name, "-E", "-v", ShellQuote(q.URI)}
		driverless := q.Model == pairgate.ModelEverywhere || q.Model == ""
		if driverless {
			create = append(create, "-m", "everywhere")
		} else {
			create = append(create, "-m", `"$ppd"`)
		}
		if q.Location != "" {
			create = append(create, "-L", ShellQuote(q.Location))
		}
		if q.Description != "" {
			create = append(create, "-D", ShellQuote(q.Description))
		}
		// The default options in a second command, once the queue has
		// its PPD: with -m everywhere cupsd makes the PPD from what the
		// printer says after lpadmin returns, and its defaults would
		// replace options given any earlier.
		sides := "one-sided"
		if q.Duplex {
			sides = "two-sided-long-edge"
		}
		color := "monochrome"
		if q.Color {
			color = "color"
		}
		set := []string{"-p", name, "-o", ShellQuote("sides=" + sides), "-o", ShellQuote("print-color-mode=" + color)}
		if m := pairgate.PaperSizePWG(q.PaperSize); m != "" {
			set = append(set, "-o", ShellQuote("media="+m))
		}
		if driverless {
			fmt.Fprintf(&b, "lpadmin %s\npairgate_wait_ppd %s\nlpadmin %s\n", strings.Join(create, " "), name, strings.Join(set, " "))
		} else {
			// The make-and-model names a driver; lpinfo finds its PPD
			// among those installed on this machine.
			fmt.Fprintf(&b, "if ppd=$(lpinfo --make-and-model %s -m | awk 'NR==1 {print $1}') && [ -n \"$ppd\" ]; then\n", ShellQuote(q.Model))
			fmt.Fprintf(&b, "  lpadmin %s\n  pairgate_wait_ppd %s\n  lpadmin %s\nelse\n", strings.Join(create, " "), name, strings.Join(set, " "))
			fmt.Fprintf(&b, "  echo %s >&2\nfi\n", ShellQuote("pairgate: no driver installed for "+q.Model+"; queue "+names[i]+" skipped"))
		}
	}
	for i, q := range qs {
		if q.Default {
			fmt.Fprintf(&b, "lpadmin -d %s\n", ShellQuote(names[i]))
		}
	}
	return b.String()
}

// windowsName is a printer name Windows takes: no backslash or comma.
func windowsName(s string) string {
	return strings.NewReplacer(`\`, "-", ",", " ").Replace(s)
}

// PowerShell returns a PowerShell script that installs the queues on
// Windows: IPP printers with Add-Printer -IppURL (Windows speaks IPP over
// http:// and https:// URLs and installs the Microsoft IPP Class Driver
// itself), socket and LPD printers with a Standard TCP/IP port
// (Add-PrinterPort) and a driver: the Microsoft IPP Class Driver for a
// driverless printer, else the make-and-model's, which must be in the
// driver store. Then the default options (Set-PrintConfiguration) and the
// default printer. Run in an elevated PowerShell.
func PowerShell(qs []Queue) string {
	var b strings.Builder
	b.WriteString("# Printers deployed to this device by pairgate. Run in an elevated PowerShell.\n$ErrorActionPreference = 'Stop'\n")
	for _, q := range qs {
		name := PowerShellQuote(windowsName(q.Name))
		fmt.Fprintf(&b, "if (-not (Get-Printer -Name %s -ErrorAction SilentlyContinue)) {\n", name)
		u, err := url.Parse(q.URI)
		if err == nil && u.Port() != "" {
			_, err = strconv.Atoi(u.Port())
		}
		if err != nil || !slices.Contains([]string{pairgate.SchemeIPP, pairgate.SchemeIPPS, pairgate.SchemeSocket, pairgate.SchemeLPD}, u.Scheme) {
			fmt.Fprintf(&b, "  Write-Warning %s\n}\n", PowerShellQuote("pairgate: printer "+q.Name+" has a URI Windows cannot use"))
			continue
		}
		host := u.Hostname()
		switch u.Scheme {
		case pairgate.SchemeIPP, pairgate.SchemeIPPS:
			w := *u
			w.Scheme = "http"
			if u.Scheme == pairgate.SchemeIPPS {
				w.Scheme = "https"
			}
			if u.Port() == "" {
				w.Host = net.JoinHostPort(host, "631")
			}
			fmt.Fprintf(&b, "  Add-Printer -Name %s -IppURL %s\n", name, PowerShellQuote(w.String()))
		default:
			driver := "Microsoft IPP Class Driver"
			if q.Model != pairgate.ModelEverywhere && q.Model != "" {
				driver = q.Model
				fmt.Fprintf(&b, "  Add-PrinterDriver -Name %s\n", PowerShellQuote(driver))
			}
			var port string
			var add string
			if u.Scheme == pairgate.SchemeLPD {
				queue := strings.Trim(u.Path, "/")
				port = "LPR_" + host + "_" + queue
				add = fmt.Sprintf("Add-PrinterPort -Name %s -LprHostAddress %s -LprQueueName %s", PowerShellQuote(port),
					PowerShellQuote(host), PowerShellQuote(queue))
			} else {
				pn := u.Port()
				if pn == "" {
					pn = "9100"
				}
				port = "IP_" + host + "_" + pn
				add = fmt.Sprintf("Add-PrinterPort -Name %s -PrinterHostAddress %s -PortNumber %s", PowerShellQuote(port),
					PowerShellQuote(host), pn)
			}
			fmt.Fprintf(&b, "  if (-not (Get-PrinterPort -Name %s -ErrorAction SilentlyContinue)) { %s }\n", PowerShellQuote(port), add)
			fmt.Fprintf(&b, "  Add-Printer -Name %s -PortName %s -DriverName %s", name, PowerShellQuote(port), PowerShellQuote(driver))
			if q.Location != "" {
				fmt.Fprintf(&b, " -Location %s", PowerShellQuote(q.Location))
			}
			if q.Description != "" {
				fmt.Fprintf(&b, " -Comment %s", PowerShellQuote(q.Description))
			}
			b.WriteString("\n")
		}
		b.WriteString("}\n")
		if u.Scheme == pairgate.SchemeIPP || u.Scheme == pairgate.SchemeIPPS {
			if q.Location != "" || q.Description != "" {
				fmt.Fprintf(&b, "Set-Printer -Name %s", name)
				if q.Location != "" {
					fmt.Fprintf(&b, " -Location %s", PowerShellQuote(q.Location))
				}
				if q.Description != "" {
					fmt.Fprintf(&b, " -Comment %s", PowerShellQuote(q.Description))
				}
				b.WriteString("\n")
			}
		}
		duplex := "OneSided"
		if q.Duplex {
			duplex = "TwoSidedLongEdge"
		}
		color := "$false"
		if q.Color {
			color = "$true"
		}
		fmt.Fprintf(&b, "Set-PrintConfiguration -PrinterName %s -DuplexingMode %s -Color %s", name, duplex, color)
		if q.PaperSize != "" && pairgate.PaperSizePWG(q.PaperSize) != "" {
			fmt.Fprintf(&b, " -PaperSize %s", q.PaperSize)
		}
		b.WriteString("\n")
	}
	for _, q := range qs {
		if q.Default {
			fmt.Fprintf(&b, "Get-CimInstance -ClassName Win32_Printer | Where-Object Name -eq %s | Invoke-CimMethod -MethodName SetDefaultPrinter | Out-Null\n",
				PowerShellQuote(windowsName(q.Name)))
		}
	}
	return b.String()
}
