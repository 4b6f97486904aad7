package client_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsOnlyWhatDevicesMayCarry: device programs import this package
// without the server, so it must not depend on any other pairgate package,
// and only on the few modules its doc names.
func TestImportsOnlyWhatDevicesMayCarry(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "github.com/pairgate/pairgate/client").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	allowed := []string{"github.com/pairgate/pairgate/client", "golang.org/x/oauth2", "github.com/gofrs/flock", "golang.org/x/sys/",
		// A maintained JOSE library for the device key's JWK, thumbprint
		// and DPoP proofs: no hand-rolled signatures.
		"github.com/go-jose/go-jose/v4",
		// A maintained IPP library for jobs sent to the held queue: no
		// hand-rolled IPP.
		"github.com/OpenPrinting/goipp"}
	for _, pkg := range strings.Fields(string(out)) {
		ok := false
		for _, a := range allowed {
			if pkg == a || strings.HasPrefix(pkg, a+"/") || strings.HasPrefix(pkg, a) && strings.HasSuffix(a, "/") {
				ok = true
			}
		}
		if !ok {
			t.Errorf("client depends on %s", pkg)
		}
	}
}
