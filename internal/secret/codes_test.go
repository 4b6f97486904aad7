package secret_test

import (
	"sort"
	"testing"
	"time"

	"github.com/pairgate/pairgate/internal/secret"
)

// TestIDsSortInTheOrderTheyWereMade, also within one millisecond: the
// audit log lists events by ID.
func TestIDsSortInTheOrderTheyWereMade(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 5000 {
		ids = append(ids, secret.NewID("ev_", now.Add(time.Duration(i/1000)*time.Millisecond)))
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatal("IDs made one after another do not sort in that order")
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("duplicate ID %s", id)
		}
		seen[id] = true
	}
	if later := secret.NewID("ev_", now.Add(time.Second)); later <= ids[len(ids)-1] {
		t.Fatal("an ID from a later millisecond sorts before earlier ones")
	}
}

// TestRandomIDsShareNothing: ids made in the same millisecond have no
// common prefix beyond theirs, unlike NewID's.
func TestRandomIDsShareNothing(t *testing.T) {
	a, b := secret.RandomID("br_"), secret.RandomID("br_")
	if len(a) != 29 || a[:11] == b[:11] {
		t.Fatalf("%s and %s look related", a, b)
	}
}
