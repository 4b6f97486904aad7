package server_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/sqlstore"
	"github.com/pairgate/pairgate/internal/testenv"
)

// chain is what one device learned from the server before the crash.
type chain struct {
	deviceID string
	access   []string // every access token it received
	refresh  string   // the newest refresh token it received
	previous string   // the one before, if a refresh was in flight at the crash
	inFlight bool
}

// TestCrashLosesNothing kills the server with SIGKILL in the middle of a load
// of pairings, redemptions and refreshes on SQLite, restarts it on the same
// data directory, and checks that no approved device is lost, every access
// token a client received is still active, every device's refresh chain
// still works, and the database passes SQLite's integrity check.
func TestCrashLosesNothing(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	mk := base64.StdEncoding.EncodeToString(secret.NewMasterKey())
	env := []string{"PAIRGATE_DATA_DIR=" + data, "PAIRGATE_MASTER_KEY=" + mk, "PAIRGATE_POLL_INTERVAL=1s",
		"PAIRGATE_ADMIN_PASSWORD=" + testenv.AdminPassword, "PAIRGATE_LOG_LEVEL=warn"}
	p := testenv.StartProcess(t, env)
	// The person approving works on the same database file from another
	// process, as a second SQLite writer.
	approver := testenv.StartServer(t, testenv.WithDB(filepath.Join(data, "pairgate.db")), testenv.WithConfig(func(c *app.Config) {
		c.MasterKey = mk
		c.LogLevel = "warn"
	}))
	dc := url.QueryEscape(pairgate.GrantDeviceCode)
	basicPub := "Basic " + base64.StdEncoding.EncodeToString([]byte("print-client:"))

	var mu sync.Mutex
	var approved []string
	var chains []*chain
	var wg sync.WaitGroup
	killed := make(chan struct{})
	alive := func() bool {
		select {
		case <-killed:
			return false
		default:
			return true
		}
	}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; alive(); i++ {
				r, err := try("POST", p.URL+"/oauth/device/code", fmt.Sprintf("client_id=print-client&mode=device&hardware_id=crash-%d-%d", w, i))
				if err != nil || r.status != 200 {
					return
				}
				pend, err := approver.App.Grants.FindUserCode(context.Background(), grants.CodeEntry{Code: r.body["user_code"].(string), IP: testenv.PersonIP()})
				if err != nil {
					t.Errorf("find: %v", err)
					return
				}
				a, err := approver.App.Grants.Approve(context.Background(), grants.Decision{Pending: pend, User: approver.Admin(t)})
				if err != nil {
					t.Errorf("approve: %v", err)
					return
				}
				mu.Lock()
				approved = append(approved, a.DeviceID)
				mu.Unlock()
				tr, err := try("POST", p.URL+"/oauth/token", "grant_type="+dc+"&client_id=print-client&device_code="+r.body["device_code"].(string))
				if err != nil || tr.status != 200 {
					return
				}
				c := &chain{deviceID: a.DeviceID, access: []string{tr.body["access_token"].(string)}, refresh: tr.body["refresh_token"].(string)}
				mu.Lock()
				chains = append(chains, c)
				mu.Unlock()
				for range 3 {
					mu.Lock()
					c.inFlight, c.previous = true, c.refresh
					mu.Unlock()
					rr, err := try("POST", p.URL+"/oauth/token", "grant_type=refresh_token&client_id=print-client&refresh_token="+c.refresh)
					if err != nil || rr.status != 200 {
						return
					}
					mu.Lock()
					c.inFlight = false
					c.refresh = rr.body["refresh_token"].(string)
					c.access = append(c.access, rr.body["access_token"].(string))
					mu.Unlock()
				}
				try("POST", p.URL+"/oauth/pair/", `{"mode":"device"}`, "Authorization", basicPub)
			}
		}()
	}
	time.Sleep(2500 * time.Millisecond)
	close(killed)
	p.Kill()
	wg.Wait()
	if len(chains) < 5 {
		t.Fatalf("only %d devices got tokens before the crash: the load did not run", len(chains))
	}

	// The database survived the crash intact.
	st, err := sqlstore.Open(context.Background(), filepath.Join(data, "pairgate.db"), sqlstore.Options{})
	if err != nil {
		t.Fatalf("open after crash: %v", err)
	}
	if err := st.IntegrityCheck(context.Background()); err != nil {
		t.Fatalf("after kill -9: %v", err)
	}
	st.Close()

	p2 := testenv.StartProcess(t, env)
	for _, id := range approved {
		if _, err := approver.App.Store.GetDevice(context.Background(), id); err != nil {
			t.Errorf("approved device %s lost in the crash: %v", id, err)
		}
	}
	sec := secret.Token(secret.PrefixClientSecret)
	if err := approver.App.Store.CreateClient(context.Background(), &pairgate.Client{ID: "rs", Name: "RS",
		SecretHash: approver.App.Keys.Hash(secret.KindClientSecret, sec), GrantTypes: []string{pairgate.GrantRefreshToken},
		Scopes: pairgate.Scopes{"printing"}, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	rs := "Basic " + base64.StdEncoding.EncodeToString([]byte("rs:"+sec))
	for _, c := range chains {
		for _, at := range c.access {
			r, err := try("POST", p2.URL+"/oauth/introspect", "token="+at, "Authorization", rs)
			if err != nil || r.body["active"] != true {
				t.Errorf("device %s: an access token it received is no longer active: %v %v", c.deviceID, r.raw, err)
			}
		}
		// The newest refresh token works; if a refresh was in flight when the
		// server died, the device does not know whether it committed, so it
		// retries its previous token, which the grace window answers.
		tok := c.refresh
		if c.inFlight {
			tok = c.previous
		}
		r, err := try("POST", p2.URL+"/oauth/token", "grant_type=refresh_token&client_id=print-client&refresh_token="+tok)
		if err != nil || r.status != 200 {
			t.Errorf("device %s lost its authorization in the crash (in flight: %v): %v %v", c.deviceID, c.inFlight, r.raw, err)
		}
	}
	t.Logf("%d devices approved, %d with tokens, survived kill -9", len(approved), len(chains))
}

// try is do without failing the test on a connection error: the server is
// killed under the clients' feet.
func try(method, u, body string, header ...string) (reply, error) {
	return doErr(method, u, form, body, header...)
}

// TestGracefulShutdownFinishesInFlightRequests sends SIGTERM while clients
// are in the middle of requests: every request that reached the server gets
// its complete answer, and the process exits with status 0.
func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	p := testenv.StartProcess(t, []string{"PAIRGATE_DATA_DIR=" + data, "PAIRGATE_LOG_LEVEL=warn"})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok, refused int
	var bad []string
	start := make(chan struct{})
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				r, err := try("POST", p.URL+"/oauth/device/code", "client_id=print-client")
				mu.Lock()
				switch {
				case err != nil:
					// After shutdown began, new connections are refused:
					// that is a clean "not here", not a broken answer.
					refused++
					mu.Unlock()
					return
				case r.status == 200 && r.body["device_code"] != nil:
					ok++
				default:
					bad = append(bad, fmt.Sprintf("%d %s", r.status, r.raw))
				}
				mu.Unlock()
			}
		}()
	}
	close(start)
	time.Sleep(500 * time.Millisecond)
	p.Stop(t) // SIGTERM in the middle of the load, and wait
	wg.Wait()
	exited, out := p.Exited()
	if !exited {
		t.Fatal("process still running")
	}
	if code := p.ExitCode(); code != 0 {
		t.Fatalf("exit status %d after SIGTERM:\n%s", code, out)
	}
	if len(bad) > 0 {
		t.Fatalf("%d answers were broken during shutdown, e.g. %s", len(bad), bad[0])
	}
	if ok == 0 {
		t.Fatal("no request was served before the shutdown")
	}
	t.Logf("%d answered, %d refused after shutdown began", ok, refused)
}
