package oauth

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestEveryErrorMessageFitsRFC6749: case 7 of issue 11. An OAuth error's
// error_description must be printable ASCII without '"' and '\' (RFC 6749
// §5.2). This walks every error message that a request to an OAuth
// endpoint can meet — every pairgate.Errorf format and every
// pairgate.Error{Message: …} literal in the packages on that path — and
// checks the text and the verbs: %q would add the quotes the RFC forbids.
// The writer also replaces what slips through (TestDescriptionIsSafe), but
// a message the writer has to mend is a defect.
func TestEveryErrorMessageFitsRFC6749(t *testing.T) {
	_, here, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(here), "..", "..")
	dirs := []string{".", "internal/oauth", "internal/grants", "internal/authn", "internal/httpx", "internal/ratelimit",
		"internal/accesstoken", "internal/sqlstore", "internal/secret"}
	checked := 0
	for _, dir := range dirs {
		fset := token.NewFileSet()
		pkgs, err := parser.ParseDir(fset, filepath.Join(root, dir), func(fi fs.FileInfo) bool {
			return !strings.HasSuffix(fi.Name(), "_test.go")
		}, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, pkg := range pkgs {
			for _, f := range pkg.Files {
				ast.Inspect(f, func(n ast.Node) bool {
					var lit *ast.BasicLit
					switch x := n.(type) {
					case *ast.CallExpr:
						if sel, ok := x.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Errorf" && len(x.Args) >= 2 {
							if id, ok := sel.X.(*ast.Ident); ok && id.Name == "pairgate" {
								lit, _ = x.Args[1].(*ast.BasicLit)
							}
						}
						if id, ok := x.Fun.(*ast.Ident); ok && id.Name == "Errorf" && len(x.Args) >= 2 && pkg.Name == "pairgate" {
							lit, _ = x.Args[1].(*ast.BasicLit)
						}
					case *ast.KeyValueExpr:
						if k, ok := x.Key.(*ast.Ident); ok && k.Name == "Message" {
							lit, _ = x.Value.(*ast.BasicLit)
						}
					}
					if lit == nil || lit.Kind != token.STRING {
						return true
					}
					msg, err := strconv.Unquote(lit.Value)
					if err != nil {
						return true
					}
					checked++
					pos := fset.Position(lit.Pos())
					if strings.Contains(msg, "%q") {
						t.Errorf("%s: %q uses %%q, which quotes with '\"'", pos, msg)
					}
					for i := 0; i < len(msg); i++ {
						if c := msg[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
							t.Errorf("%s: %q has %q, which an error_description may not", pos, msg, c)
							break
						}
					}
					return true
				})
			}
		}
	}
	if checked < 50 {
		t.Fatalf("only %d messages found: the walk is broken", checked)
	}
}

// TestDescriptionIsSafe: whatever reaches the writer leaves it within RFC
// 6749 §5.2.
func TestDescriptionIsSafe(t *testing.T) {
	for in, want := range map[string]string{
		`client "x" unknown`: "client 'x' unknown",
		`a\b`:                "a?b",
		"naïve\n":            "na??ve?",
		"plain text":         "plain text",
	} {
		if got := description(in); got != want {
			t.Errorf("description(%q) = %q, want %q", in, got, want)
		}
	}
}
