package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// PrinterOptions are the defaults a printer's queue is set up with.
type PrinterOptions struct {
	Duplex    bool   `json:"duplex"`
	Color     bool   `json:"color"`
	PaperSize string `json:"paper_size"` // A4, Letter, Legal, A3, A5, Tabloid, or "" for the printer's own
}

// Printer is a printer deployed to the device.
type Printer struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	URI         string         `json:"uri"` // ipp://, ipps://, socket:// or lpd://
	Location    string         `json:"location"`
	Description string         `json:"description"`
	Model       string         `json:"model"` // "everywhere" (driverless), or a make-and-model
	Driverless  bool           `json:"driverless"`
	Options     PrinterOptions `json:"options"`
	Default     bool           `json:"default"` // the device's default printer; at most one is
}

// PrinterList is what GET /api/v1/device/printers answers, with the ETag
// that identifies it.
type PrinterList struct {
	DeviceID string    `json:"device_id"`
	Printers []Printer `json:"printers"`
	// ETag identifies this list: pass it to the next Printers call, which
	// then answers "not changed" without the list while it is the same.
	ETag string `json:"etag,omitempty"`
}

// Printers asks the server for the printers deployed to the device whose
// credentials c holds (their access token must be valid: take them from
// a TokenSource). With etag, the ETag of the list the device already has,
// it returns changed false and no list while that list is still the one
// the server would give: a fleet polls cheaply. The error wraps
// ErrNotAuthorized when the server no longer accepts the device (it was
// deleted or its authorization revoked), ErrRejected when its token was
// not issued for printing, ErrUnavailable when the server cannot answer.
func Printers(ctx context.Context, hc *http.Client, c *Credentials, etag string) (list *PrinterList, changed bool, err error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.Issuer, "/")+"/api/v1/device/printers", nil)
	if err != nil {
		return nil, false, fmt.Errorf("printers: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if c.Key != nil && strings.EqualFold(c.TokenType, "DPoP") {
		// RFC 9449 §7.1, as Whoami: the token under its own scheme, with
		// a proof that covers it.
		req.Header.Set("Authorization", "DPoP "+c.AccessToken)
		hc = dpopClient(hc, c.Key, c.AccessToken)
	} else {
		req.Header.Set("Authorization", "Bearer "+c.AccessToken)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, false, unavailable(ctx, "printers", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, false, unavailable(ctx, "printers", err)
	}
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return nil, false, nil
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, false, fmt.Errorf("%w: the server does not accept the device's access token", ErrNotAuthorized)
	case resp.StatusCode == http.StatusForbidden:
		return nil, false, fmt.Errorf("%w: printers: the device's token is not for printing (scope %q): %.200s", ErrRejected, c.Scope, body)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return nil, false, fmt.Errorf("%w: printers: HTTP %d", ErrUnavailable, resp.StatusCode)
	default:
		return nil, false, fmt.Errorf("printers: HTTP %d: %.200s", resp.StatusCode, body)
	}
	var l PrinterList
	if err := json.Unmarshal(body, &l); err != nil {
		return nil, false, fmt.Errorf("printers: %w", err)
	}
	l.ETag = resp.Header.Get("ETag")
	return &l, true, nil
}
