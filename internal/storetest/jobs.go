package storetest

import (
	"bytes"
	"errors"
	"iter"
	"sync"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
)

// Held jobs (the Release Portal's queue).

var bigQuota = pairgate.HeldJobQuota{MaxBytes: 1 << 30, MaxJobs: 1000}

func chunksOf(cs ...[]byte) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		for _, c := range cs {
			if !yield(c, nil) {
				return
			}
		}
	}
}

// newJob is a held job of owner (a user id, or "" with a claimed name)
// from device dev, with a document of the chunks given.
func newJob(ownerID, ownerName, quotaKey, deviceID string, size int64) *pairgate.HeldJob {
	return &pairgate.HeldJob{OwnerUserID: ownerID, OwnerName: ownerName, QuotaKey: quotaKey, DeviceID: deviceID, DeviceName: "Laptop",
		Name: "report.pdf", Format: "application/pdf", Size: size, Pages: 3, Copies: 1, Requested: "Lobby", State: pairgate.JobHeld,
		CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), DataID: id("hd_")}
}

func mkJob(t *testing.T, s pairgate.Store, j *pairgate.HeldJob, chunks ...[]byte) *pairgate.HeldJob {
	t.Helper()
	must(t, s.CreateHeldJob(ctx(t), j, chunksOf(chunks...), bigQuota))
	if j.ID <= 0 || j.Chunks != len(chunks) {
		t.Fatalf("created job id %d with %d chunks, want a positive id and %d", j.ID, j.Chunks, len(chunks))
	}
	return j
}

func jobIDs(js []*pairgate.HeldJob) []int64 {
	out := []int64{}
	for _, j := range js {
		out = append(out, j.ID)
	}
	return out
}

func sameIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testHeldJobs(t *testing.T, s pairgate.Store) {
	c1, c2 := []byte("first chunk"), []byte("second chunk")
	a := mkJob(t, s, newJob("usr_alice", "alice", pairgate.QuotaKeyUser("usr_alice"), "dev_1", 100), c1, c2)
	got, err := s.GetHeldJob(ctx(t), a.ID)
	must(t, err)
	if got.OwnerUserID != "usr_alice" || got.OwnerName != "alice" || got.DeviceID != "dev_1" || got.DeviceName != "Laptop" ||
		got.Name != "report.pdf" || got.Format != "application/pdf" || got.Size != 100 || got.Pages != 3 || got.Copies != 1 || got.Requested != "Lobby" ||
		got.State != pairgate.JobHeld || !got.CreatedAt.Equal(t0) || !got.ExpiresAt.Equal(t0.Add(24*time.Hour)) ||
		got.DataID != a.DataID || got.Chunks != 2 || !got.Verified() || !got.Releasable() {
		t.Fatalf("round trip: %+v", got)
	}
	for i, want := range [][]byte{c1, c2} {
		data, err := s.HeldJobChunk(ctx(t), a.ID, i)
		must(t, err)
		if !bytes.Equal(data, want) {
			t.Fatalf("chunk %d = %q", i, data)
		}
	}
	_, err = s.HeldJobChunk(ctx(t), a.ID, 2)
	wantCode(t, err, pairgate.ENOTFOUND)
	_, err = s.GetHeldJob(ctx(t), a.ID+1000)
	wantCode(t, err, pairgate.ENOTFOUND)

	// A shared device-mode device sent jobs in names it claimed.
	b := mkJob(t, s, newJob("", "Alice", pairgate.QuotaKeyDevice("dev_2"), "dev_2", 10), c1)
	c := mkJob(t, s, newJob("", "bob", pairgate.QuotaKeyDevice("dev_2"), "dev_2", 10), c1)
	// A verified job of someone whose username is "alice" too cannot be
	// confused with a claim: it belongs to its user id.
	d := mkJob(t, s, newJob("usr_other", "alice", pairgate.QuotaKeyUser("usr_other"), "dev_3", 10), c1)
	if !(a.ID < b.ID && b.ID < c.ID && c.ID < d.ID) {
		t.Fatalf("ids not in order of submission: %d %d %d %d", a.ID, b.ID, c.ID, d.ID)
	}
	for _, tc := range []struct {
		f    pairgate.HeldJobFilter
		want []int64
	}{
		{pairgate.HeldJobFilter{UserID: "usr_alice"}, []int64{a.ID}},
		{pairgate.HeldJobFilter{UserID: "usr_alice", Username: "ALICE"}, []int64{a.ID, b.ID}},
		{pairgate.HeldJobFilter{Username: "bob"}, []int64{c.ID}},
		{pairgate.HeldJobFilter{DeviceID: "dev_2"}, []int64{b.ID, c.ID}},
		{pairgate.HeldJobFilter{All: true}, []int64{a.ID, b.ID, c.ID, d.ID}},
		{pairgate.HeldJobFilter{All: true, Limit: 2}, []int64{a.ID, b.ID}},
		{pairgate.HeldJobFilter{}, []int64{}},
		{pairgate.HeldJobFilter{UserID: "usr_nobody"}, []int64{}},
	} {
		js, err := s.ListHeldJobs(ctx(t), tc.f)
		must(t, err)
		if !sameIDs(jobIDs(js), tc.want) {
			t.Errorf("list %+v = %v, want %v", tc.f, jobIDs(js), tc.want)
		}
	}
	_, err = s.ListHeldJobs(ctx(t), pairgate.HeldJobFilter{All: true, Limit: -1})
	wantCode(t, err, pairgate.EINVALID)

	// Release: claim, sent (the document goes), progress to done.
	later := t0.Add(time.Minute)
	claim := pairgate.JobClaim{PrinterID: "prn_1", PrinterName: "Lab", By: "user:usr_alice", KeepUntil: t0.Add(25 * time.Hour)}
	r, err := s.ClaimHeldJob(ctx(t), a.ID, claim, later)
	must(t, err)
	if r.State != pairgate.JobReleasing || r.PrinterID != "prn_1" || r.PrinterName != "Lab" || r.ReleasedBy != "user:usr_alice" ||
		!r.ReleasedAt.Equal(later) || r.Chunks != 2 || !r.ExpiresAt.Equal(t0.Add(25*time.Hour)) {
		t.Fatalf("claimed: %+v", r)
	}
	_, err = s.ClaimHeldJob(ctx(t), a.ID, claim, later)
	wantCode(t, err, pairgate.ECONFLICT)
	_, err = s.DeleteHeldJob(ctx(t), a.ID)
	wantCode(t, err, pairgate.ECONFLICT)
	wantCode(t, s.HeldJobProgress(ctx(t), a.ID, pairgate.JobDone, "", later), pairgate.ECONFLICT)
	must(t, s.HeldJobSent(ctx(t), a.ID, 17, later))
	wantCode(t, s.HeldJobSent(ctx(t), a.ID, 17, later), pairgate.ECONFLICT)
	_, err = s.HeldJobChunk(ctx(t), a.ID, 0)
	wantCode(t, err, pairgate.ENOTFOUND)
	must(t, s.HeldJobProgress(ctx(t), a.ID, pairgate.JobPrinting, "", later))
	must(t, s.HeldJobProgress(ctx(t), a.ID, pairgate.JobDone, "", later.Add(time.Second)))
	wantCode(t, s.HeldJobProgress(ctx(t), a.ID, pairgate.JobPrinting, "", later), pairgate.ECONFLICT)
	wantCode(t, s.HeldJobProgress(ctx(t), a.ID, pairgate.JobHeld, "", later), pairgate.EINVALID)
	got, err = s.GetHeldJob(ctx(t), a.ID)
	must(t, err)
	if got.State != pairgate.JobDone || got.PrinterJobID != 17 || got.Chunks != 0 || got.HasDocument() || !got.Finished() ||
		!got.UpdatedAt.Equal(later.Add(time.Second)) {
		t.Fatalf("after release: %+v", got)
	}
	_, err = s.ClaimHeldJob(ctx(t), a.ID, claim, later)
	wantCode(t, err, pairgate.ECONFLICT)

	// A release that never reached the printer keeps the document: the
	// job can be released again.
	claim.KeepUntil = t0 // never earlier than the job's own expiry
	_, err = s.ClaimHeldJob(ctx(t), b.ID, claim, later)
	must(t, err)
	must(t, s.HeldJobReleaseFailed(ctx(t), b.ID, "connection refused", later))
	wantCode(t, s.HeldJobReleaseFailed(ctx(t), b.ID, "again", later), pairgate.ECONFLICT)
	got, err = s.GetHeldJob(ctx(t), b.ID)
	must(t, err)
	if got.State != pairgate.JobFailed || got.Reason != "connection refused" || !got.Releasable() || !got.ExpiresAt.Equal(b.ExpiresAt) {
		t.Fatalf("after a failed release: %+v", got)
	}
	_, err = s.ClaimHeldJob(ctx(t), b.ID, claim, later)
	must(t, err)

	// Deleting returns the job as it was, once.
	del, err := s.DeleteHeldJob(ctx(t), c.ID)
	must(t, err)
	if del.ID != c.ID || del.OwnerName != "bob" {
		t.Fatalf("deleted %+v", del)
	}
	_, err = s.DeleteHeldJob(ctx(t), c.ID)
	wantCode(t, err, pairgate.ENOTFOUND)
	_, err = s.HeldJobChunk(ctx(t), c.ID, 0)
	wantCode(t, err, pairgate.ENOTFOUND)
	_, err = s.ClaimHeldJob(ctx(t), c.ID, claim, later)
	wantCode(t, err, pairgate.ENOTFOUND)

	// A job's id is never given again, even after the newest was deleted.
	_, err = s.DeleteHeldJob(ctx(t), d.ID)
	must(t, err)
	e := mkJob(t, s, newJob("usr_alice", "alice", pairgate.QuotaKeyUser("usr_alice"), "dev_1", 1), c1)
	if e.ID <= d.ID {
		t.Fatalf("job id %d given again after %d", e.ID, d.ID)
	}
}

