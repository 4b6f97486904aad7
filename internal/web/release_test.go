package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/client"
	"github.com/pairgate/pairgate/internal/testenv"
)

// TestReleasePortalRefusesWhatIsNotYours: at /release a person sees only
// their own jobs; releasing to a printer not deployed to them, someone
// else's job, a job that does not exist, or a form from another site is
// refused with a page that says why, and nothing is sent or deleted. An
// anonymous visitor is sent to sign in; only an admin purges.
func TestReleasePortalRefusesWhatIsNotYours(t *testing.T) {
	s := testenv.StartServer(t)
	ctx := context.Background()
	alice := s.CreateUser(t, "alice", pairgate.RoleUser)
	bob := s.CreateUser(t, "bob", pairgate.RoleUser)
	aliceDev := s.PairUserDevice(t, "alice-pc", alice)
	bobDev := s.PairUserDevice(t, "bob-pc", bob)
	mine := s.AddPrinter(t, "Mine", "ipp://127.0.0.1:9/ipp/print", pairgate.DeploymentTarget{DeviceIDs: []string{aliceDev.DeviceID}})
	theirs := s.AddPrinter(t, "Theirs", "ipp://127.0.0.1:9/ipp/print", pairgate.DeploymentTarget{DeviceIDs: []string{bobDev.DeviceID}})
	hold := func(dev testenv.DeviceToken, name string) int64 {
		creds := &client.Credentials{Issuer: s.URL, AccessToken: dev.Token, TokenType: "Bearer"}
		j, err := client.Print(ctx, nil, creds, s.IPP, client.Job{Name: name, Format: "text/plain", Document: strings.NewReader("x"), Size: 1})
		if err != nil {
			t.Fatal(err)
		}
		return int64(j.ID)
	}
	aj, bj := hold(aliceDev, "alice-doc.txt"), hold(bobDev, "bob-doc.txt")

	if r := newBrowser(t, s.URL).get("/release"); r.status != http.StatusSeeOther || location(r) != "/auth/signin/?next=%2Frelease" {
		t.Fatalf("anonymous: %d %s", r.status, location(r))
	}
	b := newBrowser(t, s.URL)
	b.signIn("alice", testenv.AdminPassword)
	r := b.get("/release")
	if r.status != 200 || !strings.Contains(r.raw, "alice-doc.txt") || strings.Contains(r.raw, "bob-doc.txt") ||
		!strings.Contains(r.raw, ">Mine<") || strings.Contains(r.raw, "Theirs") {
		t.Fatalf("alice's page: %d\n%s", r.status, r.raw)
	}
	job := func(id int64) string { return fmt.Sprintf("job_%d", id) }
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		says   string
	}{
		{"a printer deployed to someone else", url.Values{job(aj): {"1"}, "printer": {theirs.ID}}, 403, "That printer is not deployed to you"},
		{"no printer", url.Values{job(aj): {"1"}}, 403, "That printer is not deployed to you"},
		{"someone else's job", url.Values{job(bj): {"1"}, "printer": {mine.ID}}, 404, "No such job"},
		{"a job that does not exist", url.Values{job(bj + 100): {"1"}, "printer": {mine.ID}}, 404, "No such job"},
		{"no job", url.Values{"printer": {mine.ID}}, 400, "Select the jobs to release"},
	} {
		r := b.post("/release", tc.form)
		if r.status != tc.status || !strings.Contains(r.raw, tc.says) {
			t.Errorf("%s: %d, want %d saying %q\n%s", tc.name, r.status, tc.status, tc.says, r.raw)
		}
	}
	if r := b.post("/release", url.Values{job(aj): {"1"}, "printer": {mine.ID}}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"); r.status != 403 {
		t.Errorf("a cross-site release: %d", r.status)
	}
	if r := b.post(fmt.Sprintf("/release/jobs/%d/delete", bj), url.Values{}); r.status != 404 {
		t.Errorf("deleting bob's job: %d", r.status)
	}
	if r := b.post("/release/purge", url.Values{}); r.status != 403 {
		t.Errorf("a user purging: %d", r.status)
	}
	for _, id := range []int64{aj, bj} {
		j, err := s.App.Store.GetHeldJob(ctx, id)
		if err != nil || j.State != pairgate.JobHeld {
			t.Fatalf("job %d after the refusals: %+v %v", id, j, err)
		}
	}
	if got := strings.Join(s.AuditActions(t, "job."), ","); got != "job.submitted,job.submitted" {
		t.Fatalf("audit: %s", got)
	}

	// The admin purges everything, after a confirmation.
	a := newBrowser(t, s.URL)
	a.signIn("admin", testenv.AdminPassword)
	if r := a.get("/release?purge=1"); !strings.Contains(r.raw, `id="confirm-purge"`) || !strings.Contains(r.raw, "bob-doc.txt") {
		t.Fatalf("the purge dialog:\n%s", r.raw)
	}
	if r := a.post("/release/purge", url.Values{}); r.status != http.StatusSeeOther || location(r) != "/release?purged=2" {
		t.Fatalf("purge: %d %s", r.status, location(r))
	}
	if js, _ := s.App.Store.ListHeldJobs(ctx, pairgate.HeldJobFilter{All: true}); len(js) != 0 {
		t.Fatalf("%d jobs left after the purge", len(js))
	}
}
