package oauth

import (
	"context"
	"net/http"
	"net/url"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/dpop"
	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/httpx"
)

// grantTypes is the dispatch table of the token endpoint: every grant
// pairgate implements, by grant_type. The logic of each is in
// internal/grants, a file per grant.
var grantTypes = map[string]func(*grants.Service, context.Context, grants.TokenRequest) (*grants.TokenResponse, error){
	pairgate.GrantDeviceCode:        (*grants.Service).PollDeviceCode,
	pairgate.GrantPairingCode:       (*grants.Service).PollPairingCode,
	pairgate.GrantRefreshToken:      (*grants.Service).Refresh,
	pairgate.GrantAuthorizationCode: (*grants.Service).RedeemAuthorizationCode,
}

// tokenRequest parses a token request once, into the typed value every
// grant takes.
func tokenRequest(p url.Values, c *pairgate.Client, ip string, r *http.Request) grants.TokenRequest {
	return grants.TokenRequest{
		Client: c, GrantType: p.Get("grant_type"), DeviceCode: p.Get("device_code"), PairingCode: p.Get("pairing_code"),
		RefreshToken: p.Get("refresh_token"), Code: p.Get("code"), DeviceName: p.Get("device_name"),
		HardwareID: p.Get("hardware_id"), Scope: p.Get("scope"), IP: ip, DPoP: proofOf(r),
	}
}

// proofOf is the request's DPoP proof as the grants verify it: every DPoP
// header (more than one is an invalid proof), the method, and the path,
// which the grants join to the configured issuer (behind a proxy the
// request's own URL is not the one the device called).
func proofOf(r *http.Request) dpop.Request {
	return dpop.Request{Proofs: r.Header.Values(dpop.Header), Method: r.Method, Path: r.URL.Path}
}

// Token is the token endpoint, POST /oauth/token and /oauth/access_token/.
func (h *Handlers) Token(w http.ResponseWriter, r *http.Request) error {
	p, c, err := h.client(w, r)
	if err != nil {
		return err
	}
	if ok, wait := h.perClient.Allow(c.ID); !ok {
		h.metrics.RateLimited("token-per-client")
		return &pairgate.Error{Code: pairgate.ERATELIMITED, RetryAfter: wait, Message: "too many requests for this client; slow down"}
	}
	req := tokenRequest(p, c, h.clientIP(r), r)
	if req.GrantType == "" {
		return pairgate.Errorf(pairgate.EINVALID, "grant_type is required")
	}
	fn, ok := grantTypes[req.GrantType]
	if !ok {
		h.metrics.Grant("unsupported", "unsupported_grant_type")
		return pairgate.Errorf(pairgate.EUNSUPPORTED, "grant_type '%s' is not supported", pairgate.Printable(req.GrantType, 100))
	}
	// Grants that always write wait for a slot; a poll is mostly a read,
	// answered from memory, and never waits (a pending fleet must not
	// crowd out the refreshes).
	if req.GrantType == pairgate.GrantRefreshToken || req.GrantType == pairgate.GrantAuthorizationCode {
		release, err := h.admission.Admit(r.Context())
		if err != nil {
			h.metrics.Grant(req.GrantType, "temporarily_unavailable")
			return err
		}
		defer release()
	}
	// Once a grant has decided to issue, a client that hangs up must not
	// leave a redeemed code without its tokens delivered to anyone: the
	// store work runs to the end.
	ctx, cancel := background(r.Context())
	defer cancel()
	resp, err := fn(h.grants, ctx, req)
	if err != nil {
		_, code := errorCode(err)
		h.metrics.Grant(req.GrantType, code)
		return err
	}
	h.metrics.Grant(req.GrantType, "issued")
	httpx.NoStore(w)
	return httpx.JSON(w, http.StatusOK, resp)
}
