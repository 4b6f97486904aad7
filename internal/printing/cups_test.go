package printing_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pairgate/pairgate/internal/printing"
	"github.com/pairgate/pairgate/internal/testenv"
)

// TestLpadminScriptInstallsIntoRealCUPS applies the script `pairgate
// device printers --format lpadmin` prints to a real, private cupsd: the
// queues exist with the right URIs, descriptions, locations and default
// options, the default printer is the system default, a printer whose
// name is built to break out of the quoting runs nothing, and a page
// printed through CUPS arrives at the IPP Everywhere printer.
func TestLpadminScriptInstallsIntoRealCUPS(t *testing.T) {
	printer := testenv.StartIPPPrinter(t, "Lab Printer")
	cups := testenv.StartCUPS(t)
	pwned := filepath.Join(t.TempDir(), "pwned")
	hostile := `Lab's "Printer"; touch ` + pwned + ` $(touch ` + pwned + `) ` + "`touch " + pwned + "`"
	qs := []printing.Queue{
		{Name: hostile, URI: printer.URI, Location: "Room 1'; touch " + pwned + "; echo '", Description: "It's $(touch " + pwned + ")",
			Model: "everywhere", Duplex: true, PaperSize: "A4", Default: true},
		{Name: "Front Desk", URI: "socket://127.0.0.1:9", Location: "Hall", Model: "Generic PostScript Printer", Color: true, PaperSize: "Letter"},
		{Name: "Nobody's Driver", URI: "lpd://127.0.0.1/queue", Model: "No Such Maker Model 9000"},
	}
	script := printing.Lpadmin(qs)
	names := printing.QueueNames(qs)
	out := cups.Run(t, script, "sh", "-s")
	if !strings.Contains(out, "no driver installed for No Such Maker Model 9000") {
		t.Errorf("the printer without a driver was not reported:\n%s", out)
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Fatalf("a printer's name ran a command through the script:\n%s", script)
	}
	for _, n := range names {
		if !regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`).MatchString(n) {
			t.Errorf("queue name %q is not a safe CUPS name", n)
		}
	}

	// lpstat -v: every installed queue with its URI; the one without a
	// driver is not there.
	v := cups.Run(t, "", "lpstat", "-v")
	for i, q := range qs[:2] {
		if want := "device for " + names[i] + ": " + q.URI; !strings.Contains(v, want) {
			t.Errorf("lpstat -v lacks %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, names[2]) {
		t.Errorf("a queue was made without a driver:\n%s", v)
	}
	long := cups.Run(t, "", "lpstat", "-l", "-p", names[0])
	for _, want := range []string{"Description: " + qs[0].Description, "Location: " + qs[0].Location} {
		if !strings.Contains(long, want) {
			t.Errorf("lpstat -l -p lacks %q:\n%s", want, long)
		}
	}
	if d := cups.Run(t, "", "lpstat", "-d"); !strings.Contains(d, "system default destination: "+names[0]) {
		t.Errorf("default destination: %s", d)
	}
	// The default options: print-color-mode is kept as an IPP default;
	// sides and media become the defaults of the queue's PPD options
	// (marked * by lpoptions -l).
	for i, want := range [][]string{
		{"print-color-mode=monochrome", "*DuplexNoTumble", "*A4"},
		{"print-color-mode=color", "printer-make-and-model='Generic PostScript Printer'", "*Letter"},
	} {
		opts := cups.Run(t, "", "lpoptions", "-p", names[i]) + cups.Run(t, "", "lpoptions", "-p", names[i], "-l")
		for _, w := range want {
			if !strings.Contains(opts, w) {
				t.Errorf("options of %s lack %s:\n%s", names[i], w, opts)
			}
		}
	}
	if opts := cups.Run(t, "", "lpoptions", "-p", names[1], "-l"); regexp.MustCompile(`(?m)^Duplex/.*\*DuplexNoTumble`).MatchString(opts) {
		t.Errorf("the simplex printer %s defaults to duplex:\n%s", names[1], opts)
	}

	// A page through CUPS reaches the printer.
	doc := filepath.Join(t.TempDir(), "hello.txt")
	os.WriteFile(doc, []byte("Hello from pairgate\n"), 0o644)
	os.Chmod(filepath.Dir(doc), 0o755)
	cups.Run(t, "", "lp", "-d", names[0], "-t", "pairgate test page", doc)
	deadline := time.Now().Add(90 * time.Second)
	for len(printer.Jobs(t)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no job arrived at the printer\nlpstat: %s\ncupsd:\n%s\nprinter:\n%s", cups.Run(t, "", "lpstat", "-W", "all", "-o"),
				cups.ErrorLog(), printer.Output())
		}
		time.Sleep(250 * time.Millisecond)
	}
	jobs := printer.Jobs(t)
	t.Logf("the printer kept %v", jobs)
	st, err := os.Stat(filepath.Join(printer.SpoolDir, jobs[0]))
	if err != nil || st.Size() == 0 {
		t.Fatalf("job file %s: %v", jobs[0], err)
	}
}
