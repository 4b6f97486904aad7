package oauth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/accesstoken"
	"github.com/pairgate/pairgate/internal/authn"
	"github.com/pairgate/pairgate/internal/dpop"
	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/httpx"
	"github.com/pairgate/pairgate/internal/metrics"
	"github.com/pairgate/pairgate/internal/ratelimit"
)

// Deps are what the OAuth endpoints work with. Every field is required;
// a capacity limiter that allows everything is made explicitly
// (ratelimit.NewLocal with rate 0).
type Deps struct {
	Grants    *grants.Service
	Clients   *authn.Clients
	Keyring   *accesstoken.Keyring
	DPoP      *dpop.Verifier // hands out the server's DPoP nonces, when they are on
	Store     pairgate.Store
	Issuer    string
	IP        httpx.ClientIP
	Log       *slog.Logger
	Metrics   *metrics.Metrics
	PerSource *ratelimit.Local // capacity per source address, every endpoint
	PerClient *ratelimit.Local // capacity per client, token endpoint
	Tokens    *accesstoken.Issuer
	// Admission bounds the writes (refreshes, redemptions, new device
	// authorizations) in flight; beyond it, 503 with Retry-After.
	Admission *ratelimit.Admission
	// StatusListTTL is how long resource servers may keep a token status
	// list before they fetch it again.
	StatusListTTL time.Duration
	// HeldQueue is the held queue's IPP URI, published in the metadata
	// for devices that print (pairgate_held_queue_uri); "" when the
	// server has no IPP listener.
	HeldQueue func() string
}

// Handlers serves the OAuth endpoints.
type Handlers struct {
	grants    *grants.Service
	clients   *authn.Clients
	keyring   *accesstoken.Keyring
	dpop      *dpop.Verifier
	store     pairgate.Store
	issuer    string
	ip        httpx.ClientIP
	log       *slog.Logger
	metrics   *metrics.Metrics
	perSource *ratelimit.Local
	perClient *ratelimit.Local
	tokens    *accesstoken.Issuer
	admission *ratelimit.Admission
	statusTTL time.Duration
	lists     statusLists
	heldQueue func() string

	metaMu  sync.Mutex
	meta    []byte
	metaExp time.Time
}

// New returns the OAuth endpoints.
func New(d Deps) (*Handlers, error) {
	if d.Grants == nil || d.Clients == nil || d.Keyring == nil || d.DPoP == nil || d.Store == nil || d.Issuer == "" || d.Log == nil ||
		d.Metrics == nil || d.PerSource == nil || d.PerClient == nil || d.Tokens == nil || d.Admission == nil || d.StatusListTTL < time.Second ||
		d.HeldQueue == nil {
		return nil, errors.New("oauth: every dependency is required")
	}
	return &Handlers{grants: d.Grants, clients: d.Clients, keyring: d.Keyring, dpop: d.DPoP, store: d.Store, issuer: d.Issuer, ip: d.IP,
		log: d.Log, metrics: d.Metrics, perSource: d.PerSource, perClient: d.PerClient, tokens: d.Tokens, admission: d.Admission,
		statusTTL: d.StatusListTTL, heldQueue: d.HeldQueue}, nil
}

// Handle adapts an OAuth handler: its errors are written in RFC 6749 form.
func (h *Handlers) Handle(fn httpx.HandlerFunc) http.Handler {
	return httpx.Handle(fn, writeError, h.log)
}

// client reads the request's parameters and authenticates its client. A
// source over its rate is refused before its body is read. Every answer
// carries what a DPoP client needs to get its next proof right, errors
// included: the current nonce when nonces are on, and the server's time.
func (h *Handlers) client(w http.ResponseWriter, r *http.Request) (url.Values, *pairgate.Client, error) {
	h.dpop.SetHeaders(w.Header())
	if ok, wait := h.perSource.Allow(ratelimit.Source(h.clientIP(r))); !ok {
		h.metrics.RateLimited("oauth-per-source")
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
	c, err := h.clients.Authenticate(r.Context(), cr)
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
	httpx.JSON(w, status, errorBody{Error: code, Description: description(pairgate.ErrorMessage(err))})
}

// description makes a message fit RFC 6749 §5.2's error_description:
// printable ASCII without '"' and '\'. Messages are written that way; this
// holds the line for any that is not (a test walks them all).
func description(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c == '"':
			b[i] = '\''
		case c < 0x20 || c > 0x7e || c == '\\':
			b[i] = '?'
		}
	}
	return string(b)
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
	case pairgate.EDPOPPROOF:
		code = "invalid_dpop_proof" // RFC 9449 §5
	case pairgate.EDPOPNONCE:
		code = "use_dpop_nonce" // RFC 9449 §8
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
		httpx.JSON(w, http.StatusMethodNotAllowed, errorBody{Error: "invalid_request", Description: "method " + pairgate.Printable(r.Method, 16) + " not allowed; use " + allow})
	})
}

// NotFound answers an unknown path under an OAuth or API prefix.
func NotFound(w http.ResponseWriter, r *http.Request) {
	httpx.JSON(w, http.StatusNotFound, errorBody{Error: "not_found", Description: "no such endpoint"})
}

func (h *Handlers) clientIP(r *http.Request) string { return h.ip.Of(r) }

// background detaches work from a client that hangs up, but not from a
// deadline: a grant that has started writing finishes, or fails, within it.
func background(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
}
