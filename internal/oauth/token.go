package oauth

import (
	"context"
	"net/http"
	"net/url"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/httpx"
)

// grantFunc handles one grant type, given the parsed parameters and the
// authenticated client.
type grantFunc func(h *Handlers, ctx context.Context, c *pairgate.Client, p url.Values, ip string) (*grants.TokenResponse, error)

// grantTypes is the dispatch table of the token endpoint: every grant
// pairgate implements, by grant_type.
var grantTypes = map[string]grantFunc{
	pairgate.GrantDeviceCode: func(h *Handlers, ctx context.Context, c *pairgate.Client, p url.Values, ip string) (*grants.TokenResponse, error) {
		return h.Grants.PollDeviceCode(ctx, c, p.Get("device_code"), ip)
	},
	pairgate.GrantPairingCode: func(h *Handlers, ctx context.Context, c *pairgate.Client, p url.Values, ip string) (*grants.TokenResponse, error) {
		return h.Grants.PollPairingCode(ctx, c, p.Get("pairing_code"), p.Get("scope"), ip)
	},
	pairgate.GrantRefreshToken: func(h *Handlers, ctx context.Context, c *pairgate.Client, p url.Values, ip string) (*grants.TokenResponse, error) {
		return h.Grants.Refresh(ctx, c, p.Get("refresh_token"), p.Get("scope"), ip)
	},
	pairgate.GrantAuthorizationCode: func(h *Handlers, ctx context.Context, c *pairgate.Client, p url.Values, ip string) (*grants.TokenResponse, error) {
		return h.Grants.RedeemAuthorizationCode(ctx, c, p.Get("code"), p.Get("device_name"), p.Get("hardware_id"), p.Get("scope"), ip)
	},
}

// Token is the token endpoint, POST /oauth/token and /oauth/access_token/.
func (h *Handlers) Token(w http.ResponseWriter, r *http.Request) error {
	p, c, err := h.client(w, r)
	if err != nil {
		return err
	}
	if ok, wait := h.PerClient.Allow(c.ID); !ok {
		h.Metrics.RateLimited("token-per-client")
		return &pairgate.Error{Code: pairgate.ERATELIMITED, RetryAfter: wait, Message: "too many requests for this client; slow down"}
	}
	gt := p.Get("grant_type")
	if gt == "" {
		return pairgate.Errorf(pairgate.EINVALID, "grant_type is required")
	}
	fn, ok := grantTypes[gt]
	if !ok {
		h.Metrics.Grant("unsupported", "unsupported_grant_type")
		return pairgate.Errorf(pairgate.EUNSUPPORTED, "grant_type %q is not supported", truncate(gt, 100))
	}
	// Once a grant has decided to issue, a client that hangs up must not
	// leave a redeemed code without its tokens delivered to anyone: the
	// store work runs to the end.
	ctx, cancel := background(r.Context())
	defer cancel()
	resp, err := fn(h, ctx, c, p, h.ip(r))
	if err != nil {
		_, code := errorCode(err)
		h.Metrics.Grant(gt, code)
		return err
	}
	h.Metrics.Grant(gt, "issued")
	httpx.NoStore(w)
	return httpx.JSON(w, http.StatusOK, resp)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
