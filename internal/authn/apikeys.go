package authn

import (
	"context"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
)

// APIKeys authenticates admin tooling by its Bearer pgk_ key.
type APIKeys struct {
	store pairgate.Store
	keys  *secret.Keys
	now   func() time.Time
}

// NewAPIKeys returns the API key authenticator.
func NewAPIKeys(store pairgate.Store, keys *secret.Keys, now func() time.Time) *APIKeys {
	if store == nil || keys == nil || now == nil {
		panic("authn.NewAPIKeys: store, keys and clock are required")
	}
	return &APIKeys{store: store, keys: keys, now: now}
}

var errBadAPIKey = &pairgate.Error{Code: pairgate.EUNAUTHORIZED, Message: "the API key is invalid or revoked"}

// apiKeyTouchEvery limits how often a key's last use is written (and how
// often its use reaches the audit log).
const apiKeyTouchEvery = time.Minute

// Authenticate returns the key a Bearer token names. firstUse reports
// that the key had not been used for a while, so that callers record its
// use in the audit log without recording every request.
func (a *APIKeys) Authenticate(ctx context.Context, token string) (k *pairgate.APIKey, firstUse bool, err error) {
	if !secret.LooksLike(token, secret.PrefixAPIKey) {
		return nil, false, errBadAPIKey
	}
	k, err = a.store.GetAPIKeyByHash(ctx, a.keys.Hash(secret.KindAPIKey, token))
	if pairgate.ErrorCode(err) == pairgate.ENOTFOUND {
		return nil, false, errBadAPIKey
	}
	if err != nil {
		return nil, false, err
	}
	if now := a.now(); now.Sub(k.LastUsedAt) >= apiKeyTouchEvery {
		if err := a.store.TouchAPIKey(ctx, k.ID, now); err != nil {
			return nil, false, err
		}
		firstUse = true
	}
	return k, firstUse, nil
}
