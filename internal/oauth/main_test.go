package oauth_test

import (
	"testing"

	"github.com/pairgate/pairgate/internal/testenv"
)

// TestMain stops the private PostgreSQL the tests start (testenv.Main).
func TestMain(m *testing.M) { testenv.Main(m) }
