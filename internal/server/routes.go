package server

import (
	"net/http"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/api"
	"github.com/pairgate/pairgate/internal/oauth"
)

// routes is every URL pairgate serves. Paths marked "contract" in DESIGN.md
// section 1 must not change.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	o, a := s.oauth, s.api

	// post registers an OAuth POST endpoint and a JSON 405 for the other
	// methods on the same path.
	post := func(path string, h http.Handler) {
		mux.Handle("POST "+path, h)
		mux.Handle(path, oauth.MethodNotAllowed("POST"))
	}
	get := func(path string, h http.Handler) {
		mux.Handle("GET "+path, h)
		mux.Handle(path, oauth.MethodNotAllowed("GET, HEAD"))
	}

	// Discovery.
	get("/.well-known/oauth-authorization-server", o.Handle(o.Metadata))
	get("/.well-known/openid-configuration", o.Handle(o.Metadata))
	get("/.well-known/jwks.json", o.Handle(o.JWKS))

	// OAuth endpoints. {$} pins a trailing-slash path to itself rather
	// than its whole subtree.
	post("/oauth/device/code", o.Handle(o.DeviceAuthorization))
	post("/oauth/pair", o.Handle(o.Pair))
	post("/oauth/pair/{$}", o.Handle(o.Pair))
	post("/oauth/token", o.Handle(o.Token))
	post("/oauth/access_token", o.Handle(o.Token))
	post("/oauth/access_token/{$}", o.Handle(o.Token))
	post("/oauth/revoke", o.Handle(o.Revoke))
	post("/oauth/introspect", o.Handle(o.Introspect))
	mux.HandleFunc("/oauth/", oauth.NotFound)

	// JSON API.
	mux.Handle("GET /api/v1/device", a.Handle(a.Device))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		api.WriteError(w, r, pairgate.Errorf(pairgate.ENOTFOUND, "no such endpoint"))
	})

	// Operations.
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	if s.metrics != nil {
		mux.Handle("GET /metrics", s.metrics.Handler())
	}

	// Browser pages own everything else.
	if s.web != nil {
		mux.Handle("/", s.web)
	}
	return mux
}
