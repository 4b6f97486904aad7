package printing_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/pairgate/pairgate/internal/printing"
)

var hostileNames = []string{
	`Lab's Printer`,
	`a"b`,
	`x; rm -rf / #`,
	`$(id) and ` + "`id`",
	`back\slash \' \\'`,
	"tab\tnew\nline",
	`‘curly’ ‚low‛ quotes`,
	`$env:PATH ${x} @(1) $null`,
	"ünïcødé 打印机",
	"",
	"'",
	"''",
}

// TestShellQuoteRoundTrips: what ShellQuote makes, a real sh reads back
// as exactly the text, one word, running nothing.
func TestShellQuoteRoundTrips(t *testing.T) {
	for _, s := range hostileNames {
		out, err := exec.Command("sh", "-c", "printf '%s|' "+printing.ShellQuote(s)+" "+printing.ShellQuote(s)).Output()
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if string(out) != s+"|"+s+"|" {
			t.Errorf("sh read %q back as %q", s, out)
		}
	}
}

// psUnquote reads one PowerShell verbatim string at the start of s, as
// PowerShell's tokenizer does (every kind of single quote delimits it, and
// a doubled one is one quote), and returns it with the rest of s.
func psUnquote(t *testing.T, s string) (string, string) {
	t.Helper()
	isQ := func(r rune) bool {
		return r == '\'' || r == '\u2018' || r == '\u2019' || r == '\u201A' || r == '\u201B'
	}
	rs := []rune(s)
	if len(rs) == 0 || !isQ(rs[0]) {
		t.Fatalf("not a verbatim string: %q", s)
	}
	var b strings.Builder
	for i := 1; i < len(rs); i++ {
		if isQ(rs[i]) {
			if i+1 < len(rs) && isQ(rs[i+1]) {
				b.WriteRune(rs[i+1])
				i++
				continue
			}
			return b.String(), string(rs[i+1:])
		}
		b.WriteRune(rs[i])
	}
	t.Fatalf("unterminated: %q", s)
	return "", ""
}

func TestPowerShellQuoteRoundTrips(t *testing.T) {
	for _, s := range hostileNames {
		q := printing.PowerShellQuote(s)
		got, rest := psUnquote(t, q+" -Next")
		if got != s || rest != " -Next" {
			t.Errorf("%q quoted as %s reads back as %q, then %q", s, q, got, rest)
		}
	}
}

func TestCUPSName(t *testing.T) {
	for in, want := range map[string]string{
		"Lab Printer":            "Lab_Printer",
		"  --Front desk #2!  ":   "Front_desk_2",
		"ünï":                    "n",
		"打印机":                    "printer",
		"a__b":                   "a_b",
		strings.Repeat("x", 200): strings.Repeat("x", 127),
	} {
		if got := printing.CUPSName(in); got != want {
			t.Errorf("CUPSName(%q) = %q, want %q", in, got, want)
		}
	}
	names := printing.QueueNames([]printing.Queue{{Name: "Lab 1"}, {Name: "lab_1"}, {Name: "Lab-1"}, {Name: "LAB 1"}})
	if strings.Join(names, ",") != "Lab_1,lab_1_2,Lab-1,LAB_1_3" {
		t.Errorf("distinct queue names: %v", names)
	}
}

// TestPowerShellScript: every printer's name, location and description
// appear only inside verbatim strings, whatever they hold; ipp printers
// are added by their http URL, socket and LPD printers through a port.
func TestPowerShellScript(t *testing.T) {
	qs := []printing.Queue{
		{Name: `O'Brien's "Lab"; Remove-Item C:\ -Recurse`, URI: "ipp://printer.example.com/ipp/print", Location: "Room ‘1’",
			Description: "$(Stop-Computer)", Model: "everywhere", Duplex: true, PaperSize: "A4", Default: true},
		{Name: "Front", URI: "ipps://10.0.0.5:8443/ipp/print", Model: "everywhere", Color: true},
		{Name: "Raw", URI: "socket://10.0.0.7:9101", Model: "HP Universal Printing PCL 6", Location: "Hall"},
		{Name: "Legacy", URI: "lpd://print-server/queue1", Model: "everywhere"},
	}
	ps := printing.PowerShell(qs)
	for _, want := range []string{
		`Add-Printer -Name 'O''Brien''s "Lab"; Remove-Item C:- -Recurse' -IppURL 'http://printer.example.com:631/ipp/print'`,
		`Set-Printer -Name 'O''Brien''s "Lab"; Remove-Item C:- -Recurse' -Location 'Room ‘‘1’’' -Comment '$(Stop-Computer)'`,
		`Set-PrintConfiguration -PrinterName 'O''Brien''s "Lab"; Remove-Item C:- -Recurse' -DuplexingMode TwoSidedLongEdge -Color $false -PaperSize A4`,
		`Add-Printer -Name 'Front' -IppURL 'https://10.0.0.5:8443/ipp/print'`,
		`Set-PrintConfiguration -PrinterName 'Front' -DuplexingMode OneSided -Color $true`,
		`Add-PrinterDriver -Name 'HP Universal Printing PCL 6'`,
		`Add-PrinterPort -Name 'IP_10.0.0.7_9101' -PrinterHostAddress '10.0.0.7' -PortNumber 9101`,
		`Add-Printer -Name 'Raw' -PortName 'IP_10.0.0.7_9101' -DriverName 'HP Universal Printing PCL 6' -Location 'Hall'`,
		`Add-PrinterPort -Name 'LPR_print-server_queue1' -LprHostAddress 'print-server' -LprQueueName 'queue1'`,
		`Add-Printer -Name 'Legacy' -PortName 'LPR_print-server_queue1' -DriverName 'Microsoft IPP Class Driver'`,
		`Where-Object Name -eq 'O''Brien''s "Lab"; Remove-Item C:- -Recurse' | Invoke-CimMethod -MethodName SetDefaultPrinter`,
	} {
		if !strings.Contains(ps, want) {
			t.Errorf("the script lacks\n%s\nin\n%s", want, ps)
		}
	}
	// Outside the verbatim strings there is nothing but the script's own
	// words: remove every string and look for what the fields held.
	var bare strings.Builder
	for _, line := range strings.Split(ps, "\n") {
		for {
			i := strings.IndexAny(line, "'‘’‚‛")
			if i < 0 {
				bare.WriteString(line + "\n")
				break
			}
			bare.WriteString(line[:i])
			_, line = psUnquote(t, line[i:])
		}
	}
	for _, bad := range []string{"Remove-Item", "Stop-Computer", "Brien", "Room"} {
		if strings.Contains(bare.String(), bad) {
			t.Errorf("%q outside a quoted string:\n%s", bad, bare.String())
		}
	}
}
