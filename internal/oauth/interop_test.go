package oauth_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/testenv"
)

// nodeDevice prepares testdata/node — a device written against panva's
// `dpop` package, pinned by package-lock.json — in a temporary directory
// and returns it. It needs node and npm (Debian's nodejs and npm packages;
// scripts/test-deps.sh installs them) and the npm registry, and fails,
// never skips, without them.
func nodeDevice(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: the DPoP interoperability test needs Node.js (apt-get install -y nodejs npm, as scripts/test-deps.sh does)", tool)
		}
	}
	dir := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json", "device.mjs"} {
		b, err := os.ReadFile(filepath.Join("testdata", "node", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci (the pinned dpop package from the npm registry): %v\n%s", err, out)
	}
	return dir
}

// TestDPoPInteropWithAnIndependentClient: a device built on panva's
// `dpop` package (not ours, not Go) asks for a device code with a proof,
// polls with proofs while the test approves as a person would, refreshes
// with a proof and calls the device API as DPoP, against a real server:
// with ES256, and with PS256 and server nonces.
func TestDPoPInteropWithAnIndependentClient(t *testing.T) {
	dir := nodeDevice(t)
	for _, tc := range []struct {
		alg    string
		nonces bool
	}{{"ES256", false}, {"PS256", true}} {
		t.Run(tc.alg, func(t *testing.T) {
			s := testenv.StartServer(t, testenv.WithConfig(func(c *app.Config) { c.DPoPNonce = tc.nonces }))
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "node", "device.mjs", s.URL, tc.alg)
			cmd.Dir = dir
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var last map[string]any
			var jkt string
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				var line map[string]any
				if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
					t.Fatalf("node said %q", sc.Text())
				}
				t.Logf("node: %s", sc.Text())
				if line["step"] == "code" {
					jkt, _ = line["jkt"].(string)
					a := s.ApproveUserCode(t, line["user_code"].(string))
					if a.DPoPJKT != jkt || jkt == "" {
						t.Fatalf("the code is bound to %q, the node device's key is %q", a.DPoPJKT, jkt)
					}
				}
				last = line
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("node device: %v (last line %v)\n%s", err, last, stderr.String())
			}
			if last["ok"] != true || last["dpop_jkt"] != jkt {
				t.Fatalf("node device ended with %v", last)
			}
			if tc.nonces && last["nonce_used"] != true {
				t.Fatalf("the server's nonce was never used: %v", last)
			}
			d, err := s.App.Store.GetDevice(ctx, last["device_id"].(string))
			if err != nil || d.DPoPJKT != jkt {
				t.Fatalf("inventory: %+v %v", d, err)
			}
		})
	}
}
