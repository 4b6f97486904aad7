package httpx

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
)

// StrongETag is a strong entity tag (RFC 9110 §8.8.3) for a body: a hash
// of its bytes, so that it changes exactly when the body does, on every
// replica alike.
func StrongETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}

// NoneMatch reports whether the request's If-None-Match holds etag or
// "*": the client has this representation already, and 304 Not Modified
// is the answer. The comparison is weak, as RFC 9110 §13.1.2 requires for
// If-None-Match: W/"x" matches "x".
func NoneMatch(r *http.Request, etag string) bool {
	for _, h := range r.Header.Values("If-None-Match") {
		for _, t := range strings.Split(h, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || strings.TrimPrefix(t, "W/") == strings.TrimPrefix(etag, "W/") {
				return true
			}
		}
	}
	return false
}
