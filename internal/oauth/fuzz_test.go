package oauth_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pairgate/pairgate/internal/testenv"
)

// FuzzOAuthEndpoints sends arbitrary bodies and Authorization headers to
// every OAuth endpoint of a real server (real store, real keys): the answer
// is never a 500, and every error is RFC 6749 JSON.
func FuzzOAuthEndpoints(f *testing.F) {
	s := testenv.StartServer(f)
	h := s.App.Server.Handler()
	paths := []string{"/oauth/token", "/oauth/access_token/", "/oauth/device/code", "/oauth/pair/", "/oauth/revoke", "/oauth/introspect"}
	seeds := []string{
		"grant_type=refresh_token&client_id=print-client&refresh_token=pgr_x",
		"grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id=print-client&device_code=pgd_x",
		"grant_type=pairing_code&pairing_code=AAAAAAAAAA&scope=printing",
		`{"scope":"printing","mode":"device","hardware_id":"\u0000"}`,
		"client_id=print-client&scope=printing+portal&mode=user",
		"token=eyJhbGciOiJub25lIn0.e30.&client_id=print-client",
	}
	for i, b := range seeds {
		f.Add(uint8(i), b, "Basic cHJpbnQtY2xpZW50Og==")
		f.Add(uint8(i+1), b, "")
	}
	f.Fuzz(func(t *testing.T, which uint8, body, auth string) {
		r := httptest.NewRequest("POST", paths[int(which)%len(paths)], strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 && w.Code != 503 {
			t.Fatalf("%s %q: %d %s", r.URL.Path, body, w.Code, w.Body.String())
		}
		if w.Code >= 400 {
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("%s %q: %d with a body that is not an OAuth error: %q", r.URL.Path, body, w.Code, w.Body.String())
			}
		}
	})
}

// FuzzAccessTokenVerify: no string, however close to a JWT, verifies
// unless pairgate signed it, and nothing panics.
func FuzzAccessTokenVerify(f *testing.F) {
	s := testenv.StartServer(f)
	toks, _ := pairDeviceTB(f, s, "HW-FUZZ")
	good := toks["access_token"].(string)
	f.Add(good)
	f.Add(good[:len(good)-2] + "AA")
	f.Add("eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJpc3MiOiJ4In0.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.App.Tokens.Verify(t.Context(), tok)
		if err == nil && tok != good {
			t.Fatalf("verified a token pairgate did not sign: %q → %+v", tok, c)
		}
	})
}
