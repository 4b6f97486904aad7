package web

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestHelpLinksLeadToReadmeSections: every README section a page's Help
// link names exists (a renamed heading would otherwise leave the link at
// the top of the README without a word).
func TestHelpLinksLeadToReadmeSections(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// GitHub's anchors: the heading lower-cased, punctuation dropped,
	// spaces as hyphens.
	anchors := map[string]bool{}
	drop := regexp.MustCompile(`[^\p{L}\p{N}_\- ]`)
	for _, line := range strings.Split(string(readme), "\n") {
		if h, ok := strings.CutPrefix(line, "#"); ok && !strings.HasPrefix(line, "#!") {
			h = strings.TrimSpace(strings.TrimLeft(h, "#"))
			anchors[strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(h), ""), " ", "-")] = true
		}
	}
	used := map[string]bool{}
	for _, a := range pageHelp {
		used[a] = true
	}
	// The console's pages name theirs in code.
	src, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	call := regexp.MustCompile(`helpURL\("([^"]+)"\)`)
	for _, f := range src {
		if !strings.HasSuffix(f.Name(), ".go") || strings.HasSuffix(f.Name(), "_test.go") {
			continue
		}
		b, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
	}
	if len(used) < 5 {
		t.Fatalf("only %d help anchors found: the test no longer sees them", len(used))
	}
	for a := range used {
		if !anchors[a] {
			t.Errorf("a Help link leads to README.md#%s, which no heading makes", a)
		}
	}
}
