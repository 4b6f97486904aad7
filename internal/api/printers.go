package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/adminapi"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/httpx"
	"github.com/pairgate/pairgate/internal/printing"
)

// --- Printers (admin API) ---

func printerOptionsOut(o pairgate.PrinterOptions) adminapi.PrinterOptions {
	return adminapi.PrinterOptions{Duplex: o.Duplex, Color: o.Color, PaperSize: o.PaperSize}
}

func statusOut(st printing.Status) *adminapi.PrinterStatus {
	return &adminapi.PrinterStatus{Reachable: st.Reachable, Summary: st.Summary(), MakeAndModel: st.MakeAndModel, State: st.State,
		Reasons: st.Reasons, Error: st.Error, CheckedAt: st.CheckedAt.UTC()}
}

func (h *Handlers) printerOut(a admin.Actor, p *pairgate.Printer) adminapi.Printer {
	out := adminapi.Printer{ID: p.ID, Name: p.Name, URI: p.URI, Location: p.Location, Description: p.Description, Model: p.Model,
		Driverless: p.Driverless(), Options: printerOptionsOut(p.Options), CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC()}
	if st, ok := h.admin.PrinterStatus(a, p); ok {
		out.Status = statusOut(st)
	}
	return out
}

// CreatePrinter is POST /api/v1/printers {"name", "uri", "location",
// "description", "model", "options"}. A malformed or unsupported URI is a
// 400 that names the field.
func (h *Handlers) CreatePrinter(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	var in adminapi.NewPrinter
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	p, err := h.admin.CreatePrinter(r.Context(), a, admin.PrinterChange{Name: &in.Name, URI: &in.URI, Location: &in.Location,
		Description: &in.Description, Model: &in.Model, Duplex: &in.Options.Duplex, Color: &in.Options.Color, PaperSize: &in.Options.PaperSize})
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusCreated, h.printerOut(a, p))
}

// ListPrinters is GET /api/v1/printers?q=: name, location, description or
// URI contains q.
func (h *Handlers) ListPrinters(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	q, err := httpx.Query(r)
	if err != nil {
		return err
	}
	ps, err := h.admin.ListPrinters(r.Context(), a, q.Get("q"))
	if err != nil {
		return err
	}
	out := adminapi.PrinterList{Printers: make([]adminapi.Printer, 0, len(ps))}
	for _, p := range ps {
		out.Printers = append(out.Printers, h.printerOut(a, p))
	}
	return httpx.JSON(w, http.StatusOK, out)
}

// GetPrinter is GET /api/v1/printers/{id}.
func (h *Handlers) GetPrinter(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	id, err := httpx.PathValue(r, "id")
	if err != nil {
		return err
	}
	p, err := h.admin.GetPrinter(r.Context(), a, id)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, h.printerOut(a, p))
}

// UpdatePrinter is PATCH /api/v1/printers/{id}: the fields the body holds
// change.
func (h *Handlers) UpdatePrinter(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	id, err := httpx.PathValue(r, "id")
	if err != nil {
		return err
	}
	var in adminapi.PrinterPatch
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	c := admin.PrinterChange{Name: in.Name, URI: in.URI, Location: in.Location, Description: in.Description, Model: in.Model}
	if o := in.Options; o != nil {
		c.Duplex, c.Color, c.PaperSize = o.Duplex, o.Color, o.PaperSize
	}
	p, err := h.admin.UpdatePrinter(r.Context(), a, id, c)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, h.printerOut(a, p))
}

// DeletePrinter is DELETE /api/v1/printers/{id}: it leaves every
// deployment.
func (h *Handlers) DeletePrinter(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	id, err := httpx.PathValue(r, "id")
	if err != nil {
		return err
	}
	if err := h.admin.DeletePrinter(r.Context(), a, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// CheckPrinter is POST /api/v1/printers/{id}/check: the printer is asked
// over IPP what it is and how it is.
func (h *Handlers) CheckPrinter(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	id, err := httpx.PathValue(r, "id")
	if err != nil {
		return err
	}
	st, err := h.admin.CheckPrinter(r.Context(), a, id)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, statusOut(st))
}

// --- Deployments (admin API) ---

func deploymentOut(d *pairgate.Deployment) adminapi.Deployment {
	return adminapi.Deployment{ID: d.ID, Printers: orEmpty(d.PrinterIDs), Default: d.DefaultPrinterID, CreatedBy: d.CreatedBy,
		CreatedAt: d.CreatedAt.UTC(), Target: adminapi.DeploymentTarget{All: d.Target.All, AuthorizationCode: d.Target.AuthCodeID,
			NamePattern: d.Target.NamePattern, Devices: d.Target.DeviceIDs}}
}

// CreateDeployment is POST /api/v1/deployments {"printers", "default",
// "target": {"all": true} | {"authorization_code": id} |
// {"name_pattern": glob} | {"devices": [ids]}}.
func (h *Handlers) CreateDeployment(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	var in adminapi.NewDeployment
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	d, err := h.admin.CreateDeployment(r.Context(), a, admin.NewDeployment{PrinterIDs: in.Printers, DefaultPrinterID: in.Default,
		Target: pairgate.DeploymentTarget{All: in.Target.All, AuthCodeID: in.Target.AuthorizationCode, NamePattern: in.Target.NamePattern,
			DeviceIDs: in.Target.Devices}})
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusCreated, deploymentOut(d))
}

