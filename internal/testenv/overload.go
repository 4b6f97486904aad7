package testenv

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// HoldWriteSlot overloads a server started with MaxConcurrentWrites 1
// (on SQLite) for as long as the test wants: it takes the database's
// write lock from outside, as a long backup or checkpoint would, and sends
// one write (a device authorization) that is admitted and then waits on
// that lock, holding the server's only write slot. Until release is
// called, every other refresh, redemption or device authorization waits
// --overload-wait for the slot and is answered 503 with a Retry-After.
// Release within a few seconds: the store gives up on a lock after 10 s.
func (s *Server) HoldWriteSlot(t testing.TB) (release func()) {
	t.Helper()
	if strings.HasPrefix(s.DB, "postgres") {
		t.Fatal("HoldWriteSlot: only for servers on SQLite")
	}
	// The server may be writing at this moment (a last-seen time, the
	// cleanup): wait for the lock rather than fail on SQLITE_BUSY.
	dsn := s.DB
	if strings.Contains(dsn, "?") {
		dsn += "&_pragma=busy_timeout(5000)"
	} else {
		dsn += "?_pragma=busy_timeout(5000)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatalf("HoldWriteSlot: %v", err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatalf("HoldWriteSlot: %v", err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("HoldWriteSlot: take the write lock: %v", err)
	}
	blocked := make(chan int, 1)
	go func() {
		resp, err := http.PostForm(s.Addr+"/oauth/device/code", url.Values{"client_id": {"print-client"}})
		if err != nil {
			blocked <- 0
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		blocked <- resp.StatusCode
	}()
	var once sync.Once
	release = func() {
		once.Do(func() {
			conn.ExecContext(context.Background(), "ROLLBACK")
			conn.Close()
			db.Close()
			if code := <-blocked; code != http.StatusOK {
				t.Errorf("HoldWriteSlot: the write that held the slot was answered %d", code)
			}
		})
	}
	t.Cleanup(release)
	// The slot is held once a write that is refused at once (an
	// invalid refresh token, turned away by the grant after admission)
	// is refused by the admission instead.
	for deadline := time.Now().Add(5 * time.Second); ; {
		resp, err := http.PostForm(s.Addr+"/oauth/token", url.Values{"client_id": {"print-client"},
			"grant_type": {"refresh_token"}, "refresh_token": {"probe"}})
		if err != nil {
			release()
			t.Fatalf("HoldWriteSlot: probe: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			return release
		}
		select {
		case code := <-blocked:
			blocked <- code
			release()
			t.Fatalf("HoldWriteSlot: the blocking write was answered %d before it could hold the slot", code)
		default:
		}
		if time.Now().After(deadline) {
			release()
			t.Fatalf("HoldWriteSlot: the write slot is still free (probe answered %d): is MaxConcurrentWrites 1?", resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
