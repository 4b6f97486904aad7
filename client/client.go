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

// DefaultClientID is the public client every pairgate server creates on its
// first start.
const DefaultClientID = "print-client"

// Grant type of pairgate's admin-issued authorization codes.
const grantAuthorizationCode = "urn:pairgate:grant-type:authorization-code"

// Errors that tell a program (and, through `pairgate device`, a script)
// what happened. They are matched with errors.Is; the error returned also
// wraps the cause, for example an *oauth2.RetrieveError.
var (
	// ErrDenied: the person refused the pairing.
	ErrDenied = errors.New("the request was denied")
	// ErrExpired: the pairing's code expired before anyone approved it.
	ErrExpired = errors.New("the code expired before it was approved")
	// ErrInvalidCode: the authorization code is wrong, expired or deleted.
	ErrInvalidCode = errors.New("the authorization code is wrong, expired or deleted")
	// ErrNotAuthorized: the server no longer accepts the device's
	// credentials (the device was deleted, its tokens revoked, or a
	// rotated-out refresh token was presented outside the grace window).
	// The device must be authorized again.
	ErrNotAuthorized = errors.New("the device is not authorized (any more)")
	// ErrNoCredentials: the store holds no credentials; the device was
	// never authorized, or logged out.
	ErrNoCredentials = errors.New("no stored credentials")
	// ErrUnavailable: the server could not be reached, failed, or asked
	// to retry later. Nothing changed; try again.
	ErrUnavailable = errors.New("the server cannot be reached or is unavailable")
	// ErrRejected: the server refused the request's parameters or the
	// client (invalid_request, invalid_scope, invalid_client,
	// unauthorized_client).
	ErrRejected = errors.New("the server refused the request")
)

// Config says which server and client to use.
type Config struct {
	// Server is the pairgate server's base URL, its OAuth issuer, for
	// example https://pairgate.example.com.
	Server string
	// ClientID is the OAuth client; DefaultClientID when empty.
	ClientID string
	// ClientSecret is set only for a confidential client.
	ClientSecret string
	// Scopes to ask for; the client's default scopes when empty.
	Scopes []string
	// HTTPClient makes the requests; http.DefaultClient when nil.
	HTTPClient *http.Client
	// Key is the device's key (DPoP, RFC 9449). When nil, a new one is
	// made at authorization, of KeyAlgorithm; pass the stored one
	// (Credentials.Key) to authorize the same device again: a server
	// updates a device only for a request signed by its key. Used only
	// when the server advertises DPoP (dpop_signing_alg_values_supported).
	Key *DeviceKey
	// KeyAlgorithm is the algorithm of a new key: KeyES256 (the default)
	// or KeyEdDSA.
	KeyAlgorithm string
	// NoDPoP authorizes as a Bearer client, without a key: the device
	// is then only as safe as its tokens, and a server refuses it for a
	// client that requires DPoP.
	NoDPoP bool
}

// Metadata is what the client uses of the server's RFC 8414 metadata.
type Metadata struct {
	Issuer                      string `json:"issuer"`
	TokenEndpoint               string `json:"token_endpoint"`
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint"`
	PairingEndpoint             string `json:"pairing_endpoint"`
	RevocationEndpoint          string `json:"revocation_endpoint"`
	// DPoPAlgorithms are the proof algorithms the server takes (RFC
	// 9449 §5.1); none for a server without DPoP.
	DPoPAlgorithms []string `json:"dpop_signing_alg_values_supported"`
}

// Client authorizes a device with one pairgate server.
type Client struct {
	cfg   Config
	meta  Metadata
	oauth *oauth2.Config
}

