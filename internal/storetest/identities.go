package storetest

import (
	"bytes"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
)

func newUpstreamUser(name string) *pairgate.User {
	return &pairgate.User{ID: id("usr_"), Username: name, Role: pairgate.RoleUser, CreatedAt: t0, PasswordChangedAt: t0}
}

func ident(issuer, subject string, at time.Time) *pairgate.UserIdentity {
	return &pairgate.UserIdentity{Issuer: issuer, Subject: subject, Provider: "corp", CreatedAt: at, LastSignInAt: at}
}

// testSignInUpstream: the first sign-in of an identity creates its account
// and links it; later ones find it by issuer and subject alone, whatever
// name they propose; a name that is taken, a local account's above all,
// is never linked; deleting the account removes the link.
func testSignInUpstream(t *testing.T, s pairgate.Store) {
	local := mkUser(t, s, "alice", pairgate.RoleAdmin)

	// A provider's "alice" never becomes the local alice.
	_, _, err := s.SignInUpstream(ctx(t), ident("https://idp", "sub-1", t0), newUpstreamUser("alice"))
	wantCode(t, err, pairgate.ECONFLICT)
	if ids, err := s.ListUserIdentities(ctx(t), local.ID); err != nil || len(ids) != 0 {
		t.Fatalf("the local account got identities %v (%v)", ids, err)
	}
	nu := newUpstreamUser("alice-corp")
	u, created, err := s.SignInUpstream(ctx(t), ident("https://idp", "sub-1", t0), nu)
	must(t, err)
	if !created || u.ID != nu.ID || u.Username != "alice-corp" || u.PasswordHash != "" {
		t.Fatalf("first sign-in: created %v, %+v", created, u)
	}
	// The same subject at another issuer is another person.
	other, created, err := s.SignInUpstream(ctx(t), ident("https://other-idp", "sub-1", t0), newUpstreamUser("alice-other"))
	must(t, err)
	if !created || other.ID == u.ID {
		t.Fatalf("same subject at another issuer: created %v, %s", created, other.ID)
	}
	// The next sign-in finds the account whatever name it proposes.
	later := t0.Add(time.Hour)
	again, created, err := s.SignInUpstream(ctx(t), ident("https://idp", "sub-1", later), newUpstreamUser("someone-else"))
	must(t, err)
	if created || again.ID != u.ID {
		t.Fatalf("second sign-in: created %v, %s, want %s", created, again.ID, u.ID)
	}
	ids, err := s.ListUserIdentities(ctx(t), u.ID)
	must(t, err)
	if len(ids) != 1 || ids[0].Issuer != "https://idp" || ids[0].Subject != "sub-1" || ids[0].Provider != "corp" ||
		ids[0].UserID != u.ID || !ids[0].CreatedAt.Equal(t0) || !ids[0].LastSignInAt.Equal(later) {
		t.Fatalf("identities: %+v", ids)
	}
	if _, err := s.GetUserByUsername(ctx(t), "someone-else"); pairgate.ErrorCode(err) != pairgate.ENOTFOUND {
		t.Fatalf("a later sign-in made an account: %v", err)
	}
	must(t, s.DeleteUser(ctx(t), u.ID, later))
	ids, err = s.ListUserIdentities(ctx(t), u.ID)
	must(t, err)
	if len(ids) != 0 {
		t.Fatalf("a deleted account keeps identities: %+v", ids)
	}
	// With the account gone, the identity's next sign-in starts afresh.
	fresh, created, err := s.SignInUpstream(ctx(t), ident("https://idp", "sub-1", later), newUpstreamUser("alice-corp"))
	must(t, err)
	if !created || fresh.ID == u.ID {
		t.Fatalf("sign-in after deletion: created %v, %s", created, fresh.ID)
	}
}

// testSignInUpstreamRace: many first sign-ins of one identity at once
// create exactly one account, and all of them get it.
func testSignInUpstreamRace(t *testing.T, s pairgate.Store) {
	const n = 16
	var wg sync.WaitGroup
	got := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, _, err := s.SignInUpstream(ctx(t), ident("https://idp", "racer", t0), newUpstreamUser("racer"))
			errs[i] = err
			if err == nil {
				got[i] = u.ID
			}
		}()
	}
	waitOrDump(t, &wg)
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("sign-in %d: %v", i, errs[i])
		}
		if got[i] != got[0] {
			t.Fatalf("sign-ins got accounts %s and %s", got[0], got[i])
		}
	}
	users, err := s.ListUsers(ctx(t))
	must(t, err)
	if len(users) != 1 {
		t.Fatalf("%d accounts after concurrent first sign-ins, want 1", len(users))
	}
}