func testHeldJobQuota(t *testing.T, s pairgate.Store) {
	q := pairgate.HeldJobQuota{MaxBytes: 100, MaxJobs: 3}
	key := pairgate.QuotaKeyUser("usr_q")
	mk := func(size int64) (*pairgate.HeldJob, error) {
		j := newJob("usr_q", "quincy", key, "dev_q", size)
		return j, s.CreateHeldJob(ctx(t), j, chunksOf([]byte("x")), q)
	}
	a, err := mk(60)
	must(t, err)
	_, err = mk(41)
	wantCode(t, err, pairgate.ETOOLARGE)
	b, err := mk(40)
	must(t, err)
	// Another key has its own quota.
	must(t, s.CreateHeldJob(ctx(t), newJob("usr_r", "rita", pairgate.QuotaKeyUser("usr_r"), "dev_q", 100), chunksOf([]byte("x")), q))
	js, err := s.ListHeldJobs(ctx(t), pairgate.HeldJobFilter{UserID: "usr_q"})
	must(t, err)
	if len(js) != 2 {
		t.Fatalf("a refused job was written: %v", jobIDs(js))
	}
	// Deleting gives the bytes back; sending does too.
	_, err = s.DeleteHeldJob(ctx(t), a.ID)
	must(t, err)
	c, err := mk(60)
	must(t, err)
	_, err = s.ClaimHeldJob(ctx(t), c.ID, pairgate.JobClaim{PrinterID: "prn", By: "user:usr_q"}, t0)
	must(t, err)
	must(t, s.HeldJobSent(ctx(t), c.ID, 1, t0))
	_, err = mk(60)
	must(t, err)
	// The number of jobs counts too: b, the sent job's slot is free, and
	// the last one make two held; a third fits, a fourth does not.
	_, err = mk(0)
	must(t, err)
	_, err = mk(0)
	wantCode(t, err, pairgate.ETOOLARGE)
	// Deleting a job whose document is gone does not give back twice.
	_, err = s.DeleteHeldJob(ctx(t), c.ID)
	must(t, err)
	_, err = mk(0)
	wantCode(t, err, pairgate.ETOOLARGE)
	_, err = s.DeleteHeldJob(ctx(t), b.ID)
	must(t, err)
	_, err = mk(40)
	must(t, err)

	// A failing document writes nothing and counts nothing.
	boom := errors.New("the client went away")
	j := newJob("usr_f", "fay", pairgate.QuotaKeyUser("usr_f"), "dev_f", 100)
	err = s.CreateHeldJob(ctx(t), j, func(yield func([]byte, error) bool) {
		if yield([]byte("part"), nil) {
			yield(nil, boom)
		}
	}, q)
	if !errors.Is(err, boom) {
		t.Fatalf("create with a failing document: %v", err)
	}
	js, err = s.ListHeldJobs(ctx(t), pairgate.HeldJobFilter{UserID: "usr_f"})
	must(t, err)
	if len(js) != 0 {
		t.Fatalf("a failed submission left %v", jobIDs(js))
	}
	_, err = mk(0)
	wantCode(t, err, pairgate.ETOOLARGE) // usr_q is still full
	must(t, s.CreateHeldJob(ctx(t), newJob("usr_f", "fay", pairgate.QuotaKeyUser("usr_f"), "dev_f", 100), chunksOf([]byte("x")), q))
}

