package httpx

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// JSON writes v as a JSON response. Nothing is HTML-escaped: "&" stays
// "&" (the pairing dialect's auth_url is compared byte for byte by its
// clients), and JSON is never served as HTML, so the escapes protect
// nothing.
func JSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b := buf.Bytes()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err := w.Write(b)
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
