package adminapi_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsTheStandardLibraryOnly: scripts and other programs import
// this package without the server.
func TestImportsTheStandardLibraryOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "github.com/pairgate/pairgate/adminapi").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg != "github.com/pairgate/pairgate/adminapi" {
			t.Errorf("adminapi depends on %s", pkg)
		}
	}
}