// testHeldJobQuotaUnderConcurrency: of many submissions at once under one
// key, exactly as many as the quota has room for are stored.
func testHeldJobQuotaUnderConcurrency(t *testing.T, s pairgate.Store) {
	q := pairgate.HeldJobQuota{MaxBytes: 5 * 10, MaxJobs: 1000}
	key := pairgate.QuotaKeyDevice("dev_c")
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, full := 0, 0
	for range 20 {
		wg.Go(func() {
			err := s.CreateHeldJob(ctx(t), newJob("", "x", key, "dev_c", 10), chunksOf([]byte("x")), q)
			mu.Lock()
			defer mu.Unlock()
			switch pairgate.ErrorCode(err) {
			case "":
				ok++
			case pairgate.ETOOLARGE:
				full++
			default:
				t.Errorf("create: %v", err)
			}
		})
	}
	waitOrDump(t, &wg)
	if ok != 5 || full != 15 {
		t.Fatalf("%d stored and %d refused, want 5 and 15", ok, full)
	}
	js, err := s.ListHeldJobs(ctx(t), pairgate.HeldJobFilter{DeviceID: "dev_c"})
	must(t, err)
	if len(js) != 5 {
		t.Fatalf("%d jobs stored", len(js))
	}
}

// testHeldJobClaimedOnce: two clicks, two replicas, one print.
func testHeldJobClaimedOnce(t *testing.T, s pairgate.Store) {
	j := mkJob(t, s, newJob("usr_a", "a", pairgate.QuotaKeyUser("usr_a"), "dev_a", 1), []byte("x"))
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, lost := 0, 0
	for i := range 20 {
		wg.Go(func() {
			_, err := s.ClaimHeldJob(ctx(t), j.ID, pairgate.JobClaim{PrinterID: "prn", By: "user:usr_a"}, t0.Add(time.Duration(i)))
			mu.Lock()
			defer mu.Unlock()
			switch pairgate.ErrorCode(err) {
			case "":
				won++
			case pairgate.ECONFLICT:
				lost++
			default:
				t.Errorf("claim: %v", err)
			}
		})
	}
	waitOrDump(t, &wg)
	if won != 1 || lost != 19 {
		t.Fatalf("%d claims won and %d lost, want 1 and 19", won, lost)
	}
}

func testHeldJobsExpire(t *testing.T, s pairgate.Store) {
	key := pairgate.QuotaKeyUser("usr_e")
	var js []*pairgate.HeldJob
	for i := range 5 {
		j := newJob("usr_e", "eve", key, "dev_e", 10)
		j.ExpiresAt = t0.Add(time.Duration(i+1) * time.Hour)
		js = append(js, mkJob(t, s, j, []byte("x")))
	}
	// js[0] is being released by a replica that died; js[1] is being
	// released now.
	_, err := s.ClaimHeldJob(ctx(t), js[0].ID, pairgate.JobClaim{PrinterID: "prn", By: "user:usr_e"}, t0)
	must(t, err)
	_, err = s.ClaimHeldJob(ctx(t), js[1].ID, pairgate.JobClaim{PrinterID: "prn", By: "user:usr_e"}, t0.Add(3*time.Hour))
	must(t, err)
	at := t0.Add(3*time.Hour + time.Minute)
	gone, err := s.ExpireHeldJobs(ctx(t), at, at.Add(-10*time.Minute), 1)
	must(t, err)
	// The interrupted release failed (and expired: its time had come);
	// the live release is left alone; the batch holds one.
	if len(gone) != 1 || gone[0].ID != js[0].ID || gone[0].State != pairgate.JobFailed {
		t.Fatalf("first batch: %+v", gone)
	}
	gone, err = s.ExpireHeldJobs(ctx(t), at, at.Add(-10*time.Minute), 10)
	must(t, err)
	if !sameIDs(jobIDs(gone), []int64{js[2].ID}) {
		t.Fatalf("second batch: %v", jobIDs(gone))
	}
	gone, err = s.ExpireHeldJobs(ctx(t), at, at.Add(-10*time.Minute), 10)
	must(t, err)
	if len(gone) != 0 {
		t.Fatalf("third batch: %v", jobIDs(gone))
	}
	left, err := s.ListHeldJobs(ctx(t), pairgate.HeldJobFilter{All: true})
	must(t, err)
	if !sameIDs(jobIDs(left), []int64{js[1].ID, js[3].ID, js[4].ID}) {
		t.Fatalf("left: %v", jobIDs(left))
	}
	// The quota counts only what is left: 3 jobs of 10 bytes, so 70
	// more bytes fit under 100 and 71 do not.
	q := pairgate.HeldJobQuota{MaxBytes: 100, MaxJobs: 100}
	wantCode(t, s.CreateHeldJob(ctx(t), newJob("usr_e", "eve", key, "dev_e", 71), chunksOf([]byte("x")), q), pairgate.ETOOLARGE)
	must(t, s.CreateHeldJob(ctx(t), newJob("usr_e", "eve", key, "dev_e", 70), chunksOf([]byte("x")), q))
}
