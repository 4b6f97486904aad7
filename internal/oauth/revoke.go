package oauth

import (
	"net/http"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/httpx"
)

// Revoke is RFC 7009's endpoint, POST /oauth/revoke.
func (h *Handlers) Revoke(w http.ResponseWriter, r *http.Request) error {
	p, c, err := h.client(w, r)
	if err != nil {
		return err
	}
	ctx, cancel := background(r.Context())
	defer cancel()
	if err := h.grants.Revoke(ctx, grants.RevokeRequest{Client: c, Token: p.Get("token"), TokenTypeHint: p.Get("token_type_hint")}); err != nil {
		return err
	}
	httpx.NoStore(w)
	w.WriteHeader(http.StatusOK)
	return nil
}

// Introspect is RFC 7662's endpoint, POST /oauth/introspect. Only
// confidential clients (resource servers) may ask.
func (h *Handlers) Introspect(w http.ResponseWriter, r *http.Request) error {
	p, c, err := h.client(w, r)
	if err != nil {
		return err
	}
	if c.Public {
		return &pairgate.Error{Code: pairgate.EUNAUTHORIZED, Message: "introspection needs a confidential client"}
	}
	res, err := h.grants.Introspect(r.Context(), p.Get("token"))
	if err != nil {
		return err
	}
	httpx.NoStore(w)
	return httpx.JSON(w, http.StatusOK, res)
}
