package oauth

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/dpop"
)

// Metadata serves RFC 8414 authorization server metadata, at both
// /.well-known/oauth-authorization-server and
// /.well-known/openid-configuration (where many libraries look).
func (h *Handlers) Metadata(w http.ResponseWriter, r *http.Request) error {
	h.metaMu.Lock()
	defer h.metaMu.Unlock()
	if h.meta == nil || time.Now().After(h.metaExp) {
		doc, err := h.metadata(r)
		if err != nil {
			return err
		}
		h.meta, h.metaExp = doc, time.Now().Add(10*time.Second)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, err := w.Write(h.meta)
	return err
}

func (h *Handlers) metadata(r *http.Request) ([]byte, error) {
	clients, err := h.store.ListClients(r.Context())
	if err != nil {
		return nil, err
	}
	var scopes pairgate.Scopes
	for _, c := range clients {
		scopes = append(scopes, c.Scopes...)
	}
	scopes = pairgate.ParseScopes(scopes.String())
	if scopes == nil {
		scopes = pairgate.Scopes{}
	}
	i := h.issuer
	doc := map[string]any{
		"issuer":                                        i,
		"device_authorization_endpoint":                 i + "/oauth/device/code",
		"pairing_endpoint":                              i + "/oauth/pair/",
		"token_endpoint":                                i + "/oauth/token",
		"revocation_endpoint":                           i + "/oauth/revoke",
		"introspection_endpoint":                        i + "/oauth/introspect",
		"jwks_uri":                                      i + "/.well-known/jwks.json",
		"grant_types_supported":                         pairgate.AllGrantTypes,
		"response_types_supported":                      []string{},
		"scopes_supported":                              scopes,
		"token_endpoint_auth_methods_supported":         []string{"none", "client_secret_basic", "client_secret_post"},
		"revocation_endpoint_auth_methods_supported":    []string{"none", "client_secret_basic", "client_secret_post"},
		"introspection_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"dpop_signing_alg_values_supported":             dpop.Algorithms, // RFC 9449 §5.1
	}
	if q := h.heldQueue(); q != "" {
		// An extension (RFC 8414 §2 allows them): where devices print.
		doc["pairgate_held_queue_uri"] = q
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, pairgate.Internal(err, "metadata")
	}
	return append(b, '\n'), nil
}

// JWKS serves the public signing keys.
func (h *Handlers) JWKS(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	_, err := w.Write(h.keyring.JWKS(r.Context()))
	return err
}
