package oauth_test

import (
	"sync"
	"testing"
	"time"

	"github.com/pairgate/pairgate/internal/testenv"
)

// TestConcurrentRefreshesGetOneSuccessor: twenty simultaneous refreshes of
// one token (a client that sends twice, a retry racing its original) all
// succeed with the same new refresh token, and the family lives on
// (docs/design.md 2.4; issue 11, case 2: on PostgreSQL some answered 200 and
// the family was revoked anyway).
func TestConcurrentRefreshesGetOneSuccessor(t *testing.T) {
	for _, db := range []struct {
		name string
		opts func(t *testing.T) []testenv.Option
	}{
		{"SQLite", func(t *testing.T) []testenv.Option { return nil }},
		{"Postgres", func(t *testing.T) []testenv.Option { return []testenv.Option{testenv.WithPostgres(t)} }},
	} {
		t.Run(db.name, func(t *testing.T) {
			s := testenv.StartServer(t, db.opts(t)...)
			toks, _ := pairDevice(t, s, "HW-DUP-"+db.name)
			body := "grant_type=refresh_token&client_id=print-client&refresh_token=" + toks["refresh_token"].(string)
			const n = 20
			var wg sync.WaitGroup
			replies := make([]reply, n)
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					replies[i] = post(t, s.URL+"/oauth/token", formType, body)
				}()
			}
			close(start)
			wg.Wait()
			next := ""
			for i, r := range replies {
				wantTokens(t, r)
				rt := r.body["refresh_token"].(string)
				if next == "" {
					next = rt
				}
				if rt != next {
					t.Fatalf("reply %d carries refresh token %s, another %s: two successors of one token", i, rt, next)
				}
				deviceAPI(t, s, r.body["access_token"].(string), 200)
			}
			// The family is alive: the one successor refreshes, later too.
			s.Clock.Advance(time.Minute)
			wantTokens(t, post(t, s.URL+"/oauth/token", formType, "grant_type=refresh_token&client_id=print-client&refresh_token="+next))
		})
	}
}
