package pairgate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
)

func TestParsePrinterURI(t *testing.T) {
	good := map[string]string{
		"ipp://printer.example.com/ipp/print":   "ipp://printer.example.com/ipp/print",
		"IPPS://10.1.2.3:8631/ipp/print":        "ipps://10.1.2.3:8631/ipp/print",
		"ipp://[2001:db8::7]:631/printers/lab":  "ipp://[2001:db8::7]:631/printers/lab",
		"socket://10.0.0.7":                     "socket://10.0.0.7",
		"socket://10.0.0.7:9100":                "socket://10.0.0.7:9100",
		"lpd://print-server/queue_1":            "lpd://print-server/queue_1",
		"ipp://127.0.0.1:8631/ipp/print?x=1":    "ipp://127.0.0.1:8631/ipp/print?x=1",
		"ipp://my_printer.local/ipp/print%20a":  "ipp://my_printer.local/ipp/print%20a",
		"socket://printer.example.com:9100/":    "socket://printer.example.com:9100/",
		"ipp://printer.example.com":             "ipp://printer.example.com",
		"lpd://printer.example.com:515/raw/":    "lpd://printer.example.com:515/raw/",
		"ipps://PRINTER.example.COM/ipp/print":  "ipps://PRINTER.example.COM/ipp/print",
		"ipp://printer.example.com:631/ipp/prt": "ipp://printer.example.com:631/ipp/prt",
	}
	for in, want := range good {
		u, err := pairgate.ParsePrinterURI(in)
		if err != nil {
			t.Errorf("%q refused: %v", in, err)
			continue
		}
		if u.String() != want {
			t.Errorf("%q became %q, want %q", in, u.String(), want)
		}
	}
	bad := map[string]string{
		"":                                    "required",
		"http://printer.example.com/":         "scheme 'http' is not supported",
		"file:///dev/usb/lp0":                 "scheme 'file'",
		"printer.example.com":                 "no scheme",
		"ipp:printer":                         "no host",
		"ipp:///ipp/print":                    "no host",
		"ipp://user:pw@printer/ipp/print":     "user name or password",
		"ipp://printer/ipp/print#x":           "fragment",
		"ipp://printer:0/ipp/print":           "port '0'",
		"ipp://printer:99999/ipp/print":       "port '99999'",
		"ipp://printer:/ipp/print":            "empty port",
		"ipp://print er/ipp/print":            "spaces",
		"ipp://printer/ipp/print\n":           "control",
		"ipp://printer/\"quoted\"":            "quotes",
		"ipp://printer;rm -rf/ipp":            "spaces",
		"ipp://printer;x/ipp":                 "host 'printer;x'",
		"socket://printer/queue":              "no path",
		"lpd://printer":                       "queue",
		"lpd://printer/a/b":                   "queue",
		"ipp://[zz::1]/ipp/print":             "not a URI",
		"ipp://printér/ipp":                   "spaces, quotes or control",
		"ipp://" + strings.Repeat("a", 1100):  "longer than",
		"ipp://-printer/ipp":                  "host '-printer'",
		"ipp://printer..example.com/ipp/prt":  "host",
		"ipp://printer.example.com:x/ipp/prt": "not a URI",
	}
	for in, want := range bad {
		_, err := pairgate.ParsePrinterURI(in)
		if pairgate.ErrorCode(err) != pairgate.EINVALID {
			t.Errorf("%q: %v, want EINVALID", in, err)
			continue
		}
		msg := pairgate.ErrorMessage(err)
		if !strings.HasPrefix(msg, "uri: ") || !strings.Contains(msg, want) || strings.Contains(msg, `"`) {
			t.Errorf("%q: message %q, want it to name the field and say %q, without double quotes", in, msg, want)
		}
	}
}

func TestNormalizePrinter(t *testing.T) {
	p := &pairgate.Printer{Name: "  Lab  ", URI: " IPP://printer/ipp/print ", Model: "ipp everywhere",
		Options: pairgate.PrinterOptions{PaperSize: "letter"}}
	if err := pairgate.NormalizePrinter(p); err != nil {
		t.Fatal(err)
	}
	if p.Name != "Lab" || p.URI != "ipp://printer/ipp/print" || p.Model != pairgate.ModelEverywhere || p.Options.PaperSize != "Letter" || !p.Driverless() {
		t.Fatalf("normalized: %+v", p)
	}
	for _, tc := range []struct {
		p     pairgate.Printer
		field string
	}{
		{pairgate.Printer{URI: "ipp://p/"}, "name"},
		{pairgate.Printer{Name: "a\tb", URI: "ipp://p/"}, "name"},
		{pairgate.Printer{Name: strings.Repeat("x", 129), URI: "ipp://p/"}, "name"},
		{pairgate.Printer{Name: "ok"}, "uri"},
		{pairgate.Printer{Name: "ok", URI: "ipp://p/", Location: "a\nb"}, "location"},
		{pairgate.Printer{Name: "ok", URI: "ipp://p/", Description: "\xff"}, "description"},
		{pairgate.Printer{Name: "ok", URI: "ipp://p/", Model: "x\x00"}, "model"},
		{pairgate.Printer{Name: "ok", URI: "ipp://p/", Options: pairgate.PrinterOptions{PaperSize: "B5"}}, "options.paper_size"},
	} {
		err := pairgate.NormalizePrinter(&tc.p)
		if pairgate.ErrorCode(err) != pairgate.EINVALID || !strings.HasPrefix(pairgate.ErrorMessage(err), tc.field+" ") && !strings.HasPrefix(pairgate.ErrorMessage(err), tc.field+":") {
			t.Errorf("%+v: %v, want EINVALID naming %s", tc.p, err, tc.field)
		}
	}
}

