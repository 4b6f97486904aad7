package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Prompt is what a person needs to approve a pairing.
type Prompt struct {
	// VerificationURI is where to go (RFC 8628's verification_uri; the
	// pairing dialect's auth_url).
	VerificationURI string
	// VerificationURIComplete is the same with the code filled in, for a
	// QR code.
	VerificationURIComplete string
	// UserCode is the code to enter (the pairing code in that dialect).
	UserCode string
	// ExpiresAt is when the code stops working.
	ExpiresAt time.Time
}

// PairOptions describe the device and how to show the code.
type PairOptions struct {
	// Mode is "device" (the token speaks for the device; the default) or
	// "user" (it speaks for the person who approves).
	Mode string
	// HardwareID is what the device says it is, shown in the inventory.
	// It is a claim: pairing again updates the device's entry only with
	// the device's key (Config.Key); otherwise it adds one, marked as
	// sharing the hardware id.
	HardwareID string
	// DeviceName is what the inventory calls the device.
	DeviceName string
	// Pairing uses pairgate's pairing dialect (/oauth/pair/, one
	// 10-character code) instead of RFC 8628.
	Pairing bool
	// Show is called once the server has issued the code: it must show the
	// prompt to a person and return. Required.
	Show func(Prompt) error
}

// Pair authorizes the device with the approval of a person: it asks for a
// code, calls opts.Show, and polls until the person approves or denies,
// the code expires, or ctx ends, honouring the server's interval and its
// slow_down answers (RFC 8628 §3.5). The error wraps ErrDenied or
// ErrExpired when that is how it ended, and ctx's error on an interrupt.
func (c *Client) Pair(ctx context.Context, opts PairOptions) (*Credentials, error) {
	if opts.Show == nil {
		return nil, fmt.Errorf("%w: PairOptions.Show is required", ErrRejected)
	}
	if opts.Mode == "" {
		opts.Mode = "device"
	}
	if opts.Mode != "device" && opts.Mode != "user" {
		return nil, fmt.Errorf("%w: mode must be device or user, not %q", ErrRejected, opts.Mode)
	}
	// Every request of the pairing carries a proof by the device's key:
	// the server binds the code to it, so that only this device can
	// redeem it, whoever else sees the code (RFC 9449 §10).
	key, err := c.deviceKey()
	if err != nil {
		return nil, err
	}
	hc := c.httpFor(key)
	hctx := withHTTP(ctx, hc)
	var tok *oauth2.Token
	var method string
	if opts.Pairing {
		method = "pairing"
		tok, err = c.pairDialect(hctx, hc, opts)
	} else {
		method = "device_code"
		tok, err = c.deviceFlow(hctx, opts)
	}
	if err != nil {
		return nil, err
	}
	return c.credentials(tok, key, method, opts.Mode, opts.DeviceName, opts.HardwareID, time.Now()), nil
}

// deviceFlow is RFC 8628 through golang.org/x/oauth2, which polls at the
// server's interval and adds 5 s for every slow_down.
func (c *Client) deviceFlow(ctx context.Context, opts PairOptions) (*oauth2.Token, error) {
	if c.meta.DeviceAuthorizationEndpoint == "" {
		return nil, fmt.Errorf("the server's metadata has no device_authorization_endpoint")
	}
	params := []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("mode", opts.Mode)}
	if opts.HardwareID != "" {
		params = append(params, oauth2.SetAuthURLParam("hardware_id", opts.HardwareID))
	}
	if opts.DeviceName != "" {
		params = append(params, oauth2.SetAuthURLParam("device_name", opts.DeviceName))
	}
	if c.cfg.ClientSecret != "" {
		// x/oauth2 authenticates only the token requests.
		params = append(params, oauth2.SetAuthURLParam("client_secret", c.cfg.ClientSecret))
	}
	da, err := c.oauth.DeviceAuth(ctx, params...)
	if err != nil {
		return nil, classify(ctx, "device authorization", err, ErrRejected)
	}
	if err := opts.Show(Prompt{VerificationURI: da.VerificationURI, VerificationURIComplete: da.VerificationURIComplete,
		UserCode: da.UserCode, ExpiresAt: da.Expiry}); err != nil {
		return nil, err
	}
	tok, err := c.oauth.DeviceAccessToken(ctx, da)
	if err != nil {
		// The library ends the polling at expires_in with the deadline it
		// set on its own context; ours is still alive then.
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return nil, fmt.Errorf("%w: nobody approved the code in time", ErrExpired)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, classify(ctx, "device access token", err, ErrExpired)
	}
	return tok, nil
}

