package verify

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

// VerifyRequest verifies the access token a request carries: as a Bearer
// token, or, for a token bound to a device key, with the DPoP scheme and a
// proof by that key (RFC 9449 §7).
func (v *Verifier) VerifyRequest(r *http.Request) (*Token, error) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || tok == "" {
		return nil, ErrNoToken
	}
	tok = strings.TrimSpace(tok)
	switch strings.ToLower(scheme) {
	case "bearer":
		t, err := v.verify(r.Context(), tok)
		if err != nil {
			return nil, err
		}
		if t.JKT != "" {
			// §7.2: a key-bound token presented as Bearer is refused,
			// or anyone who saw it could use it.
			return nil, errors.Join(ErrInvalidToken, errors.New("the token is bound to a device key: present it with the DPoP scheme and a proof"))
		}
		return t, nil
	case "dpop":
		t, err := v.verify(r.Context(), tok)
		if err != nil {
			return nil, err
		}
		if t.JKT == "" {
			return nil, errors.Join(ErrInvalidToken, errors.New("a Bearer token presented with the DPoP scheme"))
		}
		if err := v.checkProof(r.Context(), r, tok, t.JKT); err != nil {
			return nil, err
		}
		return t, nil
	}
	return nil, ErrNoToken
}

type ctxKey struct{}

// FromContext returns the token Middleware verified for the request.
func FromContext(ctx context.Context) (*Token, bool) {
	t, ok := ctx.Value(ctxKey{}).(*Token)
	return t, ok
}

// Middleware lets through requests with a valid access token, with the
// token in their context (FromContext), and answers the others as RFC 6750
// §3 and RFC 9449 §7.1 say: 401 with a WWW-Authenticate challenge, 403 for
// a missing scope, 503 when the token's status cannot be known.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := v.VerifyRequest(r)
		if err != nil {
			v.WriteError(w, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, t)))
	})
}

// WriteError answers a request whose token failed verification.
func (v *Verifier) WriteError(w http.ResponseWriter, err error) {
	challenge := func(code, desc string) {
		for _, scheme := range []string{"Bearer", "DPoP"} {
			h := scheme + ` realm="` + v.cfg.Issuer + `"`
			if code != "" {
				h += `, error="` + code + `", error_description="` + desc + `"`
			}
			if scheme == "DPoP" {
				h += `, algs="ES256 EdDSA ES384 RS256 PS256"`
			}
			w.Header().Add("WWW-Authenticate", h)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case errors.Is(err, ErrNoToken):
		challenge("", "")
		http.Error(w, "an access token is required", http.StatusUnauthorized)
	case errors.Is(err, ErrInsufficientScope):
		challenge("insufficient_scope", "the token lacks a required scope")
		http.Error(w, "the access token lacks a required scope", http.StatusForbidden)
	case errors.Is(err, ErrStatusUnavailable):
		w.Header().Set("Retry-After", "10")
		http.Error(w, "the token's status cannot be checked right now", http.StatusServiceUnavailable)
	case errors.Is(err, ErrInvalidProof):
		challenge("invalid_dpop_proof", "the DPoP proof is invalid")
		http.Error(w, "the DPoP proof is invalid", http.StatusUnauthorized)
	default:
		challenge("invalid_token", "the access token is invalid, expired or revoked")
		http.Error(w, "the access token is invalid, expired or revoked", http.StatusUnauthorized)
	}
}
