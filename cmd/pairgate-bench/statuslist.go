package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/pairgate/pairgate/internal/sqlstore"
	"github.com/pairgate/pairgate/internal/statuslist"
)

// statusRevokedOneIn is the share of a list's authorizations the
// status-list step marks revoked: a fleet where one in a hundred devices
// was deleted, signed out or replaced while its last token could still be
// unexpired.
const statusRevokedOneIn = 100

// statusList measures GET /statuslists/0 with a full list: 2^20
// authorizations, one in a hundred revoked at random positions (the worst
// case for the compression, next to a run of neighbours). It prints the
// list's size and the time to build and sign it (a replica rebuilds a
// list at most once a second), then drives the endpoint as resource
// servers would, with and without If-None-Match.
func (b *bench) statusList() (result, error) {
	ctx := context.Background()
	n := statuslist.Size / statusRevokedOneIn
	if err := fillStatusList(ctx, b.app.Config.DBPath(), n); err != nil {
		return result{}, err
	}
	u := b.base + "/statuslists/0"
	// Cold builds: the cache lives a second, so each fetch a little more
	// than a second after the last reads the revoked indexes, encodes
	// and signs.
	var builds []time.Duration
	var size int
	for i := range 4 {
		if i > 0 {
			time.Sleep(1100 * time.Millisecond)
		}
		t0 := time.Now()
		resp, err := b.client.Get(u)
		if err != nil {
			return result{}, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		builds = append(builds, time.Since(t0))
		if err != nil || resp.StatusCode != http.StatusOK {
			return result{}, fmt.Errorf("status list: %d %v", resp.StatusCode, err)
		}
		size = len(body)
	}
	sort.Slice(builds, func(i, j int) bool { return builds[i] < builds[j] })
	fmt.Fprintf(os.Stderr, "  status list 0: %d authorizations, %d revoked: %d bytes as a signed JWT; cold build and sign %s (median of %d)\n",
		statuslist.Size, n, size, ms(builds[len(builds)/2]), len(builds))
	r, err := b.drive("status list (whole list)", func(int) (*http.Request, func(int, []byte) bool) {
		req, _ := http.NewRequest("GET", u, nil)
		return req, func(s int, body []byte) bool { return s == 200 && len(body) == size }
	})
	if err != nil {
		return r, err
	}
	r.note = fmt.Sprintf("  %d B, %d revoked of %d", size, n, statuslist.Size)
	return r, nil
}

// statusListRevalidate is the same list fetched with its ETag: what a
// resource server does when its copy's ttl ran out and nothing changed.
func (b *bench) statusListRevalidate() (result, error) {
	u := b.base + "/statuslists/0"
	resp, err := b.client.Get(u)
	if err != nil {
		return result{}, err
	}
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	return b.drive("status list (If-None-Match, 304)", func(int) (*http.Request, func(int, []byte) bool) {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("If-None-Match", etag)
		return req, func(s int, _ []byte) bool { return s == http.StatusNotModified }
	})
}

// fillStatusList marks n random indexes of list 0 revoked and moves the
// allocator past the list, directly in the database: a million
// authorizations through the grant endpoints would take the bench hours.
func fillStatusList(ctx context.Context, dsn string, n int) error {
	driver, pg := "sqlite", sqlstore.IsPostgres(dsn)
	if pg {
		driver = "pgx"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := time.Now().UnixNano()
	picked := map[int]bool{}
	const batch = 500
	var vals []string
	var args []any
	flush := func() error {
		if len(vals) == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO token_status (idx, changed_at) VALUES `+strings.Join(vals, ",")+` ON CONFLICT (idx) DO NOTHING`, args...)
		vals, args = vals[:0], args[:0]
		return err
	}
	for len(picked) < n {
		i := rand.IntN(statuslist.Size)
		if picked[i] {
			continue
		}
		picked[i] = true
		vals = append(vals, fmt.Sprintf("($%d, $%d)", len(args)+1, len(args)+2))
		args = append(args, i, now)
		if len(vals) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	q := `UPDATE status_counter SET next = $1 WHERE next < $1`
	if pg {
		q = `SELECT setval('status_idx_seq', GREATEST($1, (SELECT last_value FROM status_idx_seq)))`
	}
	if _, err := tx.ExecContext(ctx, q, statuslist.Size); err != nil {
		return fmt.Errorf("move the status index allocator: %w", err)
	}
	return tx.Commit()
}
