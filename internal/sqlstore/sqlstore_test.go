package sqlstore_test

import (
	"context"
	"testing"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/sqlstore"
	"github.com/pairgate/pairgate/internal/storetest"
	"github.com/pairgate/pairgate/internal/testenv"
)

// TestMain stops the private PostgreSQL the tests start (testenv.Main).
func TestMain(m *testing.M) { testenv.Main(m) }

func open(t *testing.T, dsn string) pairgate.Store {
	s, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) pairgate.Store { return open(t, testenv.SQLiteDSN(t)) })
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) pairgate.Store { return open(t, testenv.PostgresDSN(t)) })
}
