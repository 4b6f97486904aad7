package oauth

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/accesstoken"
	"github.com/pairgate/pairgate/internal/authn"
	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/httpx"
	"github.com/pairgate/pairgate/internal/metrics"
	"github.com/pairgate/pairgate/internal/ratelimit"
)

// Handlers serves the OAuth endpoints.
type Handlers struct {
	Grants  *grants.Service
	Clients *authn.Clients
	Keyring *accesstoken.Keyring
	Store   pairgate.Store
	Issuer  string
	IP      httpx.ClientIP
	Log     *slog.Logger
	Metrics *metrics.Metrics

	// Capacity limits of the OAuth endpoints (nil: none): per source
	// address on every endpoint, and per client on the token endpoint.
	PerSource *ratelimit.Local
	PerClient *ratelimit.Local

	metaMu  sync.Mutex
	meta    []byte
	metaExp time.Time
}

// Handle adapts an OAuth handler: its errors are written in RFC 6749 form.
func (h *Handlers) Handle(fn httpx.HandlerFunc) http.Handler {
	return httpx.Handle(fn, writeError, h.Log)
}

// client reads the request's parameters and authenticates its client. A
// source over its rate is refused before its body is read.
func (h *Handlers) client(w http.ResponseWriter, r *http.Request) (url.Values, *pairgate.Client, error) {
	if ok, wait := h.PerSource.Allow(h.ip(r)); !ok {
		h.Metrics.RateLimited("oauth-per-source")
		return nil, nil, &pairgate.Error{Code: pairgate.ERATELIMITED, RetryAfter: wait, Message: "too many requests from this address; slow down"}
	}
	p, err := httpx.Params(w, r, true)
	if err != nil {
		return nil, nil, err
	}
	cr, err := authn.ClientCredentials(r, p)
	if err != nil {
		return nil, nil, err
	}
	c, err := h.Clients.Authenticate(r.Context(), cr)
	if err != nil {
		return nil, nil, err
	}
	return p, c, nil
}

// errorBody is RFC 6749 §5.2's error response.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// pendingBody is the answer to most polls, encoded once.
var pendingBody = []byte(`{"error":"authorization_pending","error_description":"the user has not yet approved the request"}` + "\n")

// writeError maps a domain error to RFC 6749 §5.2 (and RFC 8628 §3.5).
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	if pairgate.ErrorCode(err) == pairgate.EPENDING {
		httpx.NoStore(w)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write(pendingBody)
		return
	}
	status, code := errorCode(err)
	hdr := w.Header()
	switch status {
	case http.StatusUnauthorized:
		hdr.Set("WWW-Authenticate", `Basic realm="pairgate"`)
	case http.StatusServiceUnavailable:
		hdr.Set("Retry-After", "5")
	}
	if d := pairgate.RetryAfter(err); d > 0 {
		hdr.Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
	}
	httpx.NoStore(w)
	httpx.JSON(w, status, errorBody{Error: code, Description: pairgate.ErrorMessage(err)})
}

// errorCode is the one mapping from domain error codes to HTTP statuses and
// RFC 6749 / RFC 8628 error codes.
func errorCode(err error) (int, string) {
	status, code := http.StatusBadRequest, "invalid_request"
	switch pairgate.ErrorCode(err) {
	case pairgate.EPENDING:
		code = "authorization_pending"
	case pairgate.ESLOWDOWN:
		code = "slow_down"
	case pairgate.EDENIED:
		code = "access_denied"
	case pairgate.EEXPIRED:
		code = "expired_token"
	case pairgate.EINVALIDGRANT, pairgate.ENOTFOUND, pairgate.EREUSEDETECTED:
		code = "invalid_grant"
	case pairgate.EINVALIDSCOPE:
		code = "invalid_scope"
	case pairgate.EUNAUTHCLIENT:
		code = "unauthorized_client"
	case pairgate.EUNSUPPORTED:
		code = "unsupported_grant_type"
	case pairgate.EUNAUTHORIZED:
		status, code = http.StatusUnauthorized, "invalid_client"
	case pairgate.EFORBIDDEN:
		status, code = http.StatusForbidden, "access_denied"
	case pairgate.ETOOLARGE:
		status = http.StatusRequestEntityTooLarge
	case pairgate.ECONFLICT:
		status = http.StatusConflict
	case pairgate.ERATELIMITED:
		status, code = http.StatusTooManyRequests, "slow_down"
	case pairgate.EUNAVAILABLE:
		status, code = http.StatusServiceUnavailable, "temporarily_unavailable"
	case pairgate.EINTERNAL:
		status, code = http.StatusInternalServerError, "server_error"
	}
	return status, code
}

// MethodNotAllowed answers a request with the wrong method in OAuth form.
func MethodNotAllowed(allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		httpx.NoStore(w)
		httpx.JSON(w, http.StatusMethodNotAllowed, errorBody{Error: "invalid_request", Description: "method " + r.Method + " not allowed; use " + allow})
	})
}

// NotFound answers an unknown path under an OAuth or API prefix.
func NotFound(w http.ResponseWriter, r *http.Request) {
	httpx.JSON(w, http.StatusNotFound, errorBody{Error: "not_found", Description: "no such endpoint"})
}

func (h *Handlers) ip(r *http.Request) string { return h.IP.Of(r) }

// background detaches work from a client that hangs up, but not from a
// deadline: a grant that has started writing finishes, or fails, within it.
func background(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
}
