package api_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/testenv"
)

// TestPagingAtTheLargestPageFindsTheNextPage: a script that pages at the
// largest allowed page (limit=1000) must be told that there is more, or it
// believes it has the whole inventory (issue 11, case 10).
func TestPagingAtTheLargestPageFindsTheNextPage(t *testing.T) {
	s := testenv.StartServer(t)
	key := apiKey(t, s)
	ctx := context.Background()
	now := s.Clock.Now()
	const n = 1500
	for i := range n {
		d := &pairgate.Device{ID: fmt.Sprintf("dev_page_%05d", i), ClientID: pairgate.DefaultClientID, Name: "Printer",
			Mode: pairgate.ModeDevice, AuthMethod: pairgate.AuthByAuthorizationCode, AuthorizedAt: now, LastSeenAt: now}
		fam := &pairgate.RefreshFamily{ID: fmt.Sprintf("fam_page_%05d", i), ClientID: d.ClientID, Scopes: pairgate.Scopes{"printing"}, CreatedAt: now}
		tok := pairgate.NewRefreshToken{Hash: []byte(fmt.Sprintf("page token %05d", i)), IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
		if _, err := s.App.Store.IssueRefreshFamily(ctx, d, fam, tok); err != nil {
			t.Fatal(err)
		}
		if err := s.App.Store.AppendAuditEvent(ctx, &pairgate.AuditEvent{ID: fmt.Sprintf("ev_page_%05d", i), Time: now,
			Action: "paging.test", ActorType: pairgate.ActorSystem}); err != nil {
			t.Fatal(err)
		}
	}
	for _, list := range []struct{ path, items, cursor string }{
		{"/api/v1/devices?limit=1000", "devices", "&after="},
		{"/api/v1/audit-events?action=paging.test&limit=1000", "audit_events", "&before="},
	} {
		first := want(t, call(t, nil, "GET", s.URL+list.path, "", bearer(key)...), 200)
		next, _ := first.body["next"].(string)
		if got := len(first.body[list.items].([]any)); got != 1000 || next == "" {
			t.Fatalf("%s: %d items, next %q; want 1000 and a next page", list.path, got, next)
		}
		second := want(t, call(t, nil, "GET", s.URL+list.path+list.cursor+next, "", bearer(key)...), 200)
		if got := len(second.body[list.items].([]any)); got != n-1000 || second.body["next"] != nil {
			t.Fatalf("%s, second page: %d items, next %v; want %d and none", list.path, got, second.body["next"], n-1000)
		}
	}
}