type pairingResponse struct {
	PairingCode string `json:"pairing_code"`
	AuthURL     string `json:"auth_url"`
	ExpiresIn   int64  `json:"expires_in"`
	Interval    int64  `json:"interval"`
}

// pairDialect runs the pairing dialect, which x/oauth2 does not know: the
// same polling semantics as RFC 8628, with one code for both sides.
func (c *Client) pairDialect(ctx context.Context, hc *http.Client, opts PairOptions) (*oauth2.Token, error) {
	v := url.Values{"mode": {opts.Mode}}
	if len(c.cfg.Scopes) > 0 {
		v.Set("scope", strings.Join(c.cfg.Scopes, " "))
	}
	if opts.HardwareID != "" {
		v.Set("hardware_id", opts.HardwareID)
	}
	if opts.DeviceName != "" {
		v.Set("device_name", opts.DeviceName)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.meta.PairingEndpoint, strings.NewReader(v.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// The dialect authenticates the client with HTTP Basic, a public
	// client with an empty secret.
	req.SetBasicAuth(url.QueryEscape(c.cfg.ClientID), url.QueryEscape(c.cfg.ClientSecret))
	resp, err := hc.Do(req)
	if err != nil {
		return nil, unavailable(ctx, "pairing", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, unavailable(ctx, "pairing", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		json.Unmarshal(body, &e)
		return nil, classify(ctx, "pairing", &oauth2.RetrieveError{Response: resp, Body: body, ErrorCode: e.Error, ErrorDescription: e.Description}, ErrRejected)
	}
	var pr pairingResponse
	if err := json.Unmarshal(body, &pr); err != nil || pr.PairingCode == "" {
		return nil, fmt.Errorf("pairing: unexpected answer from the server: %.200s", body)
	}
	expires := time.Now().Add(time.Duration(pr.ExpiresIn) * time.Second)
	if err := opts.Show(Prompt{VerificationURI: pr.AuthURL, VerificationURIComplete: pr.AuthURL, UserCode: pr.PairingCode, ExpiresAt: expires}); err != nil {
		return nil, err
	}
	interval := time.Duration(pr.Interval) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second // RFC 8628 §3.2's default
	}
	pctx := ctx
	if pr.ExpiresIn > 0 {
		var cancel context.CancelFunc
		pctx, cancel = context.WithDeadline(ctx, expires)
		defer cancel()
	}
	params := []oauth2.AuthCodeOption{
		oauth2.SetAuthURLParam("grant_type", "pairing_code"),
		oauth2.SetAuthURLParam("pairing_code", pr.PairingCode),
	}
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		select {
		case <-pctx.Done():
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("%w: nobody approved the code in time", ErrExpired)
		case <-timer.C:
		}
		// Exchange with grant_type replaced is x/oauth2's generic token
		// request; its empty code parameter counts as absent (RFC 6749 §3.1).
		tok, err := c.oauth.Exchange(pctx, "", params...)
		if err == nil {
			return tok, nil
		}
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			switch re.ErrorCode {
			case "authorization_pending":
				timer.Reset(interval)
				continue
			case "slow_down":
				interval += 5 * time.Second // RFC 8628 §3.5
				if ra := retryAfter(re.Response, time.Now()); ra > interval {
					interval = ra
				}
				timer.Reset(interval)
				continue
			}
		}
		if pctx.Err() != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("%w: nobody approved the code in time", ErrExpired)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, classify(ctx, "pairing", err, ErrExpired)
	}
}
