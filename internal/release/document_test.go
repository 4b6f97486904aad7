package release

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/sqlstore"
)

// store stores held documents as Submit does, in a real SQLite store.
func store(t *testing.T) pairgate.Store {
	s, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "pairgate.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestDocumentsRoundTripInChunks: a document of any size, sealed chunk by
// chunk (in memory, and past memSpool in the temporary file), is read
// back as it was; over the limit it is refused.
func TestDocumentsRoundTripInChunks(t *testing.T) {
	keys, _ := secret.NewKeys(secret.NewMasterKey())
	st := store(t)
	c := pairgate.HeldJobChunkSize
	for i, size := range []int{1, c - 1, c, c + 1, 2 * c, memSpool + c/2, 3*memSpool + 7} {
		doc := make([]byte, size)
		rand.Read(doc)
		dataID := secret.RandomID("hd_")
		var sp spool
		n, err := sealDocument(keys, dataID, bytes.NewReader(doc), 64<<20, &sp)
		if err != nil || n != int64(size) {
			t.Fatalf("size %d: sealed %d, %v", size, n, err)
		}
		if (size > memSpool) != (sp.f != nil) {
			t.Errorf("size %d: spilled to a file: %v", size, sp.f != nil)
		}
		j := &pairgate.HeldJob{OwnerName: "x", QuotaKey: "user:x", DeviceID: "d", Name: "n", Format: "text/plain", Size: n, Copies: 1,
			State: pairgate.JobHeld, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour), DataID: dataID}
		if err := st.CreateHeldJob(context.Background(), j, sp.chunks(), pairgate.HeldJobQuota{MaxBytes: 1 << 30, MaxJobs: 100}); err != nil {
			t.Fatal(err)
		}
		sp.close()
		if want := (size + c - 1) / c; j.Chunks != want {
			t.Errorf("size %d: %d chunks, want %d", size, j.Chunks, want)
		}
		got, err := io.ReadAll(&documentReader{ctx: context.Background(), store: st, keys: keys, job: j})
		if err != nil || !bytes.Equal(got, doc) {
			t.Fatalf("document %d (%d bytes) read back as %d bytes: %v", i, size, len(got), err)
		}
	}
	var sp spool
	defer sp.close()
	if _, err := sealDocument(keys, "hd_x", bytes.NewReader(make([]byte, 1001)), 1000, &sp); err != errTooLarge {
		t.Fatalf("over the limit: %v", err)
	}
}

// TestSealedChunksStayInPlace: a chunk opens only as the chunk it was,
// of the job it was: moved to another place, another job, or made the
// last, it does not, and a document cut short is an error.
func TestSealedChunksStayInPlace(t *testing.T) {
	keys, _ := secret.NewKeys(secret.NewMasterKey())
	var sp spool
	defer sp.close()
	doc := make([]byte, 2*pairgate.HeldJobChunkSize+10)
	if _, err := sealDocument(keys, "hd_a", bytes.NewReader(doc), 1<<30, &sp); err != nil {
		t.Fatal(err)
	}
	var chunks [][]byte
	for c, err := range sp.chunks() {
		if err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, c)
	}
	if len(chunks) != 3 {
		t.Fatalf("%d chunks", len(chunks))
	}
	if _, err := keys.Open(chunks[1], chunkAD("hd_a", 1, false)); err != nil {
		t.Fatalf("a chunk in its place does not open: %v", err)
	}
	for _, ad := range []string{chunkAD("hd_a", 0, false), chunkAD("hd_a", 1, true), chunkAD("hd_b", 1, false)} {
		if _, err := keys.Open(chunks[1], ad); err == nil {
			t.Errorf("chunk 1 opened as %q", ad)
		}
	}
	// A document whose last chunk is missing: the one before it is not
	// the last, so reading stops with an error rather than a short file.
	st := store(t)
	j := &pairgate.HeldJob{OwnerName: "x", QuotaKey: "user:x", DeviceID: "d", Name: "n", Format: "text/plain", Size: int64(len(doc)), Copies: 1,
		State: pairgate.JobHeld, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour), DataID: "hd_a"}
	if err := st.CreateHeldJob(context.Background(), j, func(yield func([]byte, error) bool) {
		yield(chunks[0], nil)
		yield(chunks[1], nil)
	}, pairgate.HeldJobQuota{MaxBytes: 1 << 30, MaxJobs: 100}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(&documentReader{ctx: context.Background(), store: st, keys: keys, job: j}); err == nil {
		t.Fatal("a document cut short was read to its end")
	}
}
