package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
)

func mkPrinter(t *testing.T, s pairgate.Store, name string) *pairgate.Printer {
	t.Helper()
	p := &pairgate.Printer{ID: id("prn_"), Name: name, URI: "ipp://printer.example/ipp/print", Location: "Floor 1",
		Description: "Test printer " + name, Model: pairgate.ModelEverywhere,
		Options: pairgate.PrinterOptions{Duplex: true, PaperSize: "A4"}, CreatedAt: t0, UpdatedAt: t0}
	must(t, s.CreatePrinter(ctx(t), p))
	return p
}

func mkDeployment(t *testing.T, s pairgate.Store, target pairgate.DeploymentTarget, def string, printers ...*pairgate.Printer) *pairgate.Deployment {
	t.Helper()
	d := &pairgate.Deployment{ID: id("dep_"), Target: target, DefaultPrinterID: def, CreatedBy: "usr_admin", CreatedAt: t0}
	for _, p := range printers {
		d.PrinterIDs = append(d.PrinterIDs, p.ID)
	}
	must(t, pairgate.NormalizeDeployment(d))
	must(t, s.CreateDeployment(ctx(t), d, t0))
	return d
}

// namedDevice authorizes a device named name, with the code codeID if
// it is not "".
func namedDevice(t *testing.T, s pairgate.Store, c *pairgate.Client, name, codeID string) *pairgate.Device {
	t.Helper()
	dev, _, _, err := redeemCode(t, s, c, codeID, "", name, t0)
	must(t, err)
	return dev
}

// printerNames is what a device gets, as "name" or "name*" for the
// default.
func printerNames(t *testing.T, s pairgate.Store, d *pairgate.Device) string {
	t.Helper()
	ps, err := s.PrintersForDevice(ctx(t), d)
	must(t, err)
	var out []string
	for _, p := range ps {
		n := p.Name
		if p.Default {
			n += "*"
		}
		out = append(out, n)
	}
	return strings.Join(out, ",")
}

func testPrinters(t *testing.T, s pairgate.Store) {
	p := mkPrinter(t, s, "Lab Printer")
	got, err := s.GetPrinter(ctx(t), p.ID)
	must(t, err)
	if *got != *p {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, p)
	}
	_, err = s.GetPrinter(ctx(t), "prn_none")
	wantCode(t, err, pairgate.ENOTFOUND)

	// Names are unique whatever their case; IDs too.
	dup := *p
	dup.ID = id("prn_")
	dup.Name = "LAB printer"
	wantCode(t, s.CreatePrinter(ctx(t), &dup), pairgate.ECONFLICT)
	dup = *p
	dup.Name = "Another"
	wantCode(t, s.CreatePrinter(ctx(t), &dup), pairgate.ECONFLICT)

	q := mkPrinter(t, s, "annex 100%")
	q.Location, q.URI, q.Description = "Building B", "socket://10.0.0.7:9100", "the big one"
	q.UpdatedAt = t0.Add(time.Hour)
	q.Options = pairgate.PrinterOptions{Color: true}
	q.Model = "HP LaserJet 4250"
	must(t, s.UpdatePrinter(ctx(t), q))
	got, err = s.GetPrinter(ctx(t), q.ID)
	must(t, err)
	if *got != *q || !got.CreatedAt.Equal(t0) {
		t.Fatalf("after update:\n got %+v\nwant %+v", got, q)
	}
	q.Name = "lab PRINTER"
	wantCode(t, s.UpdatePrinter(ctx(t), q), pairgate.ECONFLICT)
	q.Name = "Annex"
	must(t, s.UpdatePrinter(ctx(t), q)) // a new name of its own is fine
	none := *q
	none.ID = "prn_none"
	none.Name = "Nobody"
	wantCode(t, s.UpdatePrinter(ctx(t), &none), pairgate.ENOTFOUND)
	mkPrinter(t, s, "basement")

	search := func(q string) string {
		t.Helper()
		l, err := s.ListPrinters(ctx(t), pairgate.PrinterFilter{Search: q})
		must(t, err)
		var names []string
		for _, p := range l {
			names = append(names, p.Name)
		}
		return strings.Join(names, ",")
	}
	for q, want := range map[string]string{
		"":             "Annex,basement,Lab Printer", // by name, whatever the case
		"LAB":          "Lab Printer",
		"building b":   "Annex",
		"BIG ONE":      "Annex",
		"10.0.0.7":     "Annex",
		"ipp://":       "basement,Lab Printer",
		"100%":         "", // the old name; % is a character, not a wildcard
		"_":            "",
		"floor 1":      "basement,Lab Printer",
		"nothing here": "",
	} {
		if got := search(q); got != want {
			t.Errorf("search %q: %q, want %q", q, got, want)
		}
	}
	_, err = s.DeletePrinter(ctx(t), "prn_none")
	wantCode(t, err, pairgate.ENOTFOUND)
	deleted, err := s.DeletePrinter(ctx(t), q.ID)
	must(t, err)
	if len(deleted) != 0 {
		t.Fatalf("deleting an undeployed printer deleted deployments %v", deleted)
	}
	_, err = s.GetPrinter(ctx(t), q.ID)
	wantCode(t, err, pairgate.ENOTFOUND)
}

