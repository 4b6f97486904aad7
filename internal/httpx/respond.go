package httpx

import (
	"encoding/json"
	"net/http"
)

// JSON writes v as a JSON response.
func JSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}

// NoStore marks a response as never to be cached: every response that
// carries a token or a code (RFC 6749 §5.1, RFC 8628 §3.2).
func NoStore(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

// SecurityHeaders sets the headers every pairgate response carries: no
// framing anywhere, no MIME sniffing, no referrer leaking codes in URLs.
func SecurityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
}
