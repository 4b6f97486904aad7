package pairgate_test

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/pairgate/pairgate"

// allowed is the layering of STYLE.md as an allow-list: every package of
// the module, and the packages of the module it may import. Arrows point
// one way (cmd → cli → app → server → {oauth, web, api} → {grants,
// authn, admin, httpx} → {accesstoken, ratelimit, audit, secret} →
// pairgate); siblings never import each other. A package missing from
// this table fails the test: a new package takes a place on purpose.
var allowed = map[string][]string{
	"":                     {}, // the domain: the standard library only
	"adminapi":             {}, // public: the standard library only
	"client":               {}, // public: no server code (client/deps_test.go names its modules)
	"verify":               {}, // public: no server code (verify/deps_test.go)
	"internal/secret":      {},
	"internal/metrics":     {},
	"internal/statuslist":  {""},
	"internal/dpop":        {"", "internal/secret"},
	"internal/accesstoken": {"", "verify", "internal/secret", "internal/statuslist"},
	"internal/audit":       {"", "internal/secret"},
	"internal/ratelimit":   {"", "internal/secret"},
	"internal/httpx":       {""},
	"internal/printing":    {""},
	"internal/pace":        {},
	"internal/sqlstore":    {"", "internal/pace"},
	"internal/storetest":   {""},
	"internal/grants":      {"", "internal/secret", "internal/accesstoken", "internal/audit", "internal/ratelimit", "internal/dpop"},
	"internal/admin":       {"", "internal/secret", "internal/audit", "internal/ratelimit", "internal/printing"},
	"internal/authn":       {"", "internal/secret", "internal/accesstoken", "internal/audit", "internal/ratelimit", "internal/dpop"},
	"internal/lifecycle":   {"", "internal/audit", "internal/pace"},
	"internal/release":     {"", "internal/secret", "internal/audit", "internal/printing"},
	"internal/ipp":         {"", "internal/accesstoken", "internal/audit", "internal/authn", "internal/dpop", "internal/httpx", "internal/release"},
	"internal/upstream":    {"", "internal/secret", "internal/audit", "internal/ratelimit"},
	"internal/oauth": {"", "internal/secret", "internal/accesstoken", "internal/statuslist", "internal/dpop", "internal/ratelimit", "internal/metrics", "internal/httpx",
		"internal/authn", "internal/grants"},
	"internal/api": {"", "adminapi", "internal/secret", "internal/accesstoken", "internal/dpop", "internal/audit", "internal/httpx", "internal/authn", "internal/admin",
		"internal/grants", "internal/printing"},
	"internal/web": {"", "internal/secret", "internal/audit", "internal/ratelimit", "internal/httpx", "internal/authn",
		"internal/grants", "internal/admin", "internal/upstream", "internal/printing", "internal/release"},
	"internal/server": {"", "internal/secret", "internal/accesstoken", "internal/audit", "internal/metrics", "internal/httpx", "internal/grants", "internal/lifecycle",
		"internal/release", "internal/oauth", "internal/api", "internal/web"},
	"internal/app": {"", "internal/secret", "internal/accesstoken", "internal/audit", "internal/ratelimit", "internal/metrics",
		"internal/httpx", "internal/sqlstore", "internal/dpop", "internal/grants", "internal/admin", "internal/authn", "internal/lifecycle", "internal/oauth",
		"internal/api", "internal/web", "internal/server", "internal/upstream", "internal/printing", "internal/release", "internal/ipp"},
	"internal/cli":             {"", "adminapi", "client", "internal/secret", "internal/admin", "internal/app", "internal/printing"},
	"internal/testenv":         {"", "internal/secret", "internal/admin", "internal/grants", "internal/release", "internal/app"},
	"cmd/pairgate":             {"internal/cli"},
	"examples/resource-server": {"verify"},
	"cmd/pairgate-bench":       {"", "client", "internal/authn", "internal/secret", "internal/accesstoken", "internal/dpop", "internal/grants", "internal/admin", "internal/app", "internal/release", "internal/sqlstore", "internal/statuslist"},
}

// harness are the real parts any package's tests may start: a whole
// server (testenv, configured through app), a real store and its
// conformance suite. A test that imports anything else of the module
// outside its package's row imports upward.
var harness = []string{"internal/testenv", "internal/app", "internal/sqlstore", "internal/storetest", "client", "adminapi"}

// testsAlso are what a package's tests may import besides its row and the
// harness: the client package's tests are end to end against a real
// server, set up as an admin would.
var testsAlso = map[string][]string{
	"client": {"", "internal/admin", "internal/secret"},
	"verify": {""},
}

// stdlibOnly are the packages whose importers include programs outside
// pairgate (or everything inside it).
var stdlibOnly = []string{"", "adminapi"}

type pkgInfo struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
	Deps         []string
	Standard     bool
}

func TestLayering(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	rel := func(p string) (string, bool) {
		if p != module && !strings.HasPrefix(p, module+"/") {
			return "", false
		}
		return strings.TrimPrefix(strings.TrimPrefix(p, module), "/"), true
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := map[string]bool{}
	for dec.More() {
		var p pkgInfo
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		name, _ := rel(p.ImportPath)
		seen[name] = true
		row, ok := allowed[name]
		if !ok {
			t.Errorf("package %s has no place in the layering table of layers_test.go", display(name))
			continue
		}
		for _, imp := range p.Imports {
			if d, ours := rel(imp); ours && !slices.Contains(row, d) {
				t.Errorf("%s imports %s", display(name), display(d))
			}
		}
		for _, imp := range append(p.TestImports, p.XTestImports...) {
			if d, ours := rel(imp); ours && d != name && !slices.Contains(row, d) && !slices.Contains(harness, d) && !slices.Contains(testsAlso[name], d) {
				t.Errorf("the tests of %s import %s", display(name), display(d))
			}
		}
		if slices.Contains(stdlibOnly, name) {
			for _, imp := range p.Imports {
				if _, ours := rel(imp); !ours && strings.Contains(strings.Split(imp, "/")[0], ".") {
					t.Errorf("%s imports %s: it may use the standard library only", display(name), imp)
				}
			}
		}
	}
	for name := range allowed {
		if !seen[name] {
			t.Errorf("the layering table names %s, which does not exist", display(name))
		}
	}
}

func display(p string) string {
	if p == "" {
		return "pairgate"
	}
	return p
}
