package release_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/release"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func submit(t *testing.T, s *testenv.Server, dev testenv.DeviceToken, user, name string, doc []byte) *pairgate.HeldJob {
	t.Helper()
	d, err := s.App.Store.GetDevice(context.Background(), dev.DeviceID)
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.App.Jobs.Submit(context.Background(), release.Submission{Device: d, Scopes: pairgate.ParseScopes("printing"), UserName: user,
		JobName: name, Format: "text/plain"}, bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("submit %s: %v", name, err)
	}
	return j
}

// waitState waits until a job is in state (at most within).
func waitState(t *testing.T, s *testenv.Server, id int64, state string, within time.Duration) *pairgate.HeldJob {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		j, err := s.App.Store.GetHeldJob(context.Background(), id)
		if err != nil {
			t.Fatal(err)
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

// document is a text document of about n bytes that says which it is.
func document(name string, n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%s line %06d: the quick brown fox jumps over the lazy dog\n", name, i)
	}
	return b.Bytes()[:n]
}

func closedPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestReleaseToARealPrinter: a held job released by its owner to a
// printer deployed to them arrives at a real IPP Everywhere printer byte
// for byte, and pairgate keeps no copy; a printer not deployed to them
// gets nothing; two releases of one job at once print it once; a
// printer that cannot be reached fails the release with its reason and
// keeps the job for another; only the owner releases or deletes; every
// step is in the audit log.
func TestReleaseToARealPrinter(t *testing.T) {
	printer := testenv.StartIPPPrinter(t, "Release Printer", testenv.PrintsAtOnce())
	s := testenv.StartServer(t)
	ctx := context.Background()
	alice := s.CreateUser(t, "alice", pairgate.RoleUser)
	bob := s.CreateUser(t, "bob", pairgate.RoleUser)
	laptop := s.PairUserDevice(t, "alice-laptop", alice)
	bobs := s.PairUserDevice(t, "bob-laptop", bob)
	lobby := s.AddPrinter(t, "Lobby", printer.URI, pairgate.DeploymentTarget{DeviceIDs: []string{laptop.DeviceID}})
	elsewhere := s.AddPrinter(t, "Elsewhere", printer.URI, pairgate.DeploymentTarget{DeviceIDs: []string{bobs.DeviceID}})
	off := s.AddPrinter(t, "Switched off", fmt.Sprintf("ipp://127.0.0.1:%d/ipp/print", closedPort(t)),
		pairgate.DeploymentTarget{DeviceIDs: []string{laptop.DeviceID}})
	v := release.Viewer{User: alice, IP: "192.0.2.1"}

	// Two chunks and a bit: the document is read back across chunks.
	docA := document("A", pairgate.HeldJobChunkSize*2+1234)
	a := submit(t, s, laptop, "", "a.txt", docA)
	ps, err := s.App.Jobs.Printers(ctx, v, []*pairgate.HeldJob{a})
	if err != nil || len(ps) != 2 || ps[0].ID != lobby.ID || ps[1].ID != off.ID {
		t.Fatalf("alice may release to %v (%v)", ps, err)
	}

	// Not hers to use: refused, nothing sent, the job still held.
	_, err = s.App.Jobs.Release(ctx, v, []int64{a.ID}, elsewhere.ID)
	if pairgate.ErrorCode(err) != pairgate.EFORBIDDEN {
		t.Fatalf("release to a printer not deployed to her: %v", err)
	}
	// Not his to release.
	_, err = s.App.Jobs.Release(ctx, release.Viewer{User: bob}, []int64{a.ID}, elsewhere.ID)
	if pairgate.ErrorCode(err) != pairgate.ENOTFOUND {
		t.Fatalf("bob releasing alice's job: %v", err)
	}
	if err := s.App.Jobs.Delete(ctx, release.Viewer{User: bob}, a.ID); pairgate.ErrorCode(err) != pairgate.ENOTFOUND {
		t.Fatalf("bob deleting alice's job: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	if js := printer.Jobs(t); len(js) != 0 {
		t.Fatalf("refused releases reached the printer: %v", js)
	}

	out, err := s.App.Jobs.Release(ctx, v, []int64{a.ID}, lobby.ID)
	if err != nil || len(out) != 1 || out[0].Err != nil {
		t.Fatalf("release: %v %+v", err, out)
	}
	done := waitState(t, s, a.ID, pairgate.JobDone, 60*time.Second)
	if done.PrinterID != lobby.ID || done.PrinterJobID < 1 || done.HasDocument() || done.ReleasedBy != "user:"+alice.ID {
		t.Fatalf("released job: %+v", done)
	}
	files := printer.WaitJobs(t, 1, 10*time.Second)
	if got := printer.JobFile(t, files[0]); !bytes.Equal(got, docA) {
		t.Fatalf("the printer kept %d bytes in %s, want the %d sent", len(got), files[0], len(docA))
	}
	if _, err := s.App.Store.HeldJobChunk(ctx, a.ID, 0); pairgate.ErrorCode(err) != pairgate.ENOTFOUND {
		t.Fatalf("the document is still kept after it was sent: %v", err)
	}

	// Two clicks at once: one print.
	b := submit(t, s, laptop, "", "b.txt", document("B", 1000))
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken := 0
	for range 2 {
		wg.Go(func() {
			out, err := s.App.Jobs.Release(ctx, v, []int64{b.ID}, lobby.ID)
			if err != nil {
				t.Errorf("release: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if out[0].Err == nil {
				taken++
			} else if pairgate.ErrorCode(out[0].Err) != pairgate.ECONFLICT {
				t.Errorf("the second release: %v", out[0].Err)
			}
		})
	}
	wg.Wait()
	waitState(t, s, b.ID, pairgate.JobDone, 60*time.Second)
	time.Sleep(500 * time.Millisecond)
	if taken != 1 || len(printer.Jobs(t)) != 2 {
		t.Fatalf("two releases at once: %d taken, the printer has %v", taken, printer.Jobs(t))
	}

	// A printer that is off: the release fails with why, the job stays
	// and goes to another printer.
	c := submit(t, s, laptop, "", "c.txt", document("C", 500))
	if _, err := s.App.Jobs.Release(ctx, v, []int64{c.ID}, off.ID); err != nil {
		t.Fatal(err)
	}
	failed := waitState(t, s, c.ID, pairgate.JobFailed, 30*time.Second)
	if !strings.Contains(failed.Reason, "connection refused") || !failed.Releasable() {
		t.Fatalf("failed release: %+v", failed)
	}
	if _, err := s.App.Jobs.Release(ctx, v, []int64{c.ID}, lobby.ID); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, c.ID, pairgate.JobDone, 60*time.Second)
	if files := printer.WaitJobs(t, 3, 10*time.Second); !bytes.Equal(printer.JobFile(t, files[2]), document("C", 500)) {
		t.Fatalf("the job released again is not the document")
	}

	// The owner deletes a job.
	d := submit(t, s, laptop, "", "d.txt", document("D", 10))
	if err := s.App.Jobs.Delete(ctx, v, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Store.GetHeldJob(ctx, d.ID); pairgate.ErrorCode(err) != pairgate.ENOTFOUND {
		t.Fatalf("deleted job: %v", err)
	}
	want := "job.submitted,job.released,job.completed,job.submitted,job.released,job.completed,job.submitted,job.failed," +
		"job.released,job.completed,job.submitted,job.deleted"
	if got := strings.Join(s.AuditActions(t, "job."), ","); got != want {
		t.Fatalf("audit:\n got %s\nwant %s", got, want)
	}
}

// TestHeldJobsExpire: a job not released in time is deleted by the
// background sweep, with its document, and the audit log says so.
func TestHeldJobsExpire(t *testing.T) {
	s := testenv.StartServer(t)
	ctx := context.Background()
	dev := s.EnrollDevice(t, "Kiosk")
	j := submit(t, s, dev, "carol", "old.txt", document("old", 100))
	s.Clock.Advance(23 * time.Hour)
	fresh := submit(t, s, dev, "carol", "new.txt", document("new", 100))
	if n, err := s.App.Jobs.Expire(ctx); err != nil || n != 0 {
		t.Fatalf("expire before the time: %d %v", n, err)
	}
	s.Clock.Advance(time.Hour + time.Second)
	if n, err := s.App.Jobs.Expire(ctx); err != nil || n != 1 {
		t.Fatalf("expire: %d %v", n, err)
	}
	if _, err := s.App.Store.GetHeldJob(ctx, j.ID); pairgate.ErrorCode(err) != pairgate.ENOTFOUND {
		t.Fatalf("expired job: %v", err)
	}
	if _, err := s.App.Store.GetHeldJob(ctx, fresh.ID); err != nil {
		t.Fatalf("a job with time left: %v", err)
	}
	if got := strings.Join(s.AuditActions(t, "job."), ","); got != "job.submitted,job.submitted,job.expired" {
		t.Fatalf("audit: %s", got)
	}
}

// TestTwoReplicasReleaseOnce: two replicas on one PostgreSQL database,
// the same job released on both at the same moment (two clicks landing
// on two replicas): exactly one claims it, the printer gets it once.
func TestTwoReplicasReleaseOnce(t *testing.T) {
	printer := testenv.StartIPPPrinter(t, "Replica Printer", testenv.PrintsAtOnce())
	dsn := testenv.PostgresDSN(t)
	mk := base64.StdEncoding.EncodeToString(secret.NewMasterKey())
	shared := testenv.WithConfig(func(c *app.Config) { c.MasterKey = mk })
	r1 := testenv.StartServer(t, testenv.WithDB(dsn), shared)
	r2 := testenv.StartServer(t, testenv.WithDB(dsn), shared)
	alice := r1.CreateUser(t, "alice", pairgate.RoleUser)
	laptop := r1.PairUserDevice(t, "alice-laptop", alice)
	lobby := r1.AddPrinter(t, "Lobby", printer.URI, pairgate.DeploymentTarget{All: true})
	// Held through one replica, released on both.
	j := submit(t, r1, laptop, "", "once.txt", document("once", 5000))
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken := 0
	for _, r := range []*testenv.Server{r1, r2} {
		wg.Go(func() {
			out, err := r.App.Jobs.Release(context.Background(), release.Viewer{User: alice}, []int64{j.ID}, lobby.ID)
			if err != nil {
				t.Errorf("release: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if out[0].Err == nil {
				taken++
			}
		})
	}
	wg.Wait()
	waitState(t, r2, j.ID, pairgate.JobDone, 60*time.Second)
	time.Sleep(500 * time.Millisecond)
	if files := printer.Jobs(t); taken != 1 || len(files) != 1 || !bytes.Equal(printer.JobFile(t, files[0]), document("once", 5000)) {
		t.Fatalf("%d releases taken, the printer has %v", taken, files)
	}
}
