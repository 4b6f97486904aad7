package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client calls a pairgate server's admin API. Its zero value is not
// usable; make one with New.
type Client struct {
	base   string
	apiKey string
	user   string
	pass   string
	http   *http.Client
}

// New returns a client of the server at baseURL (its issuer URL) that
// authenticates with an API key (pgk_…).
func New(baseURL, apiKey string) *Client {
	return &Client{base: strings.TrimRight(baseURL, "/"), apiKey: apiKey, http: &http.Client{Timeout: 30 * time.Second}}
}

// WithPassword returns a copy of c that authenticates with a username and
// password instead of a key. The server takes them for CreateAPIKey only,
// so that the first key can be made without a browser.
func (c *Client) WithPassword(username, password string) *Client {
	d := *c
	d.apiKey, d.user, d.pass = "", username, password
	return &d
}

// WithHTTPClient returns a copy of c that sends its requests with h.
func (c *Client) WithHTTPClient(h *http.Client) *Client {
	d := *c
	d.http = h
	return &d
}

// BaseURL is the server the client calls.
func (c *Client) BaseURL() string { return c.base }

// Error is an answer of the server that is not a success.
type Error struct {
	Status     int    // the HTTP status
	Code       string // the API's error code: "invalid", "not_found", "forbidden", "unauthorized", …
	Message    string
	RetryAfter time.Duration
}

func (e *Error) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status) }

