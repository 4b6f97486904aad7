package api

import (
	"context"
	"net/http"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/authn"
	"github.com/pairgate/pairgate/internal/ratelimit"
)

// AdminFunc is an admin API handler, given who is calling.
type AdminFunc func(w http.ResponseWriter, r *http.Request, a admin.Actor) error

// crossOrigin refuses cross-site browser requests that carry the console's
// session cookie (CSRF); requests from tools carry no Origin or
// Sec-Fetch-Site header and pass.
var crossOrigin = http.NewCrossOriginProtection()

// RequireAdmin wraps an admin API handler: the caller must present an API key
// (Authorization: Bearer pgk_…) or an admin's console session.
func (h *Handlers) RequireAdmin(fn AdminFunc) http.Handler {
	return h.Handle(func(w http.ResponseWriter, r *http.Request) error {
		if err := crossOrigin.Check(r); err != nil {
			return &pairgate.Error{Code: pairgate.EFORBIDDEN, Message: "cross-origin request refused"}
		}
		a, err := h.adminActor(r.Context(), r)
		if err != nil {
			return err
		}
		return fn(w, r, a)
	})
}

func (h *Handlers) adminActor(ctx context.Context, r *http.Request) (admin.Actor, error) {
	if tok, ok := authn.BearerToken(r); ok {
		k, firstUse, err := h.APIKeys.Authenticate(ctx, tok)
		if err != nil {
			return admin.Actor{}, err
		}
		a := admin.Actor{Type: pairgate.ActorAPIKey, ID: k.ID, Name: k.Name}
		if firstUse {
			h.Audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditAPIKeyUsed, ActorType: a.Type, ActorID: a.ID,
				ActorName: a.Name, Target: r.Method + " " + r.URL.Path})
		}
		return a, nil
	}
	if h.Sessions != nil {
		u, _, err := h.Sessions.User(ctx, r)
		if err == nil {
			if u.Role != pairgate.RoleAdmin {
				return admin.Actor{}, pairgate.Errorf(pairgate.EFORBIDDEN, "the admin API is for admins")
			}
			return admin.UserActor(u), nil
		}
		if pairgate.ErrorCode(err) != pairgate.EUNAUTHORIZED {
			return admin.Actor{}, err
		}
	}
	return admin.Actor{}, &pairgate.Error{Code: pairgate.EUNAUTHORIZED,
		Message: "an admin API key (Authorization: Bearer pgk_…) or an admin's console session is required"}
}

// basicAdmin authenticates an admin by username and password (HTTP Basic),
// for making the first API key without a browser (`pairgate admin login`).
func (h *Handlers) basicAdmin(ctx context.Context, r *http.Request) (admin.Actor, bool, error) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return admin.Actor{}, false, nil
	}
	ip := h.IP.Of(r)
	// The sign-in page's rules: both count against one budget per address
	// and per account.
	if err := h.Limiter.Allow(ctx, ratelimit.Hit{Rule: ratelimit.SignInPerIP, Subject: ip},
		ratelimit.Hit{Rule: ratelimit.SignInPerAccount, Subject: ratelimit.AccountSubject(user)}); err != nil {
		return admin.Actor{}, true, err
	}
	u, err := h.Passwords.Check(ctx, user, pass)
	if err != nil {
		if pairgate.ErrorCode(err) == pairgate.EUNAUTHORIZED {
			name := user
			if len(name) > 64 {
				name = name[:64]
			}
			h.Audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditSignInFailed, ActorType: pairgate.ActorAnon,
				Details: map[string]string{"username": name, "via": "admin API basic auth"}})
		}
		return admin.Actor{}, true, err
	}
	if u.Role != pairgate.RoleAdmin {
		return admin.Actor{}, true, pairgate.Errorf(pairgate.EFORBIDDEN, "API keys are made by admins")
	}
	h.Audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditSignInSucceeded, ActorType: pairgate.ActorUser,
		ActorID: u.ID, ActorName: u.Username, Details: map[string]string{"via": "admin API basic auth"}})
	return admin.UserActor(u), true, nil
}
