package ipp_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/testenv"
)

// oauthShim builds testdata/oauth_shim.c, which gives libcups the token
// in PAIRGATE_TEST_TOKEN through its own OAuth callback.
func oauthShim(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"gcc", "ipptool"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s is not installed: install Debian's gcc and cups-ipp-utils, or run `make test`", p)
		}
	}
	so := filepath.Join(t.TempDir(), "oauth_shim.so")
	out, err := exec.Command("gcc", "-shared", "-fPIC", "-o", so, "testdata/oauth_shim.c", "-l:libcups.so.2").CombinedOutput()
	if err != nil {
		t.Fatalf("build the OAuth shim for libcups: %v\n%s", err, out)
	}
	return so
}

// TestIPPToolHoldsAJobWithAToken: ipptool, CUPS's own IPP client, holds
// a job with a device's access token: libcups sends the request, gets
// 401 with a Bearer challenge, asks for a token and sends the request
// again with it. Without a token it gets nothing held.
func TestIPPToolHoldsAJobWithAToken(t *testing.T) {
	shim := oauthShim(t)
	s := testenv.StartServer(t)
	dev := s.EnrollDevice(t, "CUPS-Client")
	doc := filepath.Join(t.TempDir(), "memo.txt")
	text := []byte(strings.Repeat("A memo for the held queue.\n", 2000))
	if err := os.WriteFile(doc, text, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(token string) (string, error) {
		cmd := exec.Command("ipptool", "-t", "-T", "20", "-f", doc, "-d", "owner=dora", "-d", "name=memo from ipptool", s.IPP, "testdata/print-job.test")
		cmd.Env = append(os.Environ(), "LD_PRELOAD="+shim, "PAIRGATE_TEST_TOKEN="+token, "LANG=C")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(""); err == nil || !strings.Contains(out, "FAIL") {
		t.Fatalf("ipptool without a token: %v\n%s", err, out)
	}
	if js := heldJobs(t, s); len(js) != 0 {
		t.Fatalf("a job was held without a token: %+v", js[0])
	}
	out, err := run(dev.Token)
	if err != nil {
		t.Fatalf("ipptool: %v\n%s", err, out)
	}
	t.Logf("ipptool:\n%s", out)
	js := heldJobs(t, s)
	if len(js) != 1 || js[0].OwnerName != "dora" || js[0].Verified() || js[0].Name != "memo from ipptool" || js[0].Size != int64(len(text)) ||
		js[0].DeviceID != dev.DeviceID || js[0].State != pairgate.JobHeld {
		t.Fatalf("held: %d jobs, the first %+v", len(js), *js[0])
	}
}
