package verify_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependsOnNothingOfTheServer: resource servers import this package;
// it must not pull pairgate's server in, only go-jose.
func TestDependsOnNothingOfTheServer(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "github.com/pairgate/pairgate/verify").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg != "github.com/pairgate/pairgate/verify" && !strings.HasPrefix(pkg, "github.com/go-jose/go-jose/v4") {
			t.Errorf("verify depends on %s", pkg)
		}
	}
}
