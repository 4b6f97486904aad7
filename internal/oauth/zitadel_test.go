package oauth_test

import (
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/pairgate/pairgate/internal/testenv"
)

// TestDeviceFlowWithZitadelOIDC runs the device flow with a second,
// independent client library, github.com/zitadel/oidc: discovery (it
// checks the issuer), the device authorization request, its own polling
// loop (an empty scope= on every poll, and a timeout of one interval per
// poll), and a refresh.
func TestDeviceFlowWithZitadelOIDC(t *testing.T) {
	s := testenv.StartServer(t)
	party, err := rp.NewRelyingPartyOIDC(ctx(t), s.URL, "print-client", "", "", []string{"printing"})
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	da, err := rp.DeviceAuthorization(ctx(t), []string{"printing"}, party, nil)
	if err != nil {
		t.Fatalf("device authorization: %v", err)
	}
	if da.VerificationURIComplete != s.URL+"/device?user_code="+da.UserCode {
		t.Fatalf("response: %+v", da)
	}
	go func() {
		time.Sleep(1500 * time.Millisecond)
		s.ApproveUserCode(t, da.UserCode)
	}()
	tok, err := rp.DeviceAccessToken(ctx(t), da.DeviceCode, time.Duration(da.Interval)*time.Second, party)
	if err != nil {
		t.Fatalf("polling: %v", err)
	}
	if tok.TokenType != "Bearer" || tok.RefreshToken == "" || tok.Scope.String() != "printing" {
		t.Fatalf("tokens: %+v", tok)
	}
	verifyJWT(t, s, tok.AccessToken)
	fresh, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx(t), party, tok.RefreshToken, "", "")
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken {
		t.Fatal("refresh did not rotate")
	}
	verifyJWT(t, s, fresh.AccessToken)
}