// Unavailable reports whether trying again later may succeed: the server
// is overloaded, rate limiting, or cannot reach its database.
func (e *Error) Unavailable() bool {
	return e.Status == http.StatusServiceUnavailable || e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// TransportError is a request that got no answer from the server at all.
type TransportError struct{ Err error }

func (e *TransportError) Error() string { return e.Err.Error() }
func (e *TransportError) Unwrap() error { return e.Err }

// Do sends one request to path (with its query) and decodes a JSON answer
// into out, when out is not nil. It is what the typed methods use; call it
// for endpoints they do not cover.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	switch {
	case c.apiKey != "":
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	case c.user != "":
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &TransportError{Err: fmt.Errorf("cannot reach %s: %w", c.base, err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return &TransportError{Err: fmt.Errorf("reading the answer of %s: %w", c.base, err)}
	}
	if resp.StatusCode >= 400 {
		e := &Error{Status: resp.StatusCode, Message: strings.TrimSpace(string(raw))}
		var eb ErrorBody
		if json.Unmarshal(raw, &eb) == nil && eb.Error.Message != "" {
			e.Code, e.Message = eb.Error.Code, eb.Error.Message
		}
		if len(e.Message) > 500 {
			e.Message = e.Message[:500]
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		return e
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s answered something that is not the admin API: %w", c.base, err)
		}
	}
	return nil
}

// IsNotFound reports whether err is the server saying there is no such
// object.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

func idPath(prefix, id string) string { return prefix + url.PathEscape(id) }

// --- Authorization codes ---

// CreateCode generates an authorization code.
func (c *Client) CreateCode(ctx context.Context, in NewCode) (*Code, error) {
	var out Code
	return &out, c.Do(ctx, "POST", "/api/v1/authorization-codes", in, &out)
}

// ListCodes returns the codes that have not expired, newest first.
func (c *Client) ListCodes(ctx context.Context) ([]Code, error) {
	var out CodeList
	return out.Codes, c.Do(ctx, "GET", "/api/v1/authorization-codes", nil, &out)
}

// DeleteCode deletes a code: no device can redeem it any more.
func (c *Client) DeleteCode(ctx context.Context, id string) error {
	return c.Do(ctx, "DELETE", idPath("/api/v1/authorization-codes/", id), nil, nil)
}

// CodeDevices previews what RevokeCodeDevices would sign out.
func (c *Client) CodeDevices(ctx context.Context, id string) (*CodeDevices, error) {
	var out CodeDevices
	if err := c.Do(ctx, "GET", idPath("/api/v1/authorization-codes/", id)+"/devices", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RevokeCodeDevices signs out every device whose current authorization
// came from the code, in one transaction, and deletes the code unless
// in.KeepCode.
func (c *Client) RevokeCodeDevices(ctx context.Context, id string, in RevokeCodeDevices) (*RevokedCodeDevices, error) {
	var out RevokedCodeDevices
	if err := c.Do(ctx, "POST", idPath("/api/v1/authorization-codes/", id)+"/revoke-devices", in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// --- Devices ---

func (q DeviceQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("q", q.Search)
	set("client_id", q.ClientID)
	set("state", q.State)
	set("sort", q.Sort)
	if q.Desc {
		v.Set("order", "desc")
	}
	set("after", q.After)
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// ListDevices returns one page of the inventory.
func (c *Client) ListDevices(ctx context.Context, q DeviceQuery) (*DeviceList, error) {
	var out DeviceList
	return &out, c.Do(ctx, "GET", "/api/v1/devices?"+q.values().Encode(), nil, &out)
}

// AllDevices follows the pages of the inventory from q.After to the end.
func (c *Client) AllDevices(ctx context.Context, q DeviceQuery) ([]Device, error) {
	if q.Limit == 0 {
		q.Limit = MaxPageSize
	}
	var all []Device
	for {
		page, err := c.ListDevices(ctx, q)
		if err != nil {
			return all, err
		}
		all = append(all, page.Devices...)
		if page.Next == "" {
			return all, nil
		}
		q.After = page.Next
	}
}

// GetDevice returns one device.
func (c *Client) GetDevice(ctx context.Context, id string) (*Device, error) {
	var out Device
	return &out, c.Do(ctx, "GET", idPath("/api/v1/devices/", id), nil, &out)
}

// DeleteDevice deletes a device: it is revoked at once and must authorize
// again.
func (c *Client) DeleteDevice(ctx context.Context, id string) error {
	return c.Do(ctx, "DELETE", idPath("/api/v1/devices/", id), nil, nil)
}

// --- Printers ---

// CreatePrinter adds a printer.
func (c *Client) CreatePrinter(ctx context.Context, in NewPrinter) (*Printer, error) {
	var out Printer
	return &out, c.Do(ctx, "POST", "/api/v1/printers", in, &out)
}

// ListPrinters returns the printers whose name, location, description or
// URI contains search ("" for all), by name.
func (c *Client) ListPrinters(ctx context.Context, search string) ([]Printer, error) {
	var out PrinterList
	path := "/api/v1/printers"
	if search != "" {
		path += "?" + url.Values{"q": {search}}.Encode()
	}
	return out.Printers, c.Do(ctx, "GET", path, nil, &out)
}

// GetPrinter returns one printer.
func (c *Client) GetPrinter(ctx context.Context, id string) (*Printer, error) {
	var out Printer
	return &out, c.Do(ctx, "GET", idPath("/api/v1/printers/", id), nil, &out)
}

// UpdatePrinter changes the fields the patch holds.
func (c *Client) UpdatePrinter(ctx context.Context, id string, in PrinterPatch) (*Printer, error) {
	var out Printer
	return &out, c.Do(ctx, "PATCH", idPath("/api/v1/printers/", id), in, &out)
}

// DeletePrinter deletes a printer; it leaves every deployment.
func (c *Client) DeletePrinter(ctx context.Context, id string) error {
	return c.Do(ctx, "DELETE", idPath("/api/v1/printers/", id), nil, nil)
}

// CheckPrinter asks an ipp:// or ipps:// printer what it is and how it is.
func (c *Client) CheckPrinter(ctx context.Context, id string) (*PrinterStatus, error) {
	var out PrinterStatus
	return &out, c.Do(ctx, "POST", idPath("/api/v1/printers/", id)+"/check", nil, &out)
}

// --- Deployments ---

// CreateDeployment gives printers to the devices a target selects.
func (c *Client) CreateDeployment(ctx context.Context, in NewDeployment) (*Deployment, error) {
	var out Deployment
	return &out, c.Do(ctx, "POST", "/api/v1/deployments", in, &out)
}

// ListDeployments returns every deployment, newest first.
func (c *Client) ListDeployments(ctx context.Context) ([]Deployment, error) {
	var out DeploymentList
	return out.Deployments, c.Do(ctx, "GET", "/api/v1/deployments", nil, &out)
}

// DeleteDeployment deletes a deployment.
func (c *Client) DeleteDeployment(ctx context.Context, id string) error {
	return c.Do(ctx, "DELETE", idPath("/api/v1/deployments/", id), nil, nil)
}

// --- Clients ---

// CreateClient registers a client; a confidential client's secret is in
// the answer only.
func (c *Client) CreateClient(ctx context.Context, in NewClient) (*OAuthClient, error) {
	var out OAuthClient
	return &out, c.Do(ctx, "POST", "/api/v1/clients", in, &out)
}

// SetClientDeviceFlow replaces a client's device flow policy.
func (c *Client) SetClientDeviceFlow(ctx context.Context, id string, p DeviceFlowPolicy) (*OAuthClient, error) {
	var out OAuthClient
	return &out, c.Do(ctx, "PUT", "/api/v1/clients/"+url.PathEscape(id)+"/device-flow", p, &out)
}

// ListClients returns every client.
func (c *Client) ListClients(ctx context.Context) ([]OAuthClient, error) {
	var out ClientList
	return out.Clients, c.Do(ctx, "GET", "/api/v1/clients", nil, &out)
}

// GetClient returns one client.
func (c *Client) GetClient(ctx context.Context, id string) (*OAuthClient, error) {
	var out OAuthClient
	return &out, c.Do(ctx, "GET", idPath("/api/v1/clients/", id), nil, &out)
}

// UpdateClient changes a client's name, grant types or scopes.
func (c *Client) UpdateClient(ctx context.Context, id string, p ClientPatch) (*OAuthClient, error) {
	var out OAuthClient
	return &out, c.Do(ctx, "PATCH", idPath("/api/v1/clients/", id), p, &out)
}

// RotateClientSecret gives a confidential client a new secret, in the
// answer only; the old one stops working.
func (c *Client) RotateClientSecret(ctx context.Context, id string) (*OAuthClient, error) {
	var out OAuthClient
	return &out, c.Do(ctx, "POST", "/api/v1/clients/"+url.PathEscape(id)+"/secret", struct{}{}, &out)
}

// DeleteClient deletes a client with its devices.
func (c *Client) DeleteClient(ctx context.Context, id string) error {
	return c.Do(ctx, "DELETE", idPath("/api/v1/clients/", id), nil, nil)
}

// --- API keys ---

// CreateAPIKey makes a key acting for the caller: a client made
// WithPassword (or, in a browser, the console session). The key is in the
// answer only.
func (c *Client) CreateAPIKey(ctx context.Context, in NewAPIKey) (*APIKey, error) {
	var out APIKey
	return &out, c.Do(ctx, "POST", "/api/v1/api-keys", in, &out)
}

// ListAPIKeys returns the keys the caller may see, never the keys
// themselves.
func (c *Client) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	var out APIKeyList
	return out.Keys, c.Do(ctx, "GET", "/api/v1/api-keys", nil, &out)
}

// DeleteAPIKey revokes a key at once.
func (c *Client) DeleteAPIKey(ctx context.Context, id string) error {
	return c.Do(ctx, "DELETE", idPath("/api/v1/api-keys/", id), nil, nil)
}

// --- Accounts ---

// ListUsers returns every account.
func (c *Client) ListUsers(ctx context.Context) ([]User, error) {
	var out UserList
	return out.Users, c.Do(ctx, "GET", "/api/v1/users", nil, &out)
}

// CreateUser creates an account.
func (c *Client) CreateUser(ctx context.Context, in NewUser) (*User, error) {
	var out User
	return &out, c.Do(ctx, "POST", "/api/v1/users", in, &out)
}

// DeleteUser deletes an account by ID or username.
func (c *Client) DeleteUser(ctx context.Context, idOrName string) error {
	return c.Do(ctx, "DELETE", idPath("/api/v1/users/", idOrName), nil, nil)
}

// SetPassword replaces an account's password.
func (c *Client) SetPassword(ctx context.Context, idOrName string, in NewPassword) (*PasswordSet, error) {
	var out PasswordSet
	return &out, c.Do(ctx, "PUT", idPath("/api/v1/users/", idOrName)+"/password", in, &out)
}

// SetRole changes an account's role.
func (c *Client) SetRole(ctx context.Context, idOrName string, in NewRole) (*User, error) {
	var out User
	return &out, c.Do(ctx, "PUT", idPath("/api/v1/users/", idOrName)+"/role", in, &out)
}

// --- Audit log ---

func (q AuditQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("action", q.Action)
	set("actor", q.Actor)
	set("target", q.Target)
	set("before", q.Before)
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// ListAuditEvents returns one page of the audit log, newest first.
func (c *Client) ListAuditEvents(ctx context.Context, q AuditQuery) (*AuditList, error) {
	var out AuditList
	return &out, c.Do(ctx, "GET", "/api/v1/audit-events?"+q.values().Encode(), nil, &out)
}

// AllAuditEvents follows the pages of the audit log to its end.
func (c *Client) AllAuditEvents(ctx context.Context, q AuditQuery) ([]AuditEvent, error) {
	if q.Limit == 0 {
		q.Limit = MaxPageSize
	}
	var all []AuditEvent
	for {
		page, err := c.ListAuditEvents(ctx, q)
		if err != nil {
			return all, err
		}
		all = append(all, page.Events...)
		if page.Next == "" {
			return all, nil
		}
		q.Before = page.Next
	}
}

// --- Lock-outs ---

// ClearLockout lifts the guessing limits that hold an address or an
// account.
func (c *Client) ClearLockout(ctx context.Context, in Lockout) (*LockoutCleared, error) {
	var out LockoutCleared
	return &out, c.Do(ctx, "POST", "/api/v1/lockouts/clear", in, &out)
}

// ListLockouts returns the guessing limits that refuse someone now.
func (c *Client) ListLockouts(ctx context.Context) ([]LockoutEntry, error) {
	var out LockoutList
	return out.Lockouts, c.Do(ctx, "GET", "/api/v1/lockouts", nil, &out)
}

// LiftLockout lifts one lock-out by its ID.
func (c *Client) LiftLockout(ctx context.Context, id string) (*LockoutEntry, error) {
	var out LockoutEntry
	return &out, c.Do(ctx, "POST", "/api/v1/lockouts/"+url.PathEscape(id)+"/lift", struct{}{}, &out)
}
