package storetest

import (
	"fmt"
	"testing"

	"github.com/pairgate/pairgate"
)

// testNonUTF8Input: text that is not valid UTF-8 reaches a store only by
// mistake (the transports refuse it), but when it does, it is the caller's
// error, never an internal one: PostgreSQL refuses such text outright
// (SQLSTATE 22021), SQLite stores bytes and simply finds nothing.
func testNonUTF8Input(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	issued(t, s, c, "hw-utf8")
	clientError := func(what string, err error, ok ...string) {
		t.Helper()
		code := pairgate.ErrorCode(err)
		for _, o := range ok {
			if code == o {
				return
			}
		}
		t.Errorf("%s with non-UTF-8 input: %q (%v), want one of %q", what, code, err, ok)
	}
	bad := "pr\xffnt"
	_, err := s.GetClient(ctx(t), bad)
	clientError("GetClient", err, pairgate.ENOTFOUND, pairgate.EINVALID)
	_, err = s.GetUserByUsername(ctx(t), bad)
	clientError("GetUserByUsername", err, pairgate.ENOTFOUND, pairgate.EINVALID)
	_, err = s.GetUser(ctx(t), bad)
	clientError("GetUser", err, pairgate.ENOTFOUND, pairgate.EINVALID)
	_, err = s.GetDevice(ctx(t), bad)
	clientError("GetDevice", err, pairgate.ENOTFOUND, pairgate.EINVALID)
	// A list that matches nothing is no error either.
	_, err = s.ListDevices(ctx(t), pairgate.DeviceFilter{Search: bad})
	clientError("ListDevices by search", err, "", pairgate.EINVALID)
	_, err = s.ListDevices(ctx(t), pairgate.DeviceFilter{ClientID: bad, After: bad})
	clientError("ListDevices by client", err, "", pairgate.EINVALID)
	_, err = s.ListAuditEvents(ctx(t), pairgate.AuditFilter{Action: bad, Target: bad})
	clientError("ListAuditEvents", err, "", pairgate.EINVALID)
	clientError("DeleteAPIKey", s.DeleteAPIKey(ctx(t), bad), pairgate.ENOTFOUND, pairgate.EINVALID)
	clientError("DeleteClient", s.DeleteClient(ctx(t), bad, t0), pairgate.ENOTFOUND, pairgate.EINVALID)
	// Writes are refused the same way, and write nothing.
	err = s.CreateClient(ctx(t), &pairgate.Client{ID: bad, Name: bad, Public: true, GrantTypes: pairgate.AllGrantTypes, CreatedAt: t0})
	clientError("CreateClient", err, "", pairgate.EINVALID)
}

// testPageLimit: a store honours every Limit up to MaxPageSize+1, so that
// a caller asking for one row more than a full page learns that there is
// a next page, and refuses a larger one instead of cutting it silently.
func testPageLimit(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	const n = pairgate.MaxPageSize + 2
	for i := range n {
		d := &pairgate.Device{ID: fmt.Sprintf("dev_%05d", i), ClientID: c.ID, Name: "Printer", Mode: pairgate.ModeDevice,
			AuthMethod: pairgate.AuthByAuthorizationCode, AuthorizedAt: t0, LastSeenAt: t0}
		_, err := s.IssueRefreshFamily(ctx(t), d, family(c.ID, d.ID, t0), newToken(t0))
		must(t, err)
		must(t, s.AppendAuditEvent(ctx(t), &pairgate.AuditEvent{ID: fmt.Sprintf("ev_%05d", i), Time: t0, Action: pairgate.AuditDeviceAuthorized}))
	}
	for _, limit := range []int{pairgate.MaxPageSize, pairgate.MaxPageSize + 1} {
		devs, err := s.ListDevices(ctx(t), pairgate.DeviceFilter{Limit: limit})
		must(t, err)
		events, err := s.ListAuditEvents(ctx(t), pairgate.AuditFilter{Limit: limit})
		must(t, err)
		if len(devs) != limit || len(events) != limit {
			t.Fatalf("limit %d: %d devices, %d events", limit, len(devs), len(events))
		}
	}
	devs, err := s.ListDevices(ctx(t), pairgate.DeviceFilter{})
	must(t, err)
	events, err := s.ListAuditEvents(ctx(t), pairgate.AuditFilter{})
	must(t, err)
	if len(devs) != pairgate.MaxPageSize || len(events) != pairgate.MaxPageSize {
		t.Fatalf("no limit: %d devices, %d events; want a page of %d", len(devs), len(events), pairgate.MaxPageSize)
	}
	for _, limit := range []int{-1, pairgate.MaxPageSize + 2} {
		_, err := s.ListDevices(ctx(t), pairgate.DeviceFilter{Limit: limit})
		wantCode(t, err, pairgate.EINVALID)
		_, err = s.ListAuditEvents(ctx(t), pairgate.AuditFilter{Limit: limit})
		wantCode(t, err, pairgate.EINVALID)
	}
}
