package httpx_test

import (
	"net/http/httptest"
	"testing"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/httpx"
)

// FuzzParseParams: whatever a client sends as a body, parsing either
// fails with EINVALID or yields one non-empty value per parameter.
func FuzzParseParams(f *testing.F) {
	for _, s := range []string{
		"grant_type=refresh_token&refresh_token=pgr_x",
		`{"scope":"printing","mode":"device"}`,
		`  {"scope":["printing","portal"],"n":1,"b":true,"z":null}`,
		"a=1&a=1&b=&c=%zz",
		`{"a":{"b":1}}`,
		`{"a":1} trailing`,
		"",
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, jsonOK bool) {
		v, err := httpx.ParseParams(body, jsonOK)
		if err != nil {
			if c := pairgate.ErrorCode(err); c != pairgate.EINVALID {
				t.Fatalf("error code %q: %v", c, err)
			}
			return
		}
		for k, vs := range v {
			if len(vs) != 1 || vs[0] == "" {
				t.Fatalf("parameter %q has values %q", k, vs)
			}
		}
	})
}

// FuzzClientIP: no X-Forwarded-For, however crafted, makes an untrusted
// peer appear as another address, and nothing panics.
func FuzzClientIP(f *testing.F) {
	f.Add("203.0.113.9:1234", "198.51.100.1, 10.0.0.1", "10.0.0.0/8")
	f.Add("10.0.0.1:80", "198.51.100.1,,::ffff:1.2.3.4, 10.0.0.2", "10.0.0.0/8,::1")
	f.Add("[::1]:80", "garbage", "")
	f.Fuzz(func(t *testing.T, remote, xff, trusted string) {
		prefixes, err := httpx.ParseTrusted(trusted)
		if err != nil {
			return
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		got := httpx.ClientIP{Trusted: prefixes}.Of(r)
		untrusted := httpx.ClientIP{}.Of(r)
		if len(prefixes) == 0 && got != untrusted {
			t.Fatalf("with no trusted proxy the header changed the address: %q vs %q", got, untrusted)
		}
	})
}
