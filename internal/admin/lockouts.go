package admin

import (
	"context"
	"strconv"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/ratelimit"
	"github.com/pairgate/pairgate/internal/secret"
)

// MaxLockouts bounds the lock-outs listed: an attacker spraying wrong
// codes makes a counter per code.
const MaxLockouts = 500

// ListLockouts returns the guessing limits (docs/design.md 2.6) that
// refuse someone's next attempt now, the latest to lift first.
func (s *Service) ListLockouts(ctx context.Context, a Actor) ([]*pairgate.Lockout, error) {
	if err := a.need(pairgate.PermLockoutsRead); err != nil {
		return nil, err
	}
	return s.store.ListLockouts(ctx, s.now(), MaxLockouts)
}

// LiftLockout forgets one lock-out, named by its ID: its subject may try
// again at once. ENOTFOUND when it has lifted by itself meanwhile.
func (s *Service) LiftLockout(ctx context.Context, a Actor, id string) (*pairgate.Lockout, error) {
	if err := a.need(pairgate.PermLockoutsWrite); err != nil {
		return nil, err
	}
	key, err := pairgate.ParseLockoutID(id)
	if err != nil {
		return nil, err
	}
	l, err := s.store.LiftLockout(ctx, key, s.now())
	if err != nil {
		return nil, err
	}
	s.record(ctx, a, pairgate.AuditRateLimitUnlocked, l.Rule+" "+l.Subject, map[string]string{"rule": l.Rule,
		"subject": l.Subject, "hits": strconv.Itoa(l.Hits)})
	return l, nil
}

// ChangeOwnPassword changes the password of the person acting, who must
// give the current one: a browser left signed in, or a stolen session,
// does not take the account over. The check counts against the
// account's sign-in guessing limit (docs/design.md 2.6), as a sign-in
// does, before the password is looked at. A wrong current password
// changes nothing. Every session of the account ends.
func (s *Service) ChangeOwnPassword(ctx context.Context, a Actor, current, next string) error {
	if a.Type != pairgate.ActorUser {
		return pairgate.Errorf(pairgate.EFORBIDDEN, "only a person signed in changes their own password")
	}
	u, err := s.store.GetUser(ctx, a.ID)
	if err != nil {
		return err
	}
	if err := s.limiter.Allow(ctx, ratelimit.Hit{Rule: ratelimit.SignInPerAccount, Subject: ratelimit.AccountSubject(u.Username)}); err != nil {
		return err
	}
	ok := false
	if u.PasswordHash != "" && len(current) <= secret.MaxPasswordBytes {
		if ok, err = secret.VerifyPassword(u.PasswordHash, current); err != nil {
			return pairgate.Internal(err, "verify password of "+u.ID)
		}
	}
	if !ok {
		s.audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditSignInFailed, ActorType: a.Type, ActorID: a.ID,
			ActorName: a.Name, Details: map[string]string{"username": u.Username, "via": "own password change"}})
		return pairgate.Errorf(pairgate.EINVALID, "that is not your current password; nothing was changed")
	}
	_, err = s.setPassword(ctx, a, u.ID, next)
	return err
}