func TestNormalizeDeployment(t *testing.T) {
	d := &pairgate.Deployment{PrinterIDs: []string{"prn_b", "prn_a", "prn_b"}, DefaultPrinterID: "prn_b",
		Target: pairgate.DeploymentTarget{DeviceIDs: []string{"dev_2", "dev_1", "dev_2"}}}
	if err := pairgate.NormalizeDeployment(d); err != nil {
		t.Fatal(err)
	}
	if strings.Join(d.PrinterIDs, ",") != "prn_a,prn_b" || strings.Join(d.Target.DeviceIDs, ",") != "dev_1,dev_2" || d.Target.Kind() != pairgate.TargetDevices {
		t.Fatalf("normalized: %+v", d)
	}
	for _, tc := range []struct {
		d     pairgate.Deployment
		field string
	}{
		{pairgate.Deployment{Target: pairgate.DeploymentTarget{All: true}}, "printers"},
		{pairgate.Deployment{PrinterIDs: []string{"a b"}, Target: pairgate.DeploymentTarget{All: true}}, "printers"},
		{pairgate.Deployment{PrinterIDs: []string{"p"}, DefaultPrinterID: "q", Target: pairgate.DeploymentTarget{All: true}}, "default"},
		{pairgate.Deployment{PrinterIDs: []string{"p"}}, "target"},
		{pairgate.Deployment{PrinterIDs: []string{"p"}, Target: pairgate.DeploymentTarget{All: true, NamePattern: "x"}}, "target"},
		{pairgate.Deployment{PrinterIDs: []string{"p"}, Target: pairgate.DeploymentTarget{NamePattern: "lab-[a"}}, "target.name_pattern"},
		{pairgate.Deployment{PrinterIDs: []string{"p"}, Target: pairgate.DeploymentTarget{AuthCodeID: "ac x"}}, "target.authorization_code"},
		{pairgate.Deployment{PrinterIDs: []string{"p"}, Target: pairgate.DeploymentTarget{DeviceIDs: []string{"d;1"}}}, "target.devices"},
	} {
		err := pairgate.NormalizeDeployment(&tc.d)
		if pairgate.ErrorCode(err) != pairgate.EINVALID || !strings.HasPrefix(pairgate.ErrorMessage(err), tc.field+":") && !strings.HasPrefix(pairgate.ErrorMessage(err), tc.field+" ") {
			t.Errorf("%+v: %v, want EINVALID naming %s", tc.d, err, tc.field)
		}
	}
}

func TestResolveDevicePrinters(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	printers := map[string]*pairgate.Printer{}
	for _, n := range []string{"b", "A", "c"} {
		printers["p"+n] = &pairgate.Printer{ID: "p" + n, Name: n}
	}
	dev := &pairgate.Device{ID: "d1", Name: "Lab-7", AuthCodeID: "ac1"}
	deps := []*pairgate.Deployment{
		{ID: "x1", PrinterIDs: []string{"pb", "pA"}, DefaultPrinterID: "pb", Target: pairgate.DeploymentTarget{All: true}, CreatedAt: t0.Add(time.Hour)},
		{ID: "x2", PrinterIDs: []string{"pA"}, DefaultPrinterID: "pA", Target: pairgate.DeploymentTarget{AuthCodeID: "ac1"}, CreatedAt: t0},
		{ID: "x3", PrinterIDs: []string{"pc"}, DefaultPrinterID: "pc", Target: pairgate.DeploymentTarget{AuthCodeID: "ac2"}, CreatedAt: t0},
		{ID: "x4", PrinterIDs: []string{"pgone"}, DefaultPrinterID: "pgone", Target: pairgate.DeploymentTarget{DeviceIDs: []string{"d1"}}, CreatedAt: t0},
	}
	got := pairgate.ResolveDevicePrinters(dev, deps, printers)
	var s []string
	for _, p := range got {
		n := p.Name
		if p.Default {
			n += "*"
		}
		s = append(s, n)
	}
	// The code's default beats all's, even though all's is newer; a
	// printer that is gone is neither listed nor the default.
	if strings.Join(s, ",") != "A*,b" {
		t.Fatalf("resolved %v", s)
	}
}