func testDeployments(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	a, b := mkPrinter(t, s, "A"), mkPrinter(t, s, "B")
	code := mkCode(t, s, pairgate.TTL24Hours, t0)
	dev := namedDevice(t, s, c, "kiosk-1", "")

	// Everything a deployment names must exist, and nothing is written
	// when something does not.
	bad := []struct {
		d     pairgate.Deployment
		field string
	}{
		{pairgate.Deployment{PrinterIDs: []string{a.ID, "prn_none"}, Target: pairgate.DeploymentTarget{All: true}}, "printers"},
		{pairgate.Deployment{PrinterIDs: []string{a.ID}, Target: pairgate.DeploymentTarget{DeviceIDs: []string{dev.ID, "dev_none"}}}, "target.devices"},
		{pairgate.Deployment{PrinterIDs: []string{a.ID}, Target: pairgate.DeploymentTarget{AuthCodeID: "ac_none"}}, "target.authorization_code"},
	}
	for _, tc := range bad {
		d := tc.d
		d.ID, d.CreatedAt = id("dep_"), t0
		must(t, pairgate.NormalizeDeployment(&d))
		err := s.CreateDeployment(ctx(t), &d, t0)
		wantCode(t, err, pairgate.EINVALID)
		if !strings.HasPrefix(pairgate.ErrorMessage(err), tc.field+":") {
			t.Errorf("error %q does not name %s", pairgate.ErrorMessage(err), tc.field)
		}
	}
	// A code that has expired takes no new deployments.
	old := mkCode(t, s, pairgate.TTL30Minutes, t0.Add(-time.Hour))
	d := &pairgate.Deployment{ID: id("dep_"), PrinterIDs: []string{a.ID}, Target: pairgate.DeploymentTarget{AuthCodeID: old.ID}, CreatedAt: t0}
	wantCode(t, s.CreateDeployment(ctx(t), d, t0), pairgate.EINVALID)
	if l, err := s.ListDeployments(ctx(t)); err != nil || len(l) != 0 {
		t.Fatalf("refused deployments were written: %d, %v", len(l), err)
	}

	d1 := mkDeployment(t, s, pairgate.DeploymentTarget{All: true}, a.ID, a, b)
	d2 := &pairgate.Deployment{ID: id("dep_"), PrinterIDs: []string{b.ID}, Target: pairgate.DeploymentTarget{AuthCodeID: code.ID},
		CreatedBy: "key_1", CreatedAt: t0.Add(time.Minute)}
	must(t, s.CreateDeployment(ctx(t), d2, t0))
	d3 := &pairgate.Deployment{ID: id("dep_"), PrinterIDs: []string{a.ID}, Target: pairgate.DeploymentTarget{DeviceIDs: []string{dev.ID}},
		CreatedAt: t0.Add(2 * time.Minute)}
	must(t, s.CreateDeployment(ctx(t), d3, t0))
	d4 := &pairgate.Deployment{ID: id("dep_"), PrinterIDs: []string{b.ID}, Target: pairgate.DeploymentTarget{NamePattern: "kiosk-*"},
		CreatedAt: t0.Add(3 * time.Minute)}
	must(t, s.CreateDeployment(ctx(t), d4, t0))
	wantCode(t, s.CreateDeployment(ctx(t), d4, t0), pairgate.ECONFLICT)

	list, err := s.ListDeployments(ctx(t))
	must(t, err)
	if len(list) != 4 || list[0].ID != d4.ID || list[1].ID != d3.ID || list[2].ID != d2.ID || list[3].ID != d1.ID {
		t.Fatalf("list: %d deployments, not newest first", len(list))
	}
	for i, want := range []*pairgate.Deployment{d4, d3, d2, d1} {
		if fmt.Sprintf("%+v", *list[i]) != fmt.Sprintf("%+v", *want) {
			t.Errorf("deployment %d:\n got %+v\nwant %+v", i, *list[i], *want)
		}
	}

	wantCode(t, s.DeleteDeployment(ctx(t), "dep_none"), pairgate.ENOTFOUND)
	must(t, s.DeleteDeployment(ctx(t), d3.ID))
	wantCode(t, s.DeleteDeployment(ctx(t), d3.ID), pairgate.ENOTFOUND)
	if list, _ = s.ListDeployments(ctx(t)); len(list) != 3 {
		t.Fatalf("%d deployments after a delete, want 3", len(list))
	}
}