// ListDeployments is GET /api/v1/deployments, newest first.
func (h *Handlers) ListDeployments(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	ds, err := h.admin.ListDeployments(r.Context(), a)
	if err != nil {
		return err
	}
	out := adminapi.DeploymentList{Deployments: make([]adminapi.Deployment, 0, len(ds))}
	for _, d := range ds {
		out.Deployments = append(out.Deployments, deploymentOut(d))
	}
	return httpx.JSON(w, http.StatusOK, out)
}

// DeleteDeployment is DELETE /api/v1/deployments/{id}.
func (h *Handlers) DeleteDeployment(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	id, err := httpx.PathValue(r, "id")
	if err != nil {
		return err
	}
	if err := h.admin.DeleteDeployment(r.Context(), a, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- Device API ---

// DevicePrinter is one printer as GET /api/v1/device/printers gives it.
type DevicePrinter struct {
	ID          string                  `json:"id"`
	Name        string                  `json:"name"`
	URI         string                  `json:"uri"`
	Location    string                  `json:"location"`
	Description string                  `json:"description"`
	Model       string                  `json:"model"`
	Driverless  bool                    `json:"driverless"`
	Options     adminapi.PrinterOptions `json:"options"`
	Default     bool                    `json:"default"`
}

// DevicePrinters is the answer of GET /api/v1/device/printers. It holds
// nothing that changes without a change to what the device gets (no
// times): its ETag is a hash of it.
type DevicePrinters struct {
	DeviceID string          `json:"device_id"`
	Printers []DevicePrinter `json:"printers"`
}

// DevicePrintersBody is the JSON a device gets for its printers.
func DevicePrintersBody(deviceID string, ps []pairgate.DevicePrinter) ([]byte, error) {
	out := DevicePrinters{DeviceID: deviceID, Printers: make([]DevicePrinter, 0, len(ps))}
	for _, p := range ps {
		out.Printers = append(out.Printers, DevicePrinter{ID: p.ID, Name: p.Name, URI: p.URI, Location: p.Location,
			Description: p.Description, Model: p.Model, Driverless: p.Driverless(), Options: printerOptionsOut(p.Options), Default: p.Default})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, pairgate.Internal(err, "encode device printers")
	}
	return buf.Bytes(), nil
}

// DevicePrinters is GET /api/v1/device/printers: the printers deployed to
// the calling device (its access token, scope printing), with a strong
// ETag computed from exactly what it gets. A fleet polls it: with
// If-None-Match the answer is 304 until something that changes this
// device's printers happens, and a change elsewhere does not disturb it.
// A deleted or revoked device is refused (401) at once: authn.Devices
// asks the store on every request, and checks the DPoP proof of a device
// that holds a key.
func (h *Handlers) DevicePrinters(w http.ResponseWriter, r *http.Request) error {
	c, d, err := h.device(w, r)
	if err != nil {
		return err
	}
	ps, err := h.printers.ForDevice(r.Context(), d, pairgate.ParseScopes(c.Scope))
	if pairgate.ErrorCode(err) == pairgate.EFORBIDDEN {
		// RFC 6750 §3.1: the token is good, its scope is not enough.
		w.Header().Set("WWW-Authenticate", `Bearer realm="pairgate", error="insufficient_scope", scope="printing"`)
	}
	if err != nil {
		return err
	}
	body, err := DevicePrintersBody(d.ID, ps)
	if err != nil {
		return err
	}
	etag := httpx.StrongETag(body)
	hd := w.Header()
	// A cache (the device's own) may keep the answer, but must ask again
	// every time: revocation and new deployments take effect at once.
	hd.Set("Cache-Control", "private, no-cache")
	hd.Del("Pragma")
	hd.Set("Vary", "Authorization, DPoP")
	hd.Set("ETag", etag)
	if httpx.NoneMatch(r, etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	hd.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = w.Write(body)
	return err
}
