package web_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/testenv"
)

func oauthConfig(s *testenv.Server) *oauth2.Config {
	return &oauth2.Config{
		ClientID: pairgate.DefaultClientID,
		Endpoint: oauth2.Endpoint{DeviceAuthURL: s.URL + "/oauth/device/code", TokenURL: s.URL + "/oauth/token"},
		Scopes:   []string{"printing"},
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
	err    error
}

var basicPub = "Basic " + base64.StdEncoding.EncodeToString([]byte(pairgate.DefaultClientID+":"))

// postBasic is a pairing-dialect request: Basic auth as the public client.
func postBasic(u, body string) reply {
	req, _ := http.NewRequest("POST", u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", basicPub)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	json.Unmarshal(raw, &r.body)
	return r
}

func startPairing(t *testing.T, s *testenv.Server, body string) grants.PairingResponse {
	t.Helper()
	r := postBasic(s.URL+"/oauth/pair/", body)
	if r.err != nil || r.status != 200 {
		t.Fatalf("pair: %v %d %s", r.err, r.status, r.raw)
	}
	var pr grants.PairingResponse
	if err := json.Unmarshal([]byte(r.raw), &pr); err != nil {
		t.Fatal(err)
	}
	return pr
}

// browser is an HTTP client that behaves like a browser for these pages:
// a cookie jar, redirects not followed (so that tests see where they
// lead), and the Sec-Fetch-Site a browser sends for its own forms.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	// header is added to every request (X-Forwarded-For, Sec-Fetch-Site…).
	header http.Header
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, header: http.Header{}, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *browser) do(method, path string, form url.Values, header ...string) reply {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Origin", b.base)
	}
	for k, v := range b.header {
		req.Header[k] = v
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
		if header[i+1] == "" {
			req.Header.Del(header[i])
		}
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
}

func (b *browser) get(path string, header ...string) reply { return b.do("GET", path, nil, header...) }

func (b *browser) post(path string, form url.Values, header ...string) reply {
	return b.do("POST", path, form, header...)
}

// signIn signs in through the form and fails the test unless it worked.
func (b *browser) signIn(user, password string) {
	b.t.Helper()
	r := b.post("/auth/signin/", url.Values{"username": {user}, "password": {password}})
	if r.status != http.StatusSeeOther || cookie(r, "pairgate_session") == nil {
		b.t.Fatalf("sign-in as %s: %d %s", user, r.status, r.raw)
	}
}

// post sends a form from outside any browser (no Origin, no Sec-Fetch-Site).
func post(t *testing.T, u, body string) reply {
	t.Helper()
	resp, err := http.Post(u, "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
}

func cookie(r reply, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// location is where a redirect leads.
func location(r reply) string { return r.header.Get("Location") }

// startDevice begins a device flow and returns its user code.
func startDevice(t *testing.T, s *testenv.Server, extra string) string {
	t.Helper()
	r := post(t, s.URL+"/oauth/device/code", "client_id=print-client"+extra)
	var body map[string]any
	json.Unmarshal([]byte(r.raw), &body)
	code, _ := body["user_code"].(string)
	if r.status != 200 || code == "" {
		t.Fatalf("device code: %d %s", r.status, r.raw)
	}
	return code
}

// state is the state of the request behind a user code, read from the
// store.
func state(t *testing.T, s *testenv.Server, userCode string) string {
	t.Helper()
	a, err := s.App.Store.GetDeviceAuthorizationByUserCode(context.Background(), s.App.Keys.Hash(secret.KindUserCode, userCode))
	if err != nil {
		t.Fatalf("look up %s: %v", userCode, err)
	}
	return a.State
}
