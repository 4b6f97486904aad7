package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// AuthorizeOptions describe the device being authorized with a code.
type AuthorizeOptions struct {
	// DeviceName is what the inventory calls the device; required.
	DeviceName string
	// HardwareID is what the device says it is, shown in the inventory.
	// It is a claim: authorizing again updates the device's entry only
	// with the device's key (Config.Key); otherwise it adds one, marked as
	// sharing the hardware id.
	HardwareID string
}

// Authorize redeems an authorization code that an administrator generated
// and returns the device's credentials; no person takes part. The code may
// be typed in any case, with or without its dashes. The error wraps
// ErrInvalidCode when the code is wrong, expired or deleted.
func (c *Client) Authorize(ctx context.Context, code string, opts AuthorizeOptions) (*Credentials, error) {
	if strings.TrimSpace(code) == "" {
		return nil, fmt.Errorf("%w: an authorization code is required", ErrRejected)
	}
	if opts.DeviceName == "" {
		return nil, fmt.Errorf("%w: a device name is required", ErrRejected)
	}
	params := []oauth2.AuthCodeOption{
		// Exchange with grant_type replaced is x/oauth2's generic token
		// request, and this grant's secret is called code, as Exchange's.
		oauth2.SetAuthURLParam("grant_type", grantAuthorizationCode),
		oauth2.SetAuthURLParam("device_name", opts.DeviceName),
	}
	if opts.HardwareID != "" {
		params = append(params, oauth2.SetAuthURLParam("hardware_id", opts.HardwareID))
	}
	if len(c.cfg.Scopes) > 0 {
		params = append(params, oauth2.SetAuthURLParam("scope", strings.Join(c.cfg.Scopes, " ")))
	}
	key, err := c.deviceKey()
	if err != nil {
		return nil, err
	}
	tok, err := c.oauth.Exchange(withHTTP(ctx, c.httpFor(key)), strings.TrimSpace(code), params...)
	if err != nil {
		return nil, classify(ctx, "authorize", err, ErrInvalidCode)
	}
	return c.credentials(tok, key, "authorization_code", "device", opts.DeviceName, opts.HardwareID, time.Now()), nil
}

// DeviceInfo is what the server says about the device (GET /api/v1/device).
type DeviceInfo struct {
	DeviceID       string    `json:"device_id"`
	Name           string    `json:"name"`
	ClientID       string    `json:"client_id"`
	Mode           string    `json:"mode"`
	HardwareID     string    `json:"hardware_id"`
	DPoPJKT        string    `json:"dpop_jkt"` // the thumbprint of the key the server binds the device to
	Subject        string    `json:"sub"`
	Scope          string    `json:"scope"`
	AuthorizedBy   string    `json:"authorized_by"`
	AuthorizedAt   time.Time `json:"authorized_at"`
	TokenExpiresAt time.Time `json:"token_expires_at"`
}

// Whoami asks the server about the device the credentials' access token
// belongs to. It wraps ErrNotAuthorized when the server no longer accepts
// the token: the device was deleted or its authorization revoked.
func Whoami(ctx context.Context, hc *http.Client, c *Credentials) (*DeviceInfo, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.Issuer, "/")+"/api/v1/device", nil)
	if err != nil {
		return nil, fmt.Errorf("device info: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if c.Key != nil && strings.EqualFold(c.TokenType, "DPoP") {
		// RFC 9449 §7.1: the token under its own scheme, with a proof
		// that covers it (ath).
		req.Header.Set("Authorization", "DPoP "+c.AccessToken)
		hc = dpopClient(hc, c.Key, c.AccessToken)
	} else {
		req.Header.Set("Authorization", "Bearer "+c.AccessToken)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, unavailable(ctx, "device info", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, unavailable(ctx, "device info", err)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, fmt.Errorf("%w: the server does not accept the device's access token", ErrNotAuthorized)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return nil, fmt.Errorf("%w: device info: HTTP %d", ErrUnavailable, resp.StatusCode)
	default:
		return nil, fmt.Errorf("device info: HTTP %d: %.200s", resp.StatusCode, body)
	}
	var d DeviceInfo
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("device info: %w", err)
	}
	return &d, nil
}

// Revoke revokes the credentials at the server (RFC 7009): the refresh
// token, which ends the whole authorization, and the access token. The
// server answers success for tokens it no longer knows, so revoking twice
// is not an error.
func Revoke(ctx context.Context, hc *http.Client, c *Credentials) error {
	if hc == nil {
		hc = http.DefaultClient
	}
	endpoint := c.RevocationEndpoint
	if endpoint == "" {
		endpoint = strings.TrimRight(c.Issuer, "/") + "/oauth/revoke"
	}
	for _, t := range []struct{ token, hint string }{{c.RefreshToken, "refresh_token"}, {c.AccessToken, "access_token"}} {
		if t.token == "" {
			continue
		}
		v := url.Values{"token": {t.token}, "token_type_hint": {t.hint}}
		if c.ClientSecret == "" {
			v.Set("client_id", c.ClientID)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(v.Encode()))
		if err != nil {
			return fmt.Errorf("revoke: %w", err)
		}
		if c.ClientSecret != "" {
			req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(c.ClientSecret))
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := hc.Do(req)
		if err != nil {
			return unavailable(ctx, "revoke", err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			return fmt.Errorf("%w: revoke: HTTP %d", ErrUnavailable, resp.StatusCode)
		default:
			return fmt.Errorf("%w: revoke: HTTP %d: %.200s", ErrRejected, resp.StatusCode, body)
		}
	}
	return nil
}
