package ratelimit_test

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/ratelimit"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/sqlstore"
	"github.com/pairgate/pairgate/internal/testenv"
)

func TestAllowCountsInOrderAndStopsAtTheFirstRefusal(t *testing.T) {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, testenv.SQLiteDSN(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	keys, _ := secret.NewKeys(secret.NewMasterKey())
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var refused []string
	l := ratelimit.New(store, keys, func() time.Time { return now }, func(rule string) { refused = append(refused, rule) })
	perIP := ratelimit.Rule{Name: "ip", Limit: 2, Window: 10 * time.Minute}
	perCode := ratelimit.Rule{Name: "code", Limit: 3, Window: 10 * time.Minute}

	for i := range 2 {
		if err := l.Allow(ctx, ratelimit.Hit{Rule: perIP, Subject: "192.0.2.1"}, ratelimit.Hit{Rule: perCode, Subject: "ABCD-EFGH"}); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	now = now.Add(3 * time.Minute)
	err = l.Allow(ctx, ratelimit.Hit{Rule: perIP, Subject: "192.0.2.1"}, ratelimit.Hit{Rule: perCode, Subject: "ABCD-EFGH"})
	if pairgate.ErrorCode(err) != pairgate.ERATELIMITED || pairgate.RetryAfter(err) != 7*time.Minute {
		t.Fatalf("third attempt from one address: %v (retry %v), want rate_limited after 7m", err, pairgate.RetryAfter(err))
	}
	if msg := pairgate.ErrorMessage(err); msg != "too many attempts; try again in 7 minutes" {
		t.Fatalf("message %q", msg)
	}
	// The refused attempt did not count against the code: it still has one
	// attempt left, from another address.
	if err := l.Allow(ctx, ratelimit.Hit{Rule: perIP, Subject: "192.0.2.2"}, ratelimit.Hit{Rule: perCode, Subject: "ABCD-EFGH"}); err != nil {
		t.Fatalf("third attempt on the code: %v", err)
	}
	err = l.Allow(ctx, ratelimit.Hit{Rule: perIP, Subject: "192.0.2.3"}, ratelimit.Hit{Rule: perCode, Subject: "ABCD-EFGH"})
	if pairgate.ErrorCode(err) != pairgate.ERATELIMITED {
		t.Fatalf("fourth attempt on the code: %v", err)
	}
	if len(refused) != 2 || refused[0] != "ip" || refused[1] != "code" {
		t.Fatalf("refusals reported: %v", refused)
	}
	// Rules with the same subject do not share a counter.
	if err := l.Allow(ctx, ratelimit.Hit{Rule: ratelimit.Rule{Name: "other", Limit: 1, Window: time.Minute}, Subject: "192.0.2.1"}); err != nil {
		t.Fatalf("another rule on a limited address: %v", err)
	}
}

// TestSubjectsReachTheStoreOnlyHashed: what is counted is attacker input;
// a secret (a typed code, a browser's token) reaches the database as its
// keyed hash only. The rule's name, and the subject of a rule that is
// Shown (an address, an account name, which the lock-out list names),
// are kept beside the hash, never in the key.
func TestSubjectsReachTheStoreOnlyHashed(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.SQLiteDSN(t)
	store, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := secret.NewKeys(secret.NewMasterKey())
	l := ratelimit.New(store, keys, time.Now, func(string) {})
	subject := "very-recognisable-subject-4711"
	if err := l.Allow(ctx, ratelimit.Hit{Rule: ratelimit.Rule{Name: "code", Limit: 5, Window: time.Minute}, Subject: subject}); err != nil {
		t.Fatal(err)
	}
	if err := l.Allow(ctx, ratelimit.Hit{Rule: ratelimit.SignInPerAccount, Subject: "shown-account-4712"}); err != nil {
		t.Fatal(err)
	}
	ls, err := store.ListLockouts(ctx, time.Now(), 10)
	if err != nil || len(ls) != 0 {
		t.Fatalf("lock-outs after one attempt each: %v %v", ls, err)
	}
	store.IntegrityCheck(ctx)
	store.Close()
	if n := testenv.RowCounts(t, dsn)["rate_limits"]; n != 2 {
		t.Fatalf("%d rate_limits rows, want 2", n)
	}
	shown := false
	for _, f := range []string{dsn, dsn + "-wal"} {
		b, _ := os.ReadFile(f) // the WAL may have been checkpointed away
		if bytes.Contains(b, []byte(subject)) {
			t.Fatalf("%s holds the counted code in plaintext", f)
		}
		shown = shown || bytes.Contains(b, []byte("shown-account-4712"))
	}
	if !shown {
		t.Fatal("the account a Shown rule counts is not kept for the lock-out list")
	}
}

func TestIn(t *testing.T) {
	for d, want := range map[time.Duration]string{
		500 * time.Millisecond:  "in a second",
		1500 * time.Millisecond: "in 2 seconds",
		59 * time.Second:        "in 59 seconds",
		time.Minute:             "in a minute",
		61 * time.Second:        "in 2 minutes",
		7 * time.Minute:         "in 7 minutes",
		time.Hour:               "in an hour",
		90 * time.Minute:        "in 2 hours",
	} {
		if got := ratelimit.In(d); got != want {
			t.Errorf("In(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestTakeAndRefund: a reservation given back makes room again, so that a
// limit counted before the lookup still limits failures only.
func TestTakeAndRefund(t *testing.T) {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, testenv.SQLiteDSN(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	keys, _ := secret.NewKeys(secret.NewMasterKey())
	l := ratelimit.New(store, keys, time.Now, func(string) {})
	rule := ratelimit.Rule{Name: "failures", Limit: 2, Window: time.Minute}
	for i := range 10 {
		res, err := l.Take(ctx, ratelimit.Hit{Rule: rule, Subject: "198.51.100.7"})
		if err != nil {
			t.Fatalf("attempt %d refused although every one before was given back: %v", i+1, err)
		}
		if err := res.Refund(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := l.Take(ctx, ratelimit.Hit{Rule: rule, Subject: "198.51.100.7"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Take(ctx, ratelimit.Hit{Rule: rule, Subject: "198.51.100.7"}); pairgate.ErrorCode(err) != pairgate.ERATELIMITED {
		t.Fatalf("third kept attempt: %v", err)
	}
}

// TestSourceKeysIPv6OnTheSlash64: one host is routinely given a /64; each
// of its addresses must not get a budget of its own.
func TestSourceKeysIPv6OnTheSlash64(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":            "192.0.2.1",
		"::ffff:192.0.2.1":     "192.0.2.1",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":      "2001:db8:1:3::/64",
		"not an address":       "not an address",
	} {
		if got := ratelimit.Source(in); got != want {
			t.Errorf("Source(%q) = %q, want %q", in, got, want)
		}
	}
}
