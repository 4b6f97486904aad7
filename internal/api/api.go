package api

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/adminapi"
	"github.com/pairgate/pairgate/internal/accesstoken"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/audit"
	"github.com/pairgate/pairgate/internal/authn"
	"github.com/pairgate/pairgate/internal/dpop"
	"github.com/pairgate/pairgate/internal/httpx"
	"github.com/pairgate/pairgate/internal/printing"
)

// Deps are what the JSON API works with. Every field is required.
type Deps struct {
	Admin     *admin.Service
	Devices   *authn.Devices // the device API's access tokens
	Printers  *printing.Service
	APIKeys   *authn.APIKeys   // admin tooling
	Sessions  *authn.Sessions  // the console's session, for its own calls
	Passwords *authn.Passwords // Basic authentication when making an API key
	Audit     *audit.Recorder
	IP        httpx.ClientIP
	Log       *slog.Logger
}

// Handlers serves the JSON API: the admin API and the device API.
type Handlers struct {
	admin     *admin.Service
	devices   *authn.Devices
	printers  *printing.Service
	apiKeys   *authn.APIKeys
	sessions  *authn.Sessions
	passwords *authn.Passwords
	audit     *audit.Recorder
	ip        httpx.ClientIP
	log       *slog.Logger
}

// New returns the API's handlers.
func New(d Deps) (*Handlers, error) {
	if d.Admin == nil || d.Devices == nil || d.Printers == nil || d.APIKeys == nil || d.Sessions == nil || d.Passwords == nil || d.Audit == nil || d.Log == nil {
		return nil, errors.New("api: every dependency is required")
	}
	return &Handlers{admin: d.Admin, devices: d.Devices, printers: d.Printers, apiKeys: d.APIKeys, sessions: d.Sessions, passwords: d.Passwords,
		audit: d.Audit, ip: d.IP, log: d.Log}, nil
}

// Handle adapts an API handler: its errors are written as API errors, and
// nothing it answers is cached (the API's answers name devices, codes and
// people).
func (h *Handlers) Handle(fn httpx.HandlerFunc) http.Handler {
	inner := httpx.Handle(fn, writeError, h.log)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.NoStore(w)
		inner.ServeHTTP(w, r)
	})
}

// dpopChallenge is the DPoP challenge of RFC 9449 §7.1, with the
// algorithms proofs may use.
var dpopChallenge = `DPoP realm="pairgate", algs="` + strings.Join(dpop.Algorithms, " ") + `"`

func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := httpx.StatusOf(err)
	switch pairgate.ErrorCode(err) {
	case pairgate.EDPOPPROOF:
		w.Header().Set("WWW-Authenticate", dpopChallenge+`, error="invalid_dpop_proof"`)
	case pairgate.EDPOPNONCE:
		w.Header().Set("WWW-Authenticate", dpopChallenge+`, error="use_dpop_nonce"`)
	default:
		if status == http.StatusUnauthorized {
			// Both schemes the device API takes (RFC 9110 §11.6.1).
			w.Header().Set("WWW-Authenticate", `Bearer realm="pairgate"`)
			w.Header().Add("WWW-Authenticate", dpopChallenge)
		}
	}
	if d := pairgate.RetryAfter(err); d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
	}
	var body adminapi.ErrorBody
	body.Error.Code = pairgate.ErrorCode(err)
	body.Error.Message = pairgate.ErrorMessage(err)
	httpx.NoStore(w)
	httpx.JSON(w, status, body)
}

// MethodNotAllowed answers an API path's other methods in API form.
func MethodNotAllowed(methods []string) http.Handler {
	allow := strings.Join(methods, ", ")
	if slices.Contains(methods, "GET") {
		allow += ", HEAD"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		var body adminapi.ErrorBody
		body.Error.Code = "method_not_allowed"
		body.Error.Message = "method " + pairgate.Printable(r.Method, 16) + " not allowed; use " + allow
		httpx.NoStore(w)
		httpx.JSON(w, http.StatusMethodNotAllowed, body)
	})
}

// WriteError lets the server answer in API form (404, 405) outside a handler.
func WriteError(w http.ResponseWriter, r *http.Request, err error) { writeError(w, r, err) }

// DeviceInfo is what GET /api/v1/device tells a device about itself.
type DeviceInfo struct {
	DeviceID     string    `json:"device_id"`
	Name         string    `json:"name"`
	ClientID     string    `json:"client_id"`
	Mode         string    `json:"mode"`
	HardwareID   string    `json:"hardware_id,omitempty"`
	DPoPJKT      string    `json:"dpop_jkt,omitempty"` // the key the device holds, when it holds one
	Subject      string    `json:"sub"`
	Scope        string    `json:"scope"`
	AuthMethod   string    `json:"authorized_by"`
	AuthorizedAt time.Time `json:"authorized_at"`
	ExpiresAt    time.Time `json:"token_expires_at"`
}

// device authenticates a device API request. Its answer, errors
// included, carries the DPoP nonce when nonces are on (RFC 9449 §9) and
// the server's time. Every device API handler authenticates through it.
func (h *Handlers) device(w http.ResponseWriter, r *http.Request) (*accesstoken.Claims, *pairgate.Device, error) {
	h.devices.SetHeaders(w.Header())
	return h.devices.Authenticate(r.Context(), r, h.ip.Of(r))
}

// Device is GET /api/v1/device: who am I.
func (h *Handlers) Device(w http.ResponseWriter, r *http.Request) error {
	c, d, err := h.device(w, r)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, DeviceInfo{
		DeviceID: d.ID, Name: d.Name, ClientID: d.ClientID, Mode: string(d.Mode), HardwareID: d.HardwareID, DPoPJKT: d.DPoPJKT,
		Subject: c.Subject, Scope: c.Scope, AuthMethod: d.AuthMethod, AuthorizedAt: d.AuthorizedAt,
		ExpiresAt: time.Unix(c.ExpiresAt, 0).UTC(),
	})
}
