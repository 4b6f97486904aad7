package pairgate

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestShortenCutsOnCharacterBoundaries(t *testing.T) {
	// 255 ASCII bytes then é (two bytes): a cut at 256 bytes would split it.
	ua := strings.Repeat("a", 255) + "é"
	got := Shorten(ua, 256)
	if !utf8.ValidString(got) || got != strings.Repeat("a", 255) {
		t.Fatalf("Shorten cut into a character: %q", got[250:])
	}
	if got := Shorten("ok\xffgo", 10); got != "ok\uFFFDgo" {
		t.Fatalf("invalid UTF-8 kept: %q", got)
	}
	if got := Shorten("short", 10); got != "short" {
		t.Fatalf("short text changed: %q", got)
	}
	if got := Shorten("éé", 1); got != "" {
		t.Fatalf("a cut inside the first character: %q", got)
	}
}
