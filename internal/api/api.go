package api

import (
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/audit"
	"github.com/pairgate/pairgate/internal/authn"
	"github.com/pairgate/pairgate/internal/httpx"
	"github.com/pairgate/pairgate/internal/ratelimit"
)

// Handlers serves the JSON API.
type Handlers struct {
	Store   pairgate.Store
	Devices *authn.Devices
	IP      httpx.ClientIP
	Log     *slog.Logger

	// The admin API.
	Admin     *admin.Service
	APIKeys   *authn.APIKeys
	Sessions  *authn.Sessions // the console's; nil: API keys only
	Passwords *authn.Passwords
	Limiter   *ratelimit.Limiter
	Audit     *audit.Recorder
}

// Handle adapts an API handler: its errors are written as API errors.
func (h *Handlers) Handle(fn httpx.HandlerFunc) http.Handler {
	return httpx.Handle(fn, writeError, h.Log)
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := httpx.StatusOf(err)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="pairgate"`)
	}
	if d := pairgate.RetryAfter(err); d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
	}
	var body apiError
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
		var body apiError
		body.Error.Code = "method_not_allowed"
		body.Error.Message = "method " + r.Method + " not allowed; use " + allow
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
	Subject      string    `json:"sub"`
	Scope        string    `json:"scope"`
	AuthMethod   string    `json:"authorized_by"`
	AuthorizedAt time.Time `json:"authorized_at"`
	ExpiresAt    time.Time `json:"token_expires_at"`
}

// Device is GET /api/v1/device: who am I.
func (h *Handlers) Device(w http.ResponseWriter, r *http.Request) error {
	c, d, err := h.Devices.Authenticate(r.Context(), r, h.IP.Of(r))
	if err != nil {
		return err
	}
	httpx.NoStore(w)
	return httpx.JSON(w, http.StatusOK, DeviceInfo{
		DeviceID: d.ID, Name: d.Name, ClientID: d.ClientID, Mode: string(d.Mode), HardwareID: d.HardwareID,
		Subject: c.Subject, Scope: c.Scope, AuthMethod: d.AuthMethod, AuthorizedAt: d.AuthorizedAt,
		ExpiresAt: time.Unix(c.ExpiresAt, 0).UTC(),
	})
}
