package admin

import (
	"context"
	"fmt"
	"strings"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/printing"
	"github.com/pairgate/pairgate/internal/secret"
)

// Printers and deployments (docs/design.md section 3): what a device's token is
// for. Reading needs printers.read, every change printers.write, and
// every change leaves an audit event.

// PrinterChange is what an admin sends to create a printer, or, with
// only some fields set, to change one (UpdatePrinter).
type PrinterChange struct {
	Name        *string
	URI         *string
	Location    *string
	Description *string
	Model       *string
	Duplex      *bool
	Color       *bool
	PaperSize   *string
}

func (c PrinterChange) apply(p *pairgate.Printer) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&p.Name, c.Name)
	set(&p.URI, c.URI)
	set(&p.Location, c.Location)
	set(&p.Description, c.Description)
	set(&p.Model, c.Model)
	set(&p.Options.PaperSize, c.PaperSize)
	if c.Duplex != nil {
		p.Options.Duplex = *c.Duplex
	}
	if c.Color != nil {
		p.Options.Color = *c.Color
	}
}

func printerDetails(p *pairgate.Printer) map[string]string {
	return map[string]string{"name": p.Name, "uri": p.URI, "model": p.Model, "location": p.Location}
}

// CreatePrinter adds a printer. It is saved whether or not the printer
// can be reached: the IPP check is separate (CheckPrinter) and never
// blocks a save.
func (s *Service) CreatePrinter(ctx context.Context, a Actor, c PrinterChange) (*pairgate.Printer, error) {
	if err := a.need(pairgate.PermPrintersWrite); err != nil {
		return nil, err
	}
	now := s.now()
	p := &pairgate.Printer{ID: secret.NewID("prn_", now), CreatedAt: now, UpdatedAt: now}
	c.apply(p)
	if err := pairgate.NormalizePrinter(p); err != nil {
		return nil, err
	}
	if err := s.store.CreatePrinter(ctx, p); err != nil {
		return nil, err
	}
	s.record(ctx, a, pairgate.AuditPrinterCreated, p.ID, printerDetails(p))
	return p, nil
}

// ListPrinters returns the printers whose name, location, description or
// URI contains search, by name.
func (s *Service) ListPrinters(ctx context.Context, a Actor, search string) ([]*pairgate.Printer, error) {
	if err := a.need(pairgate.PermPrintersRead); err != nil {
		return nil, err
	}
	if len(search) > 200 {
		return nil, pairgate.Errorf(pairgate.EINVALID, "search text longer than 200 characters")
	}
	return s.store.ListPrinters(ctx, pairgate.PrinterFilter{Search: strings.TrimSpace(search)})
}

// GetPrinter returns one printer.
func (s *Service) GetPrinter(ctx context.Context, a Actor, id string) (*pairgate.Printer, error) {
	if err := a.need(pairgate.PermPrintersRead); err != nil {
		return nil, err
	}
	return s.store.GetPrinter(ctx, id)
}

// UpdatePrinter changes the fields of a printer that c sets. The devices
// it is deployed to see the change at their next poll.
func (s *Service) UpdatePrinter(ctx context.Context, a Actor, id string, c PrinterChange) (*pairgate.Printer, error) {
	if err := a.need(pairgate.PermPrintersWrite); err != nil {
		return nil, err
	}
	p, err := s.store.GetPrinter(ctx, id)
	if err != nil {
		return nil, err
	}
	before := *p
	c.apply(p)
	if err := pairgate.NormalizePrinter(p); err != nil {
		return nil, err
	}
	p.UpdatedAt = s.now()
	if err := s.store.UpdatePrinter(ctx, p); err != nil {
		return nil, err
	}
	if p.URI != before.URI {
		s.prober.Forget(p.ID)
	}
	d := printerDetails(p)
	var changed []string
	for _, f := range []struct {
		name     string
		old, new any
	}{{"name", before.Name, p.Name}, {"uri", before.URI, p.URI}, {"location", before.Location, p.Location},
		{"description", before.Description, p.Description}, {"model", before.Model, p.Model},
		{"duplex", before.Options.Duplex, p.Options.Duplex}, {"color", before.Options.Color, p.Options.Color},
		{"paper_size", before.Options.PaperSize, p.Options.PaperSize}} {
		if f.old != f.new {
			changed = append(changed, f.name)
		}
	}
	d["changed"] = strings.Join(changed, " ")
	s.record(ctx, a, pairgate.AuditPrinterUpdated, p.ID, d)
	return p, nil
}

