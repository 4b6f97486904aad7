package testenv

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// RowCounts returns the number of rows of every pairgate table, read
// straight from the database, so that a test can prove a refused request
// wrote nothing.
func RowCounts(t testing.TB, dsn string) map[string]int {
	t.Helper()
	driver, src := "sqlite", "file:"+dsn+"?mode=ro"
	if strings.HasPrefix(dsn, "postgres") {
		driver, src = "pgx", dsn
	}
	db, err := sql.Open(driver, src)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	out := map[string]int{}
	for _, table := range []string{"clients", "users", "devices", "device_authorizations", "refresh_families",
		"refresh_tokens", "revoked_access_tokens", "signing_keys", "sessions", "authorization_codes", "rate_limits",
		"api_keys", "audit_events"} {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		out[table] = n
	}
	return out
}
