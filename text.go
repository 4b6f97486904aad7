package pairgate

import (
	"strings"
	"unicode/utf8"
)

// Shorten makes text that a client sent about itself (a User-Agent, a
// username typed at a failed sign-in) safe to store and show: invalid
// UTF-8 becomes U+FFFD, and it is cut to at most n bytes on a character
// boundary. Cutting at a byte count could split a character, which
// PostgreSQL refuses to store.
func Shorten(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
