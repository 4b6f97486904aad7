package web_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/client"
	"github.com/pairgate/pairgate/internal/testenv"
)

// TestReleasePortalBrowser is the Release Portal end to end, in Chromium
// without JavaScript at phone width: a person's device holds two jobs
// over IPP (pairgate's client); on a browser authorized with a code she
// opens /release, signs in, releases one to the printer deployed to her
// browser and deletes the other through the confirmation dialog; the
// released job arrives at a real IPP Everywhere printer byte for byte,
// and the audit log in the console shows each step.
func TestReleasePortalBrowser(t *testing.T) {
	s := testenv.StartServer(t)
	printer := testenv.StartIPPPrinter(t, "Lobby Printer", testenv.PrintsAtOnce())
	b := testenv.StartBrowser(t)
	alice := s.CreateUser(t, "alice", pairgate.RoleUser)
	laptop := s.PairUserDevice(t, "alice-laptop", alice)
	code, ac := s.CreateCode(t, pairgate.TTL24Hours)
	lobby := s.AddPrinter(t, "Lobby", printer.URI, pairgate.DeploymentTarget{AuthCodeID: ac.ID})

	// The device prints two documents to the held queue.
	creds := &client.Credentials{Issuer: s.URL, AccessToken: laptop.Token, TokenType: "Bearer"}
	docs := [][]byte{[]byte(strings.Repeat("Travel expenses, March.\n", 3000)), []byte("A draft nobody should see.\n")}
	names := []string{"expenses.txt", "draft.txt"}
	queue, err := client.HeldQueue(context.Background(), nil, s.URL)
	if err != nil || queue != s.IPP {
		t.Fatalf("held queue %q (%v), want %q", queue, err, s.IPP)
	}
	var ids []int
	for i, d := range docs {
		j, err := client.Print(context.Background(), nil, creds, queue, client.Job{Name: names[i], Format: "text/plain",
			Document: bytes.NewReader(d), Size: int64(len(d))})
		if err != nil {
			t.Fatalf("print %s: %v", names[i], err)
		}
		ids = append(ids, j.ID)
	}

	tab := b.Tab(t)
	t.Run("AuthorizedBrowserSignsIn", func(t *testing.T) {
		tab := tab.In(t)
		tab.Navigate(s.URL + "/portal")
		tab.Fill("#code", code)
		if st := tab.Submit("#authorize"); st != 200 {
			t.Fatalf("portal code: %d", st)
		}
		if tab.Count("#release-link a") != 1 {
			t.Error("the portal has no link to the Release Portal")
		}
		tab.Navigate(s.URL + "/release")
		// A browser with no person behind it sees no one's jobs.
		if tab.Count("#sign-in-note") != 1 || tab.Count("#jobs") != 0 {
			t.Fatalf("an unattended browser: %q", tab.Text("main"))
		}
		printerShot(t, tab, "60-release-sign-in", 0)
		tab.Submit("#sign-in")
		if st := signInTab(t, tab, "alice", testenv.AdminPassword); st != 200 || tab.Location() != s.URL+"/release" {
			t.Fatalf("sign-in: %d at %s", st, tab.Location())
		}
	})

	t.Run("HerJobs", func(t *testing.T) {
		tab := tab.In(t)
		if got := tab.Text("#job-count"); got != "2" {
			t.Fatalf("%s jobs listed: %q", got, tab.Text("main"))
		}
		for i, id := range ids {
			row := fmt.Sprintf("#job-%d", id)
			if got := tab.Text(row + " .job-name"); got != names[i] {
				t.Errorf("job %d is %q", id, got)
			}
			if got := tab.Text(row + " .device"); got != "alice-laptop" {
				t.Errorf("job %d from %q", id, got)
			}
			if got := tab.Text(row + " .state"); got != "Held" {
				t.Errorf("job %d is %q", id, got)
			}
		}
		if got := tab.Text(fmt.Sprintf("#job-%d .size", ids[0])); got != "72 kB" {
			t.Errorf("size %q", got)
		}
		if tab.Value("#printer") != lobby.ID {
			t.Errorf("the printer offered is %q, want Lobby", tab.Value("#printer"))
		}
		printerShot(t, tab, "61-release-jobs", 0)
	})

	t.Run("ReleaseOne", func(t *testing.T) {
		tab := tab.In(t)
		tab.Click(fmt.Sprintf("#select-%d", ids[0]))
		tab.Select("#printer", lobby.ID)
		if st := tab.Submit("#release"); st != 200 {
			t.Fatalf("release: %d", st)
		}
		if got := tab.Text("#notice"); got != "1 job released to Lobby." {
			t.Errorf("notice %q", got)
		}
		s.WaitJobState(t, int64(ids[0]), pairgate.JobDone, 60*time.Second)
		tab.Navigate(s.URL + "/release")
		row := fmt.Sprintf("#job-%d", ids[0])
		if got := tab.Text(row + " .state"); got != "Done" || tab.Text(row+" .printer") != "at Lobby" {
			t.Errorf("the released job shows %q %q", got, tab.Text(row+" .printer"))
		}
		if tab.Count(fmt.Sprintf("#select-%d", ids[0])) != 0 {
			t.Error("a released job can be selected again")
		}
		printerShot(t, tab, "62-release-done", 0)
		files := printer.WaitJobs(t, 1, 10*time.Second)
		if got := printer.JobFile(t, files[0]); !bytes.Equal(got, docs[0]) {
			t.Fatalf("the printer kept %d bytes, want the %d printed", len(got), len(docs[0]))
		}
	})

	t.Run("DeleteTheOther", func(t *testing.T) {
		tab := tab.In(t)
		tab.Submit(fmt.Sprintf("#job-%d .trash", ids[1]))
		if got := tab.Text("#confirm-title"); got != "Delete this job?" {
			t.Fatalf("dialog %q", got)
		}
		printerShot(t, tab, "63-release-confirm-delete", 0)
		tab.Submit("#confirm-delete")
		if tab.Text("#notice") != "The job was deleted." || tab.Count(fmt.Sprintf("#job-%d", ids[1])) != 0 {
			t.Fatalf("after the delete: %q", tab.Text("main"))
		}
		time.Sleep(300 * time.Millisecond)
		if files := printer.Jobs(t); len(files) != 1 {
			t.Fatalf("the deleted job reached the printer: %v", files)
		}
	})

	t.Run("TheAuditLogShowsEachStep", func(t *testing.T) {
		admin := b.Tab(t)
		admin.Navigate(s.URL + "/admin/audit?action=job.")
		if st := signInTab(t, admin, "admin", testenv.AdminPassword); st != 200 {
			t.Fatalf("admin sign-in: %d", st)
		}
		var got []string
		for i := 1; i <= admin.Count("#events tbody tr"); i++ {
			got = append(got, admin.Text(fmt.Sprintf("#events tbody tr:nth-child(%d) .action", i)))
		}
		// Newest first.
		want := []string{"job.deleted", "job.completed", "job.released", "job.submitted", "job.submitted"}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("audit actions %v, want %v", got, want)
		}
		printerShot(t, admin, "64-release-audit", 1) // the console's one script: local times
		// An admin sees every job in the Release Portal, anyone's: the
		// released one, until it leaves the list.
		admin.Navigate(s.URL + "/release")
		if admin.Text("#all-count") != "1" || admin.Text(fmt.Sprintf("#all #job-%d .state", ids[0])) != "Done" {
			t.Errorf("the admin's view: %q", admin.Text("#all-jobs"))
		}
		printerShot(t, admin, "65-release-admin", 0)
	})
}
