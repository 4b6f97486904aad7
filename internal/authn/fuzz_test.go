package authn_test

import (
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/authn"
)

// FuzzClientCredentials: any Authorization header and body parameters give
// either credentials with a client ID or a client-authentication error.
func FuzzClientCredentials(f *testing.F) {
	f.Add("Basic cHJpbnQtY2xpZW50Og==", "")
	f.Add("Basic cHJpbnQlMkRjbGllbnQ6cyUzQWVjcmV0", "client_id=print-client")
	f.Add("Basic %%%", "client_id=x&client_secret=y")
	f.Add("", "client_id=x&client_secret=y")
	f.Add("Bearer abc", "")
	f.Fuzz(func(t *testing.T, auth, body string) {
		r := httptest.NewRequest("POST", "/oauth/token", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		params, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		cr, err := authn.ClientCredentials(r, params)
		if err != nil {
			if c := pairgate.ErrorCode(err); c != pairgate.EUNAUTHORIZED && c != pairgate.EINVALID {
				t.Fatalf("error code %q", c)
			}
			return
		}
		if cr.ID == "" {
			t.Fatal("credentials without a client id")
		}
		if (cr.Secret == "") != (cr.Method == "none") {
			t.Fatalf("method %q with secret %q", cr.Method, cr.Secret)
		}
	})
}
