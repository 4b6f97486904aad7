package server_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/testenv"
)

// sharedReplicas starts n in-process servers on one PostgreSQL database,
// reached through proxy (if not nil), with one master key.
func sharedReplicas(t *testing.T, dsn string, n int) []*testenv.Server {
	mk := base64.StdEncoding.EncodeToString(secret.NewMasterKey())
	var out []*testenv.Server
	for range n {
		out = append(out, testenv.StartServer(t, testenv.WithDB(dsn), testenv.WithConfig(func(c *app.Config) {
			c.MasterKey = mk
			c.LogLevel = "warn"
		})))
	}
	return out
}

func viaProxy(t *testing.T, dsn string) (*testenv.Proxy, string) {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := testenv.NewProxy(t, u.Host)
	u.Host = p.Addr
	return p, u.String()
}

// TestDatabaseOutage takes PostgreSQL away from two replicas in the middle of
// a load of pairings, polls and refreshes (first by cutting the network,
// then by terminating every backend): requests fail with a well-formed 503
// and nothing else, /readyz says not ready, the replicas recover by
// themselves, and no authorization is lost.
func TestDatabaseOutage(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	proxy, proxied := viaProxy(t, dsn)
	reps := sharedReplicas(t, proxied, 2)
	dc := url.QueryEscape(pairgate.GrantDeviceCode)

	// Devices with refresh token chains, one per worker.
	const workers = 6
	chains := make([]string, workers)
	for i := range chains {
		r := do(t, "POST", reps[0].URL+"/oauth/device/code", form, fmt.Sprintf("client_id=print-client&mode=device&hardware_id=outage-%d", i))
		reps[0].ApproveUserCode(t, r.body["user_code"].(string))
		tr := do(t, "POST", reps[1].URL+"/oauth/token", form, "grant_type="+dc+"&client_id=print-client&device_code="+r.body["device_code"].(string))
		if tr.status != 200 {
			t.Fatalf("setup: %d %s", tr.status, tr.raw)
		}
		chains[i] = tr.body["refresh_token"].(string)
	}

	var statuses sync.Map // status → count
	count := func(st int) {
		v, _ := statuses.LoadOrStore(st, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	var bad atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	basicPub := "Basic " + base64.StdEncoding.EncodeToString([]byte("print-client:"))
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				rep := reps[(w+i)%2]
				var r reply
				switch i % 3 {
				case 0:
					r = do(t, "POST", rep.URL+"/oauth/pair/", form, `{"mode":"device"}`, "Authorization", basicPub)
				case 1:
					r = do(t, "POST", rep.URL+"/oauth/device/code", form, "client_id=print-client")
				case 2:
					r = do(t, "POST", rep.URL+"/oauth/token", form, "grant_type=refresh_token&client_id=print-client&refresh_token="+chains[w])
					if r.status == 200 {
						chains[w] = r.body["refresh_token"].(string)
					}
				}
				count(r.status)
				switch {
				case r.status == 200:
				case r.status == 503:
					if r.body["error"] != "temporarily_unavailable" || r.header.Get("Retry-After") == "" {
						bad.CompareAndSwap(nil, "malformed 503: "+r.raw)
					}
				default:
					bad.CompareAndSwap(nil, fmt.Sprintf("unexpected %d: %s", r.status, r.raw))
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}

	time.Sleep(time.Second)
	proxy.Cut()
	// While the database is away, readiness says so.
	waitFor(t, 10*time.Second, "replica reports not ready", func() bool {
		return do(t, "GET", reps[0].URL+"/readyz", "", "").status == 503
	})
	if r := do(t, "GET", reps[0].URL+"/healthz", "", ""); r.status != 200 {
		t.Errorf("liveness failed during the outage: %d", r.status)
	}
	time.Sleep(time.Second)
	proxy.Restore()
	for _, rep := range reps {
		waitFor(t, 15*time.Second, "replica ready again", func() bool {
			return do(t, "GET", rep.URL+"/readyz", "", "").status == 200
		})
	}
	time.Sleep(time.Second)

	// Now the other kind of outage: the server ends every session.
	terminateBackends(t, dsn)
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()

	if b := bad.Load(); b != nil {
		t.Fatal(b)
	}
	var summary []string
	statuses.Range(func(k, v any) bool {
		summary = append(summary, fmt.Sprintf("%d×%d", v.(*atomic.Int64).Load(), k))
		return true
	})
	t.Logf("answers during the run: %v", summary)
	if v, ok := statuses.Load(503); !ok || v.(*atomic.Int64).Load() == 0 {
		t.Fatal("no request saw the outage: the test did not test anything")
	}
	if v, ok := statuses.Load(200); !ok || v.(*atomic.Int64).Load() < 20 {
		t.Fatal("too few requests succeeded around the outage")
	}
	// Nothing lost: every device's chain still refreshes, on both replicas.
	for w, rt := range chains {
		rep := reps[w%2]
		var r reply
		waitFor(t, 10*time.Second, "refresh after the outage", func() bool {
			r = do(t, "POST", rep.URL+"/oauth/token", form, "grant_type=refresh_token&client_id=print-client&refresh_token="+rt)
			return r.status != 503
		})
		if r.status != 200 {
			t.Fatalf("device %d lost its authorization in the outage: %d %s", w, r.status, r.raw)
		}
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// terminateBackends ends every session of the test's database, as a
// PostgreSQL restart would.
func terminateBackends(t *testing.T, dsn string) {
	u, _ := url.Parse(dsn)
	name := u.Path[1:]
	db, err := sql.Open("pgx", testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(context.Background(),
		`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, name).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no backend to terminate: the replicas were not connected")
	}
	t.Logf("terminated %d backends", n)
}
