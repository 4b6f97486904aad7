package api

import (
	"context"
	"net/http"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/authn"
)

// AdminFunc is an admin API handler, given who is calling. What the caller
// may do is the admin service's to decide: it checks the actor's
// permissions in every operation.
type AdminFunc func(w http.ResponseWriter, r *http.Request, a admin.Actor) error

// crossOrigin refuses cross-site browser requests that carry the console's
// session cookie (CSRF); requests from tools carry no Origin or
// Sec-Fetch-Site header and pass.
var crossOrigin = http.NewCrossOriginProtection()

// Admin wraps an admin API handler: the caller presents an API key
// (Authorization: Bearer pgk_…) or a console session.
func (h *Handlers) Admin(fn AdminFunc) http.Handler {
	return h.Handle(func(w http.ResponseWriter, r *http.Request) error {
		if err := crossOrigin.Check(r); err != nil {
			return &pairgate.Error{Code: pairgate.EFORBIDDEN, Message: "cross-origin request refused"}
		}
		a, err := h.actor(r.Context(), r)
		if err != nil {
			return err
		}
		return fn(w, r, a)
	})
}

var errNoCredentials = &pairgate.Error{Code: pairgate.EUNAUTHORIZED,
	Message: "an API key (Authorization: Bearer pgk_...), a username and password (HTTP Basic) or a console session is required"}

// actor says who is calling: an API key, a person with their username and
// password (HTTP Basic: what only a person may do, such as making keys or
// managing accounts, needs a person), or the console's session.
func (h *Handlers) actor(ctx context.Context, r *http.Request) (admin.Actor, error) {
	if a, ok, err := h.passwordActor(ctx, r); ok || err != nil {
		return a, err
	}
	if tok, ok := authn.BearerToken(r); ok {
		k, firstUse, err := h.apiKeys.Authenticate(ctx, tok)
		if err != nil {
			return admin.Actor{}, err
		}
		a := admin.KeyActor(k)
		if firstUse {
			h.audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditAPIKeyUsed, ActorType: a.Type, ActorID: a.ID,
				ActorName: a.Name, Target: r.Method + " " + pairgate.Shorten(r.URL.Path, 200)})
		}
		return a, nil
	}
	u, _, err := h.sessions.User(ctx, r)
	if pairgate.ErrorCode(err) == pairgate.EUNAUTHORIZED {
		return admin.Actor{}, errNoCredentials
	}
	if err != nil {
		return admin.Actor{}, err
	}
	return admin.UserActor(u), nil
}

// passwordActor authenticates a person by username and password (HTTP
// Basic): how the first API key is made without a browser (`pairgate admin
// login`), and how a person manages accounts from the command line. The
// sign-in service counts the attempt against the same limits as the
// sign-in page. ok is false when the request carries no Basic credentials.
func (h *Handlers) passwordActor(ctx context.Context, r *http.Request) (a admin.Actor, ok bool, err error) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return admin.Actor{}, false, nil
	}
	in, err := h.passwords.SignIn(ctx, authn.Attempt{Username: user, Password: pass, IP: h.ip.Of(r), Via: "admin API basic auth"})
	if err != nil {
		return admin.Actor{}, true, err
	}
	return admin.UserActor(in.User), true, nil
}
