package sqlstore

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Choosing what to ask the trigram index (SQLite's FTS5 trigram table,
// PostgreSQL's pg_trgm GIN). Both answer LIKE '%term%' with every trigram
// of the term, and reading a trigram's list costs as many devices as have
// it: a serial number's "sn0" and "000" are in every device of a fleet,
// so a search for one serial read two million-entry lists (SQLite 33 ms,
// PostgreSQL 30–60 ms at a million devices) to find one device. A device
// that contains the term contains each of its trigrams, so any few of
// them find a superset of the matches, which LIKE then checks row by row;
// the few asked for are the rarest, as estimated from a sample of the
// inventory's search texts. A stale or unlucky estimate costs time, never
// a match.

const (
	// sampleSize is how many devices the estimate reads (about 12 ms at a
	// million devices, on a read connection, in the background).
	sampleSize = 2000
	// sampleEvery is how long an estimate serves before the next search
	// has a new one taken.
	sampleEvery = 10 * time.Minute
	// matchTrigrams is how many of a term's trigrams are asked for.
	matchTrigrams = 3
)

// trigramSample counts, for each trigram, the devices of a sample of n
// whose search text has it.
type trigramSample struct {
	taken  time.Time
	n      int
	counts map[string]uint16
}

type trigramEstimate struct {
	cur      atomic.Pointer[trigramSample]
	sampling atomic.Bool
	wg       sync.WaitGroup
	// now is the clock (tests move it).
	now func() time.Time
}

// rarest returns up to matchTrigrams of term's trigrams, the rarest
// first, or nil when there is no estimate yet or the term does not suit
// (shorter than three characters, or not ASCII, which the index folds
// by Unicode rules that this estimate does not repeat, or more common
// than the dialect's rareShare). It has a new estimate taken in the
// background when this one is old.
func (s *Store) rarest(term string) []string {
	e := s.trigrams
	if e == nil {
		return nil
	}
	cur := e.cur.Load()
	if cur == nil || e.now().Sub(cur.taken) > sampleEvery {
		e.resample(s)
	}
	if cur == nil || len(term) < 3 {
		return nil
	}
	for i := 0; i < len(term); i++ {
		if term[i] >= 0x80 {
			return nil
		}
	}
	grams := slices.DeleteFunc(trigramsOf(s.d.lower(term)), func(g string) bool { return !s.d.indexedTrigram(g) })
	if len(grams) == 0 {
		return nil
	}
	slices.SortStableFunc(grams, func(a, b string) int { return int(cur.counts[a]) - int(cur.counts[b]) })
	if float64(cur.counts[grams[0]]) > s.d.rareShare*float64(cur.n) {
		return nil
	}
	return grams[:min(len(grams), matchTrigrams)]
}

// trigramsOf returns the distinct trigrams of an ASCII text.
func trigramsOf(text string) []string {
	var out []string
	for i := 0; i+3 <= len(text); i++ {
		if g := text[i : i+3]; !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

// matchExpr is an FTS5 query for rows that have all of grams.
func matchExpr(grams []string) string {
	q := make([]string, len(grams))
	for i, g := range grams {
		q[i] = `"` + strings.ReplaceAll(g, `"`, `""`) + `"`
	}
	return strings.Join(q, " AND ")
}

// resample takes a new estimate in the background, one at a time.
func (e *trigramEstimate) resample(s *Store) {
	if !e.sampling.CompareAndSwap(false, true) {
		return
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer e.sampling.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		sample, err := s.sampleTrigrams(ctx)
		if err != nil {
			// The searches go on with the old estimate, or the whole
			// pattern; the next one tries again.
			return
		}
		e.cur.Store(sample)
	}()
}

// sampleTrigrams reads the search texts of about sampleSize devices
// taken at random and counts, for each trigram, the devices that have it.
func (s *Store) sampleTrigrams(ctx context.Context) (*trigramSample, error) {
	sample := &trigramSample{taken: s.trigrams.now(), counts: map[string]uint16{}}
	rows, err := s.d.sampleSearchTexts(ctx, s)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var text string
		if err := rows.Scan(&text); err != nil {
			return nil, err
		}
		sample.n++
		for _, g := range trigramsOf(text) {
			sample.counts[g]++
		}
	}
	return sample, rows.Err()
}

func (e *trigramEstimate) stop() {
	if e != nil {
		e.wg.Wait()
	}
}