// testDeploymentTargets: a device gets the union of what applies to it,
// by code, name pattern, device and all; never another code's printers.
func testDeploymentTargets(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	codeA, codeB := mkCode(t, s, pairgate.TTLNever, t0), mkCode(t, s, pairgate.TTLNever, t0)
	pa1, pa2, pa3 := mkPrinter(t, s, "a1"), mkPrinter(t, s, "a2"), mkPrinter(t, s, "a3")
	pb := mkPrinter(t, s, "b")
	lab, hall, mine, every := mkPrinter(t, s, "lab"), mkPrinter(t, s, "hall"), mkPrinter(t, s, "mine"), mkPrinter(t, s, "every")

	devA := namedDevice(t, s, c, "Lab-PC-01", codeA.ID)
	devA2 := namedDevice(t, s, c, "front desk", codeA.ID)
	devB := namedDevice(t, s, c, "lab-pc-02", codeB.ID)
	devNone := namedDevice(t, s, c, "kiosk", "")
	for _, d := range []*pairgate.Device{devA, devA2, devB, devNone} {
		if got := printerNames(t, s, d); got != "" {
			t.Fatalf("%s gets %q before any deployment", d.Name, got)
		}
	}

	mkDeployment(t, s, pairgate.DeploymentTarget{AuthCodeID: codeA.ID}, pa2.ID, pa1, pa2, pa3)
	mkDeployment(t, s, pairgate.DeploymentTarget{AuthCodeID: codeB.ID}, "", pb)
	for d, want := range map[*pairgate.Device]string{devA: "a1,a2*,a3", devA2: "a1,a2*,a3", devB: "b", devNone: ""} {
		if got := printerNames(t, s, d); got != want {
			t.Errorf("by code, %s gets %q, want %q", d.Name, got, want)
		}
	}
	// A name pattern, case-insensitive, with a default of its own that
	// beats the code's.
	mkDeployment(t, s, pairgate.DeploymentTarget{NamePattern: "lab-pc-*"}, lab.ID, lab, pa1)
	mkDeployment(t, s, pairgate.DeploymentTarget{NamePattern: "[f]ront*"}, "", hall)
	for d, want := range map[*pairgate.Device]string{devA: "a1,a2,a3,lab*", devA2: "a1,a2*,a3,hall", devB: "a1,b,lab*", devNone: ""} {
		if got := printerNames(t, s, d); got != want {
			t.Errorf("with patterns, %s gets %q, want %q", d.Name, got, want)
		}
	}
	// One device singled out: its default wins over the pattern's.
	mkDeployment(t, s, pairgate.DeploymentTarget{DeviceIDs: []string{devNone.ID, devB.ID}}, mine.ID, mine)
	mkDeployment(t, s, pairgate.DeploymentTarget{All: true}, every.ID, every)
	for d, want := range map[*pairgate.Device]string{devA: "a1,a2,a3,every,lab*", devA2: "a1,a2*,a3,every,hall",
		devB: "a1,b,every,lab,mine*", devNone: "every,mine*"} {
		if got := printerNames(t, s, d); got != want {
			t.Errorf("with all targets, %s gets %q, want %q", d.Name, got, want)
		}
	}
	// A renamed device (authorized again under another name) follows its
	// new name.
	ren := *devB
	ren.Name = "reception"
	if got := printerNames(t, s, &ren); got != "b,every,mine*" {
		t.Errorf("renamed device gets %q", got)
	}
	// A deleted device leaves the deployments that named it.
	must(t, s.DeleteDevice(ctx(t), devNone.ID, t0))
	if got := printerNames(t, s, devNone); got != "every*" {
		t.Errorf("deleted device's last row gets %q, want only what all devices get", got)
	}
	for _, d := range must2(s.ListDeployments(ctx(t))) {
		if slices.Contains(d.Target.DeviceIDs, devNone.ID) {
			t.Errorf("deployment %s still names the deleted device", d.ID)
		}
	}
	// The code's deployment outlives the code: the devices installed
	// with it keep their printers.
	must(t, s.DeleteAuthorizationCode(ctx(t), codeA.ID))
	if got := printerNames(t, s, devA2); got != "a1,a2*,a3,every,hall" {
		t.Errorf("after its code was deleted, %s gets %q", devA2.Name, got)
	}
}

