package printing

import (
	"context"
	"errors"

	"github.com/pairgate/pairgate"
)

// Scopes that let a device's access token read its printers: printing
// (what the default client grants) or the narrower deployments.
const (
	ScopePrinting    = "printing"
	ScopeDeployments = "deployments"
	// ScopePortal is what a browser authorized as a device holds.
	ScopePortal = "portal"
)

// Service answers devices about the printers deployed to them.
type Service struct {
	store pairgate.Store
}

// NewService returns the device side of deployments.
func NewService(store pairgate.Store) (*Service, error) {
	if store == nil {
		return nil, errors.New("printing: a store is required")
	}
	return &Service{store: store}, nil
}

var errScope = &pairgate.Error{Code: pairgate.EFORBIDDEN,
	Message: "the access token's scope does not include printing (or deployments): authorize the device with scope printing"}

// ForDevice returns the printers deployed to d, an authenticated device
// whose access token carries scopes. EFORBIDDEN when the token was not
// issued for printing.
func (s *Service) ForDevice(ctx context.Context, d *pairgate.Device, scopes pairgate.Scopes) ([]pairgate.DevicePrinter, error) {
	if !scopes.Contains(ScopePrinting) && !scopes.Contains(ScopeDeployments) {
		return nil, errScope
	}
	return s.store.PrintersForDevice(ctx, d)
}

// ForBrowser returns the printers deployed to d, a browser authorized as a
// device, for the Self-service Portal. EFORBIDDEN when its authorization
// does not include the portal.
func (s *Service) ForBrowser(ctx context.Context, d *pairgate.Device) ([]pairgate.DevicePrinter, error) {
	if !d.Scopes.Contains(ScopePortal) && !d.Scopes.Contains(ScopePrinting) {
		return nil, &pairgate.Error{Code: pairgate.EFORBIDDEN, Message: "this browser's authorization does not include the portal"}
	}
	return s.store.PrintersForDevice(ctx, d)
}
