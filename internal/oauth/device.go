package oauth

import (
	"net/http"

	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/httpx"
)

// DeviceAuthorization is RFC 8628 §3.1's endpoint, POST /oauth/device/code.
func (h *Handlers) DeviceAuthorization(w http.ResponseWriter, r *http.Request) error {
	p, c, err := h.client(w, r)
	if err != nil {
		return err
	}
	resp, err := h.Grants.StartDeviceAuthorization(r.Context(), c, grants.DeviceRequest{
		Scope: p.Get("scope"), Mode: p.Get("mode"), HardwareID: p.Get("hardware_id"), DeviceName: p.Get("device_name"),
		IP: h.ip(r), UserAgent: r.UserAgent(),
	})
	if err != nil {
		return err
	}
	httpx.NoStore(w)
	return httpx.JSON(w, http.StatusOK, resp)
}

// Pair is the pairing dialect's endpoint, POST /oauth/pair/.
func (h *Handlers) Pair(w http.ResponseWriter, r *http.Request) error {
	p, c, err := h.client(w, r)
	if err != nil {
		return err
	}
	resp, err := h.Grants.StartPairing(r.Context(), c, grants.PairingRequest{
		Scope: p.Get("scope"), Mode: p.Get("mode"), HardwareID: p.Get("hardware_id"), DeviceName: p.Get("device_name"),
		IP: h.ip(r), UserAgent: r.UserAgent(),
	})
	if err != nil {
		return err
	}
	httpx.NoStore(w)
	return httpx.JSON(w, http.StatusOK, resp)
}