func must2[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// testDeletePrinterLeavesDeployments: deleting a printer removes it from
// every deployment in the same transaction, clears it as their default,
// and deletes the deployments it was the last printer of.
func testDeletePrinterLeavesDeployments(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	dev := namedDevice(t, s, c, "pc", "")
	a, b := mkPrinter(t, s, "a"), mkPrinter(t, s, "b")
	both := mkDeployment(t, s, pairgate.DeploymentTarget{All: true}, a.ID, a, b)
	onlyA := mkDeployment(t, s, pairgate.DeploymentTarget{DeviceIDs: []string{dev.ID}}, a.ID, a)
	if got := printerNames(t, s, dev); got != "a*,b" {
		t.Fatalf("before: %q", got)
	}
	deleted, err := s.DeletePrinter(ctx(t), a.ID)
	must(t, err)
	if len(deleted) != 1 || deleted[0] != onlyA.ID {
		t.Fatalf("deleted deployments %v, want [%s]", deleted, onlyA.ID)
	}
	list, err := s.ListDeployments(ctx(t))
	must(t, err)
	if len(list) != 1 || list[0].ID != both.ID || fmt.Sprint(list[0].PrinterIDs) != fmt.Sprint([]string{b.ID}) || list[0].DefaultPrinterID != "" {
		t.Fatalf("after deleting the printer: %+v", list)
	}
	if got := printerNames(t, s, dev); got != "b" {
		t.Fatalf("after: %q", got)
	}
}

// testDeletePrinterRacesDeployment: a deployment created while its only
// printer is deleted either fails or is deleted with the printer; no
// deployment is ever left without printers.
func testDeletePrinterRacesDeployment(t *testing.T, s pairgate.Store) {
	for i := range 20 {
		p := mkPrinter(t, s, fmt.Sprintf("racer %d", i))
		var wg sync.WaitGroup
		var created error
		wg.Add(2)
		go func() {
			defer wg.Done()
			d := &pairgate.Deployment{ID: id("dep_"), PrinterIDs: []string{p.ID}, Target: pairgate.DeploymentTarget{All: true}, CreatedAt: t0}
			created = s.CreateDeployment(ctx(t), d, t0)
		}()
		go func() {
			defer wg.Done()
			if _, err := s.DeletePrinter(ctx(t), p.ID); err != nil {
				t.Error(err)
			}
		}()
		waitOrDump(t, &wg)
		if created != nil && pairgate.ErrorCode(created) != pairgate.EINVALID {
			t.Fatalf("create racing a delete: %v", created)
		}
	}
	list, err := s.ListDeployments(ctx(t))
	must(t, err)
	for _, d := range list {
		t.Errorf("deployment %s left with printers %v", d.ID, d.PrinterIDs)
	}
}