// New discovers the server's endpoints from its metadata
// (/.well-known/oauth-authorization-server) and returns a Client.
func New(ctx context.Context, cfg Config) (*Client, error) {
	issuer, err := normalizeServer(cfg.Server)
	if err != nil {
		return nil, err
	}
	cfg.Server = issuer
	if cfg.ClientID == "" {
		cfg.ClientID = DefaultClientID
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	meta, err := discover(ctx, cfg.HTTPClient, issuer)
	if err != nil {
		return nil, err
	}
	return &Client{cfg: cfg, meta: *meta, oauth: oauthConfig(cfg.ClientID, cfg.ClientSecret, meta.TokenEndpoint, meta.DeviceAuthorizationEndpoint, cfg.Scopes)}, nil
}

// deviceKey returns the key an authorization proves: Config.Key, or a
// new one; nil when the server has no DPoP or the client was told not to
// use it.
func (c *Client) deviceKey() (*DeviceKey, error) {
	if c.cfg.NoDPoP || len(c.meta.DPoPAlgorithms) == 0 {
		return nil, nil
	}
	k := c.cfg.Key
	if k == nil {
		var err error
		if k, err = NewDeviceKey(c.cfg.KeyAlgorithm); err != nil {
			return nil, err
		}
	}
	for _, a := range c.meta.DPoPAlgorithms {
		if a == k.Algorithm() {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: the server takes DPoP proofs of %v, not %s", ErrRejected, c.meta.DPoPAlgorithms, k.Algorithm())
}

// httpFor is the HTTP client of an authorization's requests: one that
// signs every request with key, when there is one.
func (c *Client) httpFor(key *DeviceKey) *http.Client {
	if key == nil {
		return c.cfg.HTTPClient
	}
	return dpopClient(c.cfg.HTTPClient, key, "")
}

// Metadata returns the server's endpoints.
func (c *Client) Metadata() Metadata { return c.meta }

func normalizeServer(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w: server %q is not an http(s) URL", ErrRejected, s)
	}
	return strings.TrimRight(s, "/"), nil
}

func discover(ctx context.Context, hc *http.Client, issuer string) (*Metadata, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, issuer+"/.well-known/oauth-authorization-server", nil)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, unavailable(ctx, "discovery", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, unavailable(ctx, "discovery", err)
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		return nil, fmt.Errorf("%w: discovery: HTTP %d", ErrUnavailable, resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("discovery: %s answered HTTP %d: is this a pairgate server?", req.URL, resp.StatusCode)
	}
	var m Metadata
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("discovery: %s: not JSON metadata: %w", req.URL, err)
	}
	// RFC 8414 §3.3: metadata whose issuer differs from the URL it was
	// fetched from must not be used; a device would otherwise send its
	// codes wherever a rogue document pointed.
	if strings.TrimRight(m.Issuer, "/") != issuer {
		return nil, fmt.Errorf("discovery: the server calls itself %q, not %q: use --server %s (its configured issuer)", m.Issuer, issuer, m.Issuer)
	}
	if m.TokenEndpoint == "" {
		return nil, fmt.Errorf("discovery: the metadata has no token_endpoint")
	}
	if m.PairingEndpoint == "" {
		m.PairingEndpoint = issuer + "/oauth/pair/"
	}
	return &m, nil
}

func oauthConfig(clientID, secret, tokenURL, deviceURL string, scopes []string) *oauth2.Config {
	// An explicit auth style: left to detect it, x/oauth2 sends every
	// failing request twice, and a refresh request is not one to repeat.
	style := oauth2.AuthStyleInParams
	if secret != "" {
		style = oauth2.AuthStyleInHeader
	}
	return &oauth2.Config{ClientID: clientID, ClientSecret: secret, Scopes: scopes,
		Endpoint: oauth2.Endpoint{TokenURL: tokenURL, DeviceAuthURL: deviceURL, AuthStyle: style}}
}

// withHTTP makes x/oauth2 use hc.
func withHTTP(ctx context.Context, hc *http.Client) context.Context {
	if hc == nil {
		return ctx
	}
	return context.WithValue(ctx, oauth2.HTTPClient, hc)
}

// unavailable wraps a transport error. A cancelled context is passed on
// as it is, so that callers can tell an interrupt from an outage.
func unavailable(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, err)
}

// classify maps a token endpoint failure to the package's errors.
// invalidGrant is what invalid_grant means for this request.
func classify(ctx context.Context, what string, err error, invalidGrant error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return unavailable(ctx, what, err)
	}
	desc := re.ErrorDescription
	if desc == "" {
		desc = re.ErrorCode
	}
	switch {
	case re.Response != nil && (re.Response.StatusCode >= 500 || re.Response.StatusCode == http.StatusTooManyRequests):
		return fmt.Errorf("%w: %s: %s: %w", ErrUnavailable, what, desc, err)
	case re.ErrorCode == "invalid_grant":
		return fmt.Errorf("%w: %s: %s: %w", invalidGrant, what, desc, err)
	case re.ErrorCode == "access_denied":
		return fmt.Errorf("%w: %s: %w", ErrDenied, what, err)
	case re.ErrorCode == "expired_token":
		return fmt.Errorf("%w: %s: %w", ErrExpired, what, err)
	case re.ErrorCode == "invalid_request", re.ErrorCode == "invalid_scope", re.ErrorCode == "invalid_client",
		re.ErrorCode == "unauthorized_client", re.ErrorCode == "unsupported_grant_type":
		return fmt.Errorf("%w: %s: %s: %w", ErrRejected, what, desc, err)
	}
	return fmt.Errorf("%s: %s: %w", what, desc, err)
}

// credentials builds what is stored from a token response.
func (c *Client) credentials(tok *oauth2.Token, key *DeviceKey, method, mode, name, hw string, now time.Time) *Credentials {
	cr := &Credentials{
		Issuer: c.cfg.Server, ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret,
		TokenEndpoint: c.meta.TokenEndpoint, RevocationEndpoint: c.meta.RevocationEndpoint,
		Method: method, Mode: mode, DeviceName: name, HardwareID: hw, AuthorizedAt: now.UTC(), Key: key,
	}
	cr.setToken(tok)
	return cr
}
