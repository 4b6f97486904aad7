package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
)

func mkUser(t *testing.T, s pairgate.Store, name, role string) *pairgate.User {
	t.Helper()
	u := &pairgate.User{ID: id("usr_"), Username: name, PasswordHash: "h", Role: role, CreatedAt: t0, PasswordChangedAt: t0}
	must(t, s.CreateUser(ctx(t), u))
	return u
}

func mkUserSession(t *testing.T, s pairgate.Store, u *pairgate.User) *pairgate.Session {
	t.Helper()
	sess := &pairgate.Session{IDHash: rnd(32), UserID: u.ID, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(12 * time.Hour)}
	must(t, s.CreateSession(ctx(t), sess))
	return sess
}

func countAdmins(t *testing.T, s pairgate.Store) int {
	t.Helper()
	all, err := s.ListUsers(ctx(t))
	must(t, err)
	n := 0
	for _, u := range all {
		if u.Role == pairgate.RoleAdmin {
			n++
		}
	}
	return n
}

// testSetUserRole: a role change ends the account's sessions; demoting or
// deleting the last admin is refused.
func testSetUserRole(t *testing.T, s pairgate.Store) {
	a := mkUser(t, s, "ann", pairgate.RoleAdmin)
	b := mkUser(t, s, "ben", pairgate.RoleAdmin)
	u := mkUser(t, s, "uma", pairgate.RoleUser)
	wantCode(t, s.SetUserRole(ctx(t), "usr_nope", pairgate.RoleUser, t0), pairgate.ENOTFOUND)
	wantCode(t, s.SetUserRole(ctx(t), u.ID, "", t0), pairgate.EINVALID)

	uSess := mkUserSession(t, s, u)
	must(t, s.SetUserRole(ctx(t), u.ID, pairgate.RoleDeviceManager, t0))
	got, err := s.GetUser(ctx(t), u.ID)
	must(t, err)
	if got.Role != pairgate.RoleDeviceManager {
		t.Fatalf("role after change = %q", got.Role)
	}
	_, err = s.GetSession(ctx(t), uSess.IDHash, t0)
	wantCode(t, err, pairgate.ENOTFOUND)

	// A demoted admin's console sessions end at once.
	bSess := mkUserSession(t, s, b)
	must(t, s.SetUserRole(ctx(t), b.ID, pairgate.RoleAuditor, t0))
	_, err = s.GetSession(ctx(t), bSess.IDHash, t0)
	wantCode(t, err, pairgate.ENOTFOUND)

	// ann is the last admin now.
	aSess := mkUserSession(t, s, a)
	wantCode(t, s.SetUserRole(ctx(t), a.ID, pairgate.RoleUser, t0), pairgate.ECONFLICT)
	wantCode(t, s.DeleteUser(ctx(t), a.ID, t0), pairgate.ECONFLICT)
	// Setting the role an account has is no change and ends nothing.
	must(t, s.SetUserRole(ctx(t), a.ID, pairgate.RoleAdmin, t0))
	if _, err := s.GetSession(ctx(t), aSess.IDHash, t0); err != nil {
		t.Fatalf("a role left as it was ended a session: %v", err)
	}
	if n := countAdmins(t, s); n != 1 {
		t.Fatalf("%d admins, want 1", n)
	}
	// Deleting non-admins is never held up by the rule.
	must(t, s.DeleteUser(ctx(t), b.ID, t0))
	// With another admin, the first may go.
	must(t, s.SetUserRole(ctx(t), u.ID, pairgate.RoleAdmin, t0))
	must(t, s.DeleteUser(ctx(t), a.ID, t0))
	if n := countAdmins(t, s); n != 1 {
		t.Fatalf("%d admins, want 1", n)
	}
}

// testLastAdminUnderConcurrency: two admins removing each other at the same
// instant, by deletion or demotion, in both orders: exactly one succeeds and
// one admin always remains (issue 11, case 4).
func testLastAdminUnderConcurrency(t *testing.T, s pairgate.Store) {
	remove := map[string]func(id string) error{
		"delete": func(id string) error { return s.DeleteUser(ctx(t), id, t0) },
		"demote": func(id string) error { return s.SetUserRole(ctx(t), id, pairgate.RoleUser, t0) },
	}
	pairs := [][2]string{{"delete", "delete"}, {"demote", "demote"}, {"delete", "demote"}, {"demote", "delete"}}
	survivor := mkUser(t, s, "first-admin", pairgate.RoleAdmin)
	for i := range 25 * len(pairs) {
		ops := pairs[i%len(pairs)]
		other := mkUser(t, s, id("admin-"), pairgate.RoleAdmin)
		targets := [2]*pairgate.User{survivor, other}
		if i/len(pairs)%2 == 1 { // both orders
			targets[0], targets[1] = targets[1], targets[0]
		}
		var wg sync.WaitGroup
		var errs [2]error
		start := make(chan struct{})
		for j := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[j] = remove[ops[j]](targets[j].ID)
			}()
		}
		close(start)
		waitOrDump(t, &wg)
		if n := countAdmins(t, s); n != 1 {
			t.Fatalf("iteration %d (%s %s, %s %s): %d admins remain, want 1 (errors %v)",
				i, ops[0], targets[0].Username, ops[1], targets[1].Username, n, errs)
		}
		ok := 0
		for j, err := range errs {
			if err == nil {
				ok++
				survivor = targets[1-j]
			} else {
				wantCode(t, err, pairgate.ECONFLICT)
			}
		}
		if ok != 1 {
			t.Fatalf("iteration %d: %d of 2 removals succeeded, want 1 (%v)", i, ok, errs)
		}
	}
}
