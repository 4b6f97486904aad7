package oauth

import (
	"net/http"
	"net/url"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/httpx"
)

func deviceRequest(p url.Values, c *pairgate.Client, ip string, r *http.Request) grants.DeviceRequest {
	return grants.DeviceRequest{Client: c, Scope: p.Get("scope"), Mode: p.Get("mode"), HardwareID: p.Get("hardware_id"),
		DeviceName: p.Get("device_name"), IP: ip, UserAgent: r.UserAgent(), DPoP: proofOf(r)}
}

// DeviceAuthorization is RFC 8628 §3.1's endpoint, POST /oauth/device/code.
func (h *Handlers) DeviceAuthorization(w http.ResponseWriter, r *http.Request) error {
	p, c, err := h.client(w, r)
	if err != nil {
		return err
	}
	release, err := h.admission.Admit(r.Context())
	if err != nil {
		return err
	}
	defer release()
	resp, err := h.grants.StartDeviceAuthorization(r.Context(), deviceRequest(p, c, h.clientIP(r), r))
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
	release, err := h.admission.Admit(r.Context())
	if err != nil {
		return err
	}
	defer release()
	resp, err := h.grants.StartPairing(r.Context(), deviceRequest(p, c, h.clientIP(r), r))
	if err != nil {
		return err
	}
	httpx.NoStore(w)
	return httpx.JSON(w, http.StatusOK, resp)
}