// testUpstreamStates: a state is taken once, an expired one is refused,
// and garbage collection removes the expired ones.
func testUpstreamStates(t *testing.T, s pairgate.Store) {
	st := &pairgate.UpstreamState{StateHash: rnd(32), Provider: "corp", BindingHash: rnd(32), Next: "/admin",
		CreatedAt: t0, ExpiresAt: t0.Add(pairgate.UpstreamStateTTL)}
	must(t, s.CreateUpstreamState(ctx(t), st))
	wantCode(t, s.CreateUpstreamState(ctx(t), st), pairgate.ECONFLICT)
	got, err := s.TakeUpstreamState(ctx(t), st.StateHash, t0.Add(time.Minute))
	must(t, err)
	if got.Provider != "corp" || !bytes.Equal(got.BindingHash, st.BindingHash) || got.Next != "/admin" ||
		!got.CreatedAt.Equal(t0) || !got.ExpiresAt.Equal(st.ExpiresAt) {
		t.Fatalf("state round trip: %+v", got)
	}
	_, err = s.TakeUpstreamState(ctx(t), st.StateHash, t0.Add(time.Minute))
	wantCode(t, err, pairgate.ENOTFOUND)

	late := &pairgate.UpstreamState{StateHash: rnd(32), Provider: "corp", BindingHash: rnd(32), CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
	must(t, s.CreateUpstreamState(ctx(t), late))
	_, err = s.TakeUpstreamState(ctx(t), late.StateHash, t0.Add(time.Minute))
	wantCode(t, err, pairgate.EEXPIRED)
	_, err = s.TakeUpstreamState(ctx(t), late.StateHash, t0)
	wantCode(t, err, pairgate.ENOTFOUND)

	old := &pairgate.UpstreamState{StateHash: rnd(32), Provider: "corp", BindingHash: rnd(32), CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
	must(t, s.CreateUpstreamState(ctx(t), old))
	r, err := s.GarbageCollect(ctx(t), t0.Add(time.Minute))
	must(t, err)
	if r.UpstreamStates != 1 {
		t.Fatalf("garbage collection removed %d upstream states, want 1", r.UpstreamStates)
	}
	_, err = s.TakeUpstreamState(ctx(t), old.StateHash, t0)
	wantCode(t, err, pairgate.ENOTFOUND)
}

// testUpstreamStateTakenOnce: of concurrent callbacks with one state,
// exactly one finishes the sign-in.
func testUpstreamStateTakenOnce(t *testing.T, s pairgate.Store) {
	st := &pairgate.UpstreamState{StateHash: rnd(32), Provider: "corp", BindingHash: rnd(32), CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
	must(t, s.CreateUpstreamState(ctx(t), st))
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.TakeUpstreamState(ctx(t), st.StateHash, t0)
			mu.Lock()
			defer mu.Unlock()
			switch pairgate.ErrorCode(err) {
			case "":
				won++
			case pairgate.ENOTFOUND:
			default:
				t.Errorf("take: %v", err)
			}
		}()
	}
	waitOrDump(t, &wg)
	if won != 1 {
		t.Fatalf("%d callbacks took one state, want 1", won)
	}
}

// testClientDeviceFlowPolicy: a client's phishing defences round-trip.
func testClientDeviceFlowPolicy(t *testing.T, s pairgate.Store) {
	p := pairgate.DeviceFlowPolicy{Disabled: true, Networks: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"),
		netip.MustParsePrefix("2001:db8::/48")}, ApprovalPrefixV4: 24, ApprovalPrefixV6: 56}
	c := &pairgate.Client{ID: "guarded", Name: "Guarded", Public: true, GrantTypes: pairgate.AllGrantTypes, CreatedAt: t0, DeviceFlow: p}
	must(t, s.CreateClient(ctx(t), c))
	check := func(want pairgate.DeviceFlowPolicy) {
		t.Helper()
		got, err := s.GetClient(ctx(t), c.ID)
		must(t, err)
		g := got.DeviceFlow
		if g.Disabled != want.Disabled || !slices.Equal(g.Networks, want.Networks) || g.ApprovalPrefixV4 != want.ApprovalPrefixV4 ||
			g.ApprovalPrefixV6 != want.ApprovalPrefixV6 {
			t.Fatalf("policy = %+v, want %+v", g, want)
		}
		list, err := s.ListClients(ctx(t))
		must(t, err)
		if len(list) != 1 || list[0].DeviceFlow.Disabled != want.Disabled || !slices.Equal(list[0].DeviceFlow.Networks, want.Networks) {
			t.Fatalf("listed policy = %+v", list[0].DeviceFlow)
		}
	}
	check(p)
	must(t, s.SetClientDeviceFlowPolicy(ctx(t), c.ID, pairgate.DeviceFlowPolicy{}))
	check(pairgate.DeviceFlowPolicy{})
	must(t, s.SetClientDeviceFlowPolicy(ctx(t), c.ID, p))
	check(p)
	wantCode(t, s.SetClientDeviceFlowPolicy(ctx(t), "nope", p), pairgate.ENOTFOUND)
}
