package pairgate_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestLayering keeps the arrows of STYLE.md honest: the domain imports only
// the standard library, the HTTP audiences (oauth, web, api) never import
// each other, the layers below them import none of them, and only cli
// knows the concrete store.
func TestLayering(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/pairgate/pairgate"
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, ":")
		imports[strings.TrimPrefix(strings.TrimPrefix(pkg, mod), "/")] = strings.Fields(deps)
	}
	internal := func(dep string) (string, bool) {
		if !strings.HasPrefix(dep, mod) {
			return "", false
		}
		return strings.TrimPrefix(strings.TrimPrefix(dep, mod), "/"), true
	}
	forbidden := map[string][]string{
		"":                     {"*"}, // the domain: standard library only
		"internal/oauth":       {"internal/web", "internal/api", "internal/server", "internal/cli", "internal/sqlstore"},
		"internal/web":         {"internal/oauth", "internal/api", "internal/server", "internal/cli", "internal/sqlstore"},
		"internal/api":         {"internal/oauth", "internal/web", "internal/server", "internal/cli", "internal/sqlstore"},
		"internal/grants":      {"internal/oauth", "internal/web", "internal/api", "internal/server", "internal/cli", "internal/sqlstore", "internal/authn", "internal/httpx"},
		"internal/admin":       {"internal/oauth", "internal/web", "internal/api", "internal/server", "internal/cli", "internal/sqlstore", "internal/authn", "internal/httpx"},
		"internal/authn":       {"internal/oauth", "internal/web", "internal/api", "internal/server", "internal/cli", "internal/sqlstore", "internal/grants"},
		"internal/httpx":       {"internal/oauth", "internal/web", "internal/api", "internal/server", "internal/cli", "internal/sqlstore", "internal/grants", "internal/authn"},
		"internal/accesstoken": {"internal/oauth", "internal/web", "internal/api", "internal/server", "internal/cli", "internal/sqlstore", "internal/grants", "internal/authn", "internal/httpx"},
		"internal/secret":      {"*"},
		"internal/ratelimit":   {"internal/oauth", "internal/web", "internal/api", "internal/server", "internal/cli", "internal/sqlstore", "internal/grants", "internal/authn", "internal/httpx"},
		"internal/sqlstore":    {"internal/oauth", "internal/web", "internal/api", "internal/server", "internal/cli", "internal/grants", "internal/authn", "internal/httpx", "internal/accesstoken"},
		"internal/server":      {"internal/cli", "internal/sqlstore"},
		"internal/printing":    {"internal/oauth", "internal/web", "internal/api", "internal/server", "internal/cli", "internal/sqlstore", "internal/grants", "internal/authn", "internal/httpx", "internal/admin"},
		"client":               {"*"}, // device programs import it without the server
	}
	for pkg, bad := range forbidden {
		deps, ok := imports[pkg]
		if !ok {
			t.Errorf("package %q not found", pkg)
			continue
		}
		for _, dep := range deps {
			d, isOurs := internal(dep)
			if !isOurs {
				if pkg == "" && strings.Contains(strings.Split(dep, "/")[0], ".") {
					t.Errorf("the domain package imports %s: it may use the standard library only", dep)
				}
				continue
			}
			for _, b := range bad {
				if b == "*" && d != "" || b == d {
					t.Errorf("%s imports %s", displayName(pkg), displayName(d))
				}
			}
		}
	}
}

func displayName(p string) string {
	if p == "" {
		return "pairgate"
	}
	return p
}
