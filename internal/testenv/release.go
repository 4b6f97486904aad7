package testenv

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/release"
)

// DeviceToken is a device's access token as a test holds it.
type DeviceToken struct {
	Token    string
	DeviceID string
}

func (s *Server) token(t testing.TB, form url.Values) map[string]any {
	t.Helper()
	resp, err := http.PostForm(s.URL+"/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token request: %d %v", resp.StatusCode, out)
	}
	return out
}

func (s *Server) deviceOf(t testing.TB, tok map[string]any) DeviceToken {
	t.Helper()
	at, _ := tok["access_token"].(string)
	c, err := s.App.Tokens.Verify(context.Background(), at)
	if err != nil {
		t.Fatalf("the token just issued does not verify: %v", err)
	}
	return DeviceToken{Token: at, DeviceID: c.DeviceID}
}

// EnrollDevice authorizes a device-mode device named name (scope
// printing) with a new authorization code, as an install script does.
func (s *Server) EnrollDevice(t testing.TB, name string) DeviceToken {
	t.Helper()
	code, _ := s.CreateCode(t, pairgate.TTLNever)
	return s.deviceOf(t, s.token(t, url.Values{"grant_type": {pairgate.GrantAuthorizationCode}, "client_id": {"print-client"},
		"code": {code}, "device_name": {name}}))
}

// PairUserDevice pairs a user-mode device named name (RFC 8628) that u
// approves: its token speaks for u.
func (s *Server) PairUserDevice(t testing.TB, name string, u *pairgate.User) DeviceToken {
	t.Helper()
	resp, err := http.PostForm(s.URL+"/oauth/device/code", url.Values{"client_id": {"print-client"}, "mode": {"user"},
		"scope": {"printing"}, "device_name": {name}})
	if err != nil {
		t.Fatal(err)
	}
	var da map[string]any
	json.NewDecoder(resp.Body).Decode(&da)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("device authorization: %d %v", resp.StatusCode, da)
	}
	p, err := s.App.Grants.FindUserCode(context.Background(), grants.CodeEntry{Code: da["user_code"].(string), IP: PersonIP()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Grants.Approve(context.Background(), grants.Decision{Pending: p, User: u, IP: "127.0.0.1"}); err != nil {
		t.Fatalf("approve: %v", err)
	}
	return s.deviceOf(t, s.token(t, url.Values{"grant_type": {pairgate.GrantDeviceCode}, "client_id": {"print-client"},
		"device_code": {da["device_code"].(string)}}))
}

// CreateUser makes an account with this role and the test password.
func (s *Server) CreateUser(t testing.TB, username, role string) *pairgate.User {
	t.Helper()
	u, _, err := s.App.Admin.CreateUser(context.Background(), admin.HostActor("test"), username, role, AdminPassword)
	if err != nil {
		t.Fatalf("create user %s: %v", username, err)
	}
	return u
}

// AuditActions returns the actions of the audit events whose action
// starts with prefix, oldest first.
func (s *Server) AuditActions(t testing.TB, prefix string) []string {
	t.Helper()
	es, err := s.App.Store.ListAuditEvents(context.Background(), pairgate.AuditFilter{Limit: pairgate.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(es) - 1; i >= 0; i-- {
		if strings.HasPrefix(es[i].Action, prefix) {
			out = append(out, es[i].Action)
		}
	}
	return out
}

// ReadDatabaseFiles returns the bytes of the server's SQLite database
// and its WAL, for tests that look for what must not be stored in the
// clear.
func ReadDatabaseFiles(s *Server) ([]byte, error) {
	files, err := filepath.Glob(s.DB + "*")
	if err != nil {
		return nil, err
	}
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		all = append(all, b...)
	}
	return all, nil
}

// AddPrinter makes a printer (as the bootstrap admin) and deploys it to
// the devices target selects.
func (s *Server) AddPrinter(t testing.TB, name, uri string, target pairgate.DeploymentTarget) *pairgate.Printer {
	t.Helper()
	ctx := context.Background()
	p, err := s.App.Admin.CreatePrinter(ctx, s.AdminActor(t), admin.PrinterChange{Name: &name, URI: &uri})
	if err != nil {
		t.Fatalf("create printer %s: %v", name, err)
	}
	if _, err := s.App.Admin.CreateDeployment(ctx, s.AdminActor(t), admin.NewDeployment{PrinterIDs: []string{p.ID}, Target: target}); err != nil {
		t.Fatalf("deploy printer %s: %v", name, err)
	}
	return p
}

// Release releases jobs as user does in the Release Portal, to printer,
// and fails the test unless each was taken.
func (s *Server) Release(t testing.TB, user *pairgate.User, printerID string, ids ...int64) {
	t.Helper()
	out, err := s.App.Jobs.Release(context.Background(), release.Viewer{User: user, IP: "127.0.0.1"}, ids, printerID)
	if err != nil {
		t.Fatalf("release %v: %v", ids, err)
	}
	for _, r := range out {
		if r.Err != nil {
			t.Fatalf("release job %d: %v", r.Job.ID, r.Err)
		}
	}
}

// WaitJobState waits until a held job is in state (at most within) and
// returns it.
func (s *Server) WaitJobState(t testing.TB, id int64, state string, within time.Duration) *pairgate.HeldJob {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		j, err := s.App.Store.GetHeldJob(context.Background(), id)
		if err != nil {
			t.Fatalf("job %d: %v", id, err)
		}
		if j.State == state {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d is %s (%s), want %s within %v", id, j.State, j.Reason, state, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitHeldJobs waits until n jobs are in the held queue (at most within)
// and returns them, oldest first.
func (s *Server) WaitHeldJobs(t testing.TB, n int, within time.Duration) []*pairgate.HeldJob {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		js, err := s.App.Store.ListHeldJobs(context.Background(), pairgate.HeldJobFilter{All: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(js) >= n {
			return js
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d jobs held, want %d within %v", len(js), n, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