// DeletePrinter deletes a printer; it leaves every deployment at once,
// and a deployment it was the last printer of is deleted with it (each
// recorded as deployment.deleted).
func (s *Service) DeletePrinter(ctx context.Context, a Actor, id string) error {
	if err := a.need(pairgate.PermPrintersWrite); err != nil {
		return err
	}
	p, err := s.store.GetPrinter(ctx, id)
	if err != nil {
		return err
	}
	gone, err := s.store.DeletePrinter(ctx, id)
	if err != nil {
		return err
	}
	s.prober.Forget(id)
	d := printerDetails(p)
	d["deployments_deleted"] = strings.Join(gone, " ")
	s.record(ctx, a, pairgate.AuditPrinterDeleted, id, d)
	for _, dep := range gone {
		s.record(ctx, a, pairgate.AuditDeploymentDeleted, dep, map[string]string{"reason": "its last printer " + id + " was deleted"})
	}
	return nil
}

// CheckPrinter asks a printer over IPP what it is and how it is, and
// remembers the answer for the console. Only who may change printers may
// make pairgate connect somewhere, only to a printer's own ipp:// or
// ipps:// URI, with a short timeout: the check is no tool for reaching
// arbitrary addresses from the server.
func (s *Service) CheckPrinter(ctx context.Context, a Actor, id string) (printing.Status, error) {
	if err := a.need(pairgate.PermPrintersWrite); err != nil {
		return printing.Status{}, err
	}
	p, err := s.store.GetPrinter(ctx, id)
	if err != nil {
		return printing.Status{}, err
	}
	if !printing.Probable(p.URI) {
		return printing.Status{}, pairgate.Errorf(pairgate.EINVALID, "only ipp:// and ipps:// printers answer a status; this one is %s", strings.SplitN(p.URI, ":", 2)[0])
	}
	return s.prober.Check(ctx, p.ID, p.URI), nil
}

// PrinterStatus returns the last check of a printer remembered on this
// server, if its URI has not changed since.
func (s *Service) PrinterStatus(a Actor, p *pairgate.Printer) (printing.Status, bool) {
	if !a.Perms.Has(pairgate.PermPrintersRead) {
		return printing.Status{}, false
	}
	return s.prober.Last(p.ID, p.URI)
}

// NewDeployment is what an admin asks for when deploying printers.
type NewDeployment struct {
	PrinterIDs       []string
	DefaultPrinterID string
	Target           pairgate.DeploymentTarget
}

// CreateDeployment gives printers to the devices the target selects, from
// their next poll on.
func (s *Service) CreateDeployment(ctx context.Context, a Actor, nd NewDeployment) (*pairgate.Deployment, error) {
	if err := a.need(pairgate.PermPrintersWrite); err != nil {
		return nil, err
	}
	now := s.now()
	d := &pairgate.Deployment{ID: secret.NewID("dep_", now), PrinterIDs: nd.PrinterIDs, DefaultPrinterID: nd.DefaultPrinterID,
		Target: nd.Target, CreatedBy: a.ID, CreatedAt: now}
	if err := pairgate.NormalizeDeployment(d); err != nil {
		return nil, err
	}
	if err := s.store.CreateDeployment(ctx, d, now); err != nil {
		return nil, err
	}
	s.record(ctx, a, pairgate.AuditDeploymentCreated, d.ID, deploymentDetails(d))
	return d, nil
}

func deploymentDetails(d *pairgate.Deployment) map[string]string {
	m := map[string]string{"printers": strings.Join(d.PrinterIDs, " "), "default": d.DefaultPrinterID, "target": d.Target.Kind()}
	switch d.Target.Kind() {
	case pairgate.TargetAuthCode:
		m["authorization_code"] = d.Target.AuthCodeID
	case pairgate.TargetNamePattern:
		m["name_pattern"] = d.Target.NamePattern
	case pairgate.TargetDevices:
		m["devices"] = fmt.Sprint(len(d.Target.DeviceIDs))
	}
	return m
}

// ListDeployments returns every deployment, newest first.
func (s *Service) ListDeployments(ctx context.Context, a Actor) ([]*pairgate.Deployment, error) {
	if err := a.need(pairgate.PermPrintersRead); err != nil {
		return nil, err
	}
	return s.store.ListDeployments(ctx)
}

// DeleteDeployment deletes a deployment: its devices lose the printers it
// gave them, unless another deployment gives them too.
func (s *Service) DeleteDeployment(ctx context.Context, a Actor, id string) error {
	if err := a.need(pairgate.PermPrintersWrite); err != nil {
		return err
	}
	if err := s.store.DeleteDeployment(ctx, id); err != nil {
		return err
	}
	s.record(ctx, a, pairgate.AuditDeploymentDeleted, id, nil)
	return nil
}
