package secret_test

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/pairgate/pairgate/internal/secret"
)

// TestSuccessorIsDerivedAndLooksLikeAToken: the same token always has the
// same successor, under the same master key only, in a refresh token's
// shape, and it is neither the token nor its stored hash.
func TestSuccessorIsDerivedAndLooksLikeAToken(t *testing.T) {
	k, err := secret.NewKeys(bytes.Repeat([]byte{1}, secret.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	other, err := secret.NewKeys(bytes.Repeat([]byte{2}, secret.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	tok := secret.Token(secret.PrefixRefreshToken)
	next := k.Successor(tok)
	if !secret.LooksLike(next, secret.PrefixRefreshToken) {
		t.Fatalf("successor %q does not look like a refresh token", next)
	}
	if k.Successor(tok) != next {
		t.Fatal("the successor of one token changes from call to call")
	}
	if next == tok || k.Successor(next) == next || other.Successor(tok) == next || k.Successor(secret.Token(secret.PrefixRefreshToken)) == next {
		t.Fatal("successors collide")
	}
	// A copy of the database holds the keyed hash of tok: the successor
	// must not be that hash, or a dump would yield the live token.
	if next[len(secret.PrefixRefreshToken):] == base64.RawURLEncoding.EncodeToString(k.Hash(secret.KindRefresh, tok)) {
		t.Fatal("the successor is the stored hash of its predecessor")
	}
}
