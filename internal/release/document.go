package release

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"strconv"
	"sync"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
)

// A held document is sealed (AES-256-GCM under a key derived from the
// master key) in chunks of pairgate.HeldJobChunkSize. Each chunk's
// associated data names the job's random data id, the chunk's place and
// whether it is the last: a chunk moved to another job, put in another
// place, or a document cut short after a chunk, does not open. Chunks
// bound what is in memory at once, on the way in and on the way out.

// chunkAD is what a chunk is bound to.
func chunkAD(dataID string, seq int, last bool) string {
	return "pairgate held job\x00" + dataID + "\x00" + strconv.Itoa(seq) + "\x00" + strconv.FormatBool(last)
}

// memSpool is how much sealed data a submission keeps in memory before
// it spills to a temporary file (itself only ever sealed data).
const memSpool = 4 << 20

// spool holds a submission's sealed chunks until the store takes them
// in one transaction: the upload, which may be slow, never holds the
// database, and memory stays bounded whatever the document's size.
type spool struct {
	mem   [][]byte
	inMem int
	f     *os.File // after memSpool bytes; unlinked at once
	n     int      // chunks in the file
}

func (s *spool) add(c []byte) error {
	if s.f == nil && s.inMem+len(c) <= memSpool {
		s.mem = append(s.mem, c)
		s.inMem += len(c)
		return nil
	}
	if s.f == nil {
		f, err := os.CreateTemp("", "pairgate-job-*")
		if err != nil {
			return err
		}
		// Unlinked while open: a crash leaves nothing behind.
		os.Remove(f.Name())
		s.f = f
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(c)))
	if _, err := s.f.Write(n[:]); err != nil {
		return err
	}
	_, err := s.f.Write(c)
	s.n++
	return err
}

// chunks yields the sealed chunks in order, for the store.
func (s *spool) chunks() iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		for _, c := range s.mem {
			if !yield(c, nil) {
				return
			}
		}
		if s.f == nil {
			return
		}
		if _, err := s.f.Seek(0, io.SeekStart); err != nil {
			yield(nil, err)
			return
		}
		for range s.n {
			var n [4]byte
			if _, err := io.ReadFull(s.f, n[:]); err != nil {
				yield(nil, err)
				return
			}
			c := make([]byte, binary.BigEndian.Uint32(n[:]))
			if _, err := io.ReadFull(s.f, c); err != nil {
				yield(nil, err)
				return
			}
			if !yield(c, nil) {
				return
			}
		}
	}
}

func (s *spool) close() {
	if s.f != nil {
		s.f.Close()
	}
}

var errTooLarge = errors.New("document too large")

// chunkBuffers are the read buffers of submissions in flight.
var chunkBuffers = sync.Pool{New: func() any {
	b := make([]byte, pairgate.HeldJobChunkSize)
	return &b
}}

// sealDocument reads doc to its end, or to one byte past max, sealing it
// chunk by chunk into sp, and returns its size. errTooLarge when it is
// larger than max; a read error as it came.
func sealDocument(keys *secret.Keys, dataID string, doc io.Reader, max int64, sp *spool) (int64, error) {
	// One chunk is read ahead, so that the last one is known as the last
	// when it is sealed. The read buffers are reused across submissions
	// (sealing copies what it seals).
	b1, b2 := chunkBuffers.Get().(*[]byte), chunkBuffers.Get().(*[]byte)
	defer chunkBuffers.Put(b1)
	defer chunkBuffers.Put(b2)
	cur, next := (*b1)[:pairgate.HeldJobChunkSize], (*b2)[:pairgate.HeldJobChunkSize]
	n, err := io.ReadFull(doc, cur)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return 0, err
	}
	cur = cur[:n]
	var size int64
	for seq := 0; ; seq++ {
		size += int64(len(cur))
		if size > max {
			return size, errTooLarge
		}
		if len(cur) < pairgate.HeldJobChunkSize {
			// A short read is the end.
			return size, sp.add(keys.Seal(cur, chunkAD(dataID, seq, true)))
		}
		m, err := io.ReadFull(doc, next[:cap(next)])
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return size, err
		}
		last := m == 0
		if err := sp.add(keys.Seal(cur, chunkAD(dataID, seq, last))); err != nil {
			return size, err
		}
		if last {
			return size, nil
		}
		cur, next = next[:m], cur[:cap(cur)]
	}
}

// documentReader reads a held job's document back, chunk by chunk,
// opening each and checking that they are this job's, in order, and all
// of them.
type documentReader struct {
	ctx   context.Context
	store pairgate.Store
	keys  *secret.Keys
	job   *pairgate.HeldJob
	seq   int
	buf   *bytes.Reader
	read  int64
	done  bool
	err   error // the first failure, for the release's reason
}

func (r *documentReader) Read(p []byte) (int, error) {
	for {
		if r.err != nil {
			return 0, r.err
		}
		if r.buf != nil && r.buf.Len() > 0 {
			n, _ := r.buf.Read(p)
			r.read += int64(n)
			return n, nil
		}
		if r.done {
			if r.read != r.job.Size {
				return 0, r.fail(fmt.Errorf("%d bytes read back, %d stored", r.read, r.job.Size))
			}
			return 0, io.EOF
		}
		if r.seq >= r.job.Chunks {
			return 0, r.fail(errors.New("the document ends without its last chunk"))
		}
		sealed, err := r.store.HeldJobChunk(r.ctx, r.job.ID, r.seq)
		if err != nil {
			return 0, r.fail(err)
		}
		last := r.seq == r.job.Chunks-1
		plain, err := r.keys.Open(sealed, chunkAD(r.job.DataID, r.seq, last))
		if err != nil {
			return 0, r.fail(err)
		}
		r.seq++
		r.done = last
		r.buf = bytes.NewReader(plain)
	}
}

func (r *documentReader) fail(err error) error {
	r.err = fmt.Errorf("held document of job %d: %w", r.job.ID, err)
	return r.err
}
