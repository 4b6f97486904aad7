package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/admin"
)

// People and access (/admin/people): your own password, the accounts and
// their roles, API keys, and lifting lock-outs. Every operation is the
// admin service's, with its rules (a person, never a key, manages
// accounts; the last admin stays) and its audit events. A secret made
// here (a generated password, an API key) is shown once, in the answer to
// the form, never in a URL.

type userRow struct {
	ID, Username, Role string
	Created            timeView
	You                bool
	Roles              []choice
	Reset, Delete      *confirmation
}

type keyRow struct {
	ID, Name, Owner, Scopes string
	Created, LastUsed       timeView
	Revoke                  *confirmation
}

type lockoutRow struct {
	ID, What, Subject string
	Hits, Limit       int
	Until             timeView
}

// lockoutRules say what each guessing limit counts.
var lockoutRules = map[string]string{
	"signin-ip":            "Sign-in from an address",
	"signin-account":       "Sign-in to an account",
	"signin-known":         "Sign-in from a browser that signed in before",
	"code-ip":              "Codes typed from an address",
	"code":                 "Attempts at one code",
	"authcode-failures-ip": "Wrong authorization codes from an address",
	"upstream-start-ip":    "Sign-ins at the organisation's provider from an address",
}

type peopleView struct {
	base
	Nav            string
	Can            consoleCan
	CanUsers       bool // may manage accounts
	CanLockouts    bool
	SeeLockouts    bool
	Lockouts       []lockoutRow
	Users          []userRow
	Keys           []keyRow
	Roles          []choice
	Scopes         []choice
	Notice, Error  string
	Secret         string // a password or key, shown this once
	SecretWhat     string
	NewUser        string
	NewKeyName     string
	LockoutIP      string
	LockoutAccount string
}

var peopleNotices = map[string]string{
	"role_set":        "The role was changed. The account's sessions ended: it signs in again with its new role.",
	"user_deleted":    "The account was deleted. Its sessions ended, and devices it approved in user mode lost their access.",
	"user_gone":       "That account no longer exists.",
	"key_revoked":     "The API key was revoked: it stops working at once.",
	"key_gone":        "That API key no longer exists.",
	"lockout_cleared": "The lock-out was lifted.",
	"lockout_lifted":  "The lock-out was lifted: the next attempt is counted afresh.",
	"lockout_gone":    "That lock-out had already ended.",
}

// ConsolePeople is GET /admin/people.
func (h *ConsolePages) ConsolePeople(w http.ResponseWriter, r *http.Request) error {
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	q := r.URL.Query()
	v := peopleView{Notice: peopleNotices[q.Get("done")]}
	if err := h.people(r, u, &v); err != nil {
		return err
	}
	for _, row := range v.Users {
		if row.ID == q.Get("reset") && row.Reset != nil {
			return h.confirmPage(w, u, v.Help, row.Reset, "/admin/people")
		}
		if row.ID == q.Get("delete") && row.Delete != nil {
			return h.confirmPage(w, u, v.Help, row.Delete, "/admin/people")
		}
	}
	for _, row := range v.Keys {
		if row.ID == q.Get("revoke") && row.Revoke != nil {
			return h.confirmPage(w, u, v.Help, row.Revoke, "/admin/people")
		}
	}
	return h.render(w, http.StatusOK, "people", v)
}

func (h *ConsolePages) people(r *http.Request, u *pairgate.User, v *peopleView) error {
	ctx := r.Context()
	a := admin.UserActor(u)
	v.base = h.base("People and access", u)
	v.Wide, v.Nav, v.Can = true, "people", canOf(u)
	v.Help, v.Script = helpURL("administration"), copyScriptPath
	v.CanUsers = a.Perms.Has(pairgate.PermUsersWrite)
	v.CanLockouts = a.Perms.Has(pairgate.PermLockoutsWrite)
	v.SeeLockouts = a.Perms.Has(pairgate.PermLockoutsRead)
	if v.SeeLockouts {
		ls, err := h.admin.ListLockouts(ctx, a)
		if err != nil {
			return err
		}
		for _, l := range ls {
			what := lockoutRules[l.Rule]
			if what == "" {
				what = l.Rule
			}
			v.Lockouts = append(v.Lockouts, lockoutRow{ID: l.ID(), What: what, Subject: l.Subject, Hits: l.Hits, Limit: l.Limit,
				Until: timeOf(l.Until)})
		}
	}
	for _, role := range pairgate.Roles {
		v.Roles = append(v.Roles, choice{Value: role, Label: role, Selected: role == pairgate.RoleUser})
	}
	for _, sc := range pairgate.APIKeyScopes {
		v.Scopes = append(v.Scopes, choice{Value: sc, Label: sc, Selected: sc == pairgate.ScopeRead})
	}
	if a.Perms.Has(pairgate.PermUsersRead) {
		users, err := h.admin.ListUsers(ctx, a)
		if err != nil {
			return err
		}
		for _, x := range users {
			row := userRow{ID: x.ID, Username: x.Username, Role: x.Role, Created: timeOf(x.CreatedAt), You: x.ID == u.ID}
			for _, role := range pairgate.Roles {
				row.Roles = append(row.Roles, choice{Value: role, Label: role, Selected: role == x.Role})
			}
			if v.CanUsers {
				row.Reset = &confirmation{ID: "dlg-reset-" + x.ID, Heading: "Reset this account's password?", Lead: x.Username,
					Text:   "It gets a new random password, shown to you once, and is signed out everywhere. Give the new password to its owner.",
					Action: "/admin/people/" + x.ID + "/password", Button: "Reset the password", Danger: true,
					Opener: "Reset password", OpenerLabel: "Reset password of " + x.Username, OpenerClass: "button secondary small-button",
					FallbackURL: "/admin/people?" + url.Values{"reset": {x.ID}}.Encode()}
				row.Delete = &confirmation{ID: "dlg-user-" + x.ID, Heading: "Delete this account?", Lead: x.Username,
					Text:   "Its sessions end, its API keys stop working, and devices it approved in user mode lose their access. The last admin cannot be deleted.",
					Action: "/admin/people/" + x.ID + "/delete", Button: "Delete", Danger: true,
					Opener: "Delete", OpenerLabel: "Delete account " + x.Username, OpenerClass: "trash", Trash: true,
					FallbackURL: "/admin/people?" + url.Values{"delete": {x.ID}}.Encode()}
			}
			v.Users = append(v.Users, row)
		}
	}
	keys, err := h.admin.ListAPIKeys(ctx, a)
	if err != nil {
		return err
	}
	for _, k := range keys {
		owner := k.OwnerName
		if owner == "" {
			owner = "a deleted account"
		}
		row := keyRow{ID: k.ID, Name: k.Name, Owner: owner, Scopes: strings.Join(k.Scopes, ", "), Created: timeOf(k.CreatedAt),
			LastUsed: timeOf(k.LastUsedAt)}
		if k.CreatedBy == u.ID || v.CanUsers {
			row.Revoke = &confirmation{ID: "dlg-key-" + k.ID, Heading: "Revoke this API key?", Lead: k.Name, Detail: k.ID,
				Text:   "It stops working at once: scripts that use it are refused from their next request.",
				Action: "/admin/apikeys/" + k.ID + "/delete", Button: "Revoke", Danger: true,
				Opener: "Revoke", OpenerLabel: "Revoke API key " + k.Name, OpenerClass: "trash", Trash: true,
				FallbackURL: "/admin/people?" + url.Values{"revoke": {k.ID}}.Encode()}
		}
		v.Keys = append(v.Keys, row)
	}
	return nil
}

// peopleAnswer renders the page with an outcome: an error to correct, or
// a secret to copy now.
func (h *ConsolePages) peopleAnswer(w http.ResponseWriter, r *http.Request, u *pairgate.User, status int, v peopleView) error {
	if err := h.people(r, u, &v); err != nil {
		return err
	}
	return h.render(w, status, "people", v)
}

// failed is the page for an operation the service refused as the
// caller's error; other errors go up.
func (h *ConsolePages) failed(w http.ResponseWriter, r *http.Request, u *pairgate.User, err error, v peopleView) error {
	switch pairgate.ErrorCode(err) {
	case pairgate.EINVALID, pairgate.ECONFLICT, pairgate.EFORBIDDEN, pairgate.ENOTFOUND, pairgate.ERATELIMITED:
		v.Error = sentence(pairgate.ErrorMessage(err))
		return h.peopleAnswer(w, r, u, httpStatus(err), v)
	}
	return err
}

func httpStatus(err error) int {
	switch pairgate.ErrorCode(err) {
	case pairgate.EFORBIDDEN:
		return http.StatusForbidden
	case pairgate.ENOTFOUND:
		return http.StatusNotFound
	case pairgate.ECONFLICT:
		return http.StatusConflict
	case pairgate.ERATELIMITED:
		return http.StatusTooManyRequests
	}
	return http.StatusBadRequest
}

// ConsoleOwnPassword is POST /admin/password: a person changes
// their own password, giving the current one (checked, and counted
// against the account's sign-in limit, by the admin service). Every
// session of theirs ends, this one too.
func (h *ConsolePages) ConsoleOwnPassword(w http.ResponseWriter, r *http.Request) error {
	p, err := form(w, r)
	if err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	pw := p.Get("new_password")
	if pw != p.Get("confirm_password") {
		return h.peopleAnswer(w, r, u, http.StatusBadRequest, peopleView{Error: "The two new passwords differ. Type the same one twice."})
	}
	if p.Get("current_password") == "" {
		return h.peopleAnswer(w, r, u, http.StatusBadRequest, peopleView{Error: "Type your current password too: it shows that the change is yours."})
	}
	if err := h.admin.ChangeOwnPassword(r.Context(), admin.UserActor(u), p.Get("current_password"), pw); err != nil {
		return h.failed(w, r, u, err, peopleView{})
	}
	return redirect(w, r, signInURL("/admin/people")+"&password_changed=1")
}

// ConsoleCreateUser is POST /admin/people: a new account. Without a
// password, a random one is made and shown this once.
func (h *ConsolePages) ConsoleCreateUser(w http.ResponseWriter, r *http.Request) error {
	p, err := form(w, r)
	if err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r, keep("username", p.Get("username")))
	if done {
		return err
	}
	name := strings.TrimSpace(p.Get("username"))
	nu, generated, err := h.admin.CreateUser(r.Context(), admin.UserActor(u), name, p.Get("role"), p.Get("password"))
	if err != nil {
		return h.failed(w, r, u, err, peopleView{NewUser: name})
	}
	v := peopleView{Notice: "The account " + nu.Username + " was created with the " + nu.Role + " role."}
	if generated != "" {
		v.Secret, v.SecretWhat = generated, "The password of "+nu.Username+". Give it to its owner: it is not shown again."
	}
	return h.peopleAnswer(w, r, u, http.StatusOK, v)
}

// ConsoleSetRole is POST /admin/people/{id}/role.
func (h *ConsolePages) ConsoleSetRole(w http.ResponseWriter, r *http.Request) error {
	p, err := form(w, r)
	if err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	if _, err := h.admin.SetRole(r.Context(), admin.UserActor(u), r.PathValue("id"), p.Get("role")); err != nil {
		return h.failed(w, r, u, err, peopleView{})
	}
	if r.PathValue("id") == u.ID {
		// One's own sessions ended with the change.
		return redirect(w, r, signInURL("/admin"))
	}
	return redirect(w, r, "/admin/people?done=role_set")
}

// ConsoleResetPassword is POST /admin/people/{id}/password: a random
// password, shown this once.
func (h *ConsolePages) ConsoleResetPassword(w http.ResponseWriter, r *http.Request) error {
	if _, err := form(w, r); err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	id := r.PathValue("id")
	pw, err := h.admin.SetPassword(r.Context(), admin.UserActor(u), id, "")
	if err != nil {
		return h.failed(w, r, u, err, peopleView{})
	}
	if id == u.ID {
		return redirect(w, r, signInURL("/admin/people")+"&password_changed=1")
	}
	name := id
	if x, err := h.admin.FindUser(r.Context(), id); err == nil {
		name = x.Username
	}
	return h.peopleAnswer(w, r, u, http.StatusOK, peopleView{Notice: "The password of " + name + " was reset, and it was signed out everywhere.",
		Secret: pw, SecretWhat: "The new password of " + name + ". Give it to its owner: it is not shown again."})
}

// ConsoleDeleteUser is POST /admin/people/{id}/delete.
func (h *ConsolePages) ConsoleDeleteUser(w http.ResponseWriter, r *http.Request) error {
	if _, err := form(w, r); err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	err = h.admin.DeleteUser(r.Context(), admin.UserActor(u), r.PathValue("id"))
	switch pairgate.ErrorCode(err) {
	case "":
		return redirect(w, r, "/admin/people?done=user_deleted")
	case pairgate.ENOTFOUND:
		return redirect(w, r, "/admin/people?done=user_gone")
	}
	return h.failed(w, r, u, err, peopleView{})
}

// ConsoleCreateAPIKey is POST /admin/apikeys: a key for the signed-in
// person, with the scopes ticked, shown this once.
func (h *ConsolePages) ConsoleCreateAPIKey(w http.ResponseWriter, r *http.Request) error {
	p, err := form(w, r)
	if err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r, keep("key_name", p.Get("key_name")))
	if done {
		return err
	}
	var scopes []string
	for _, sc := range pairgate.APIKeyScopes {
		if p.Get("scope_"+sc) == "1" {
			scopes = append(scopes, sc)
		}
	}
	name := strings.TrimSpace(p.Get("key_name"))
	k, key, err := h.admin.CreateAPIKey(r.Context(), admin.UserActor(u), name, scopes)
	if err != nil {
		return h.failed(w, r, u, err, peopleView{NewKeyName: name})
	}
	return h.peopleAnswer(w, r, u, http.StatusOK, peopleView{Notice: "The API key " + k.Name + " was made, with the scopes " + strings.Join(k.Scopes, ", ") + ".",
		Secret: key, SecretWhat: "The API key. Copy it now into the script or secret store that uses it: it is not shown again. Scripts send it as Authorization: Bearer."})
}

// ConsoleDeleteAPIKey is POST /admin/apikeys/{id}/delete.
func (h *ConsolePages) ConsoleDeleteAPIKey(w http.ResponseWriter, r *http.Request) error {
	if _, err := form(w, r); err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	err = h.admin.DeleteAPIKey(r.Context(), admin.UserActor(u), r.PathValue("id"))
	switch pairgate.ErrorCode(err) {
	case "":
		return redirect(w, r, "/admin/people?done=key_revoked")
	case pairgate.ENOTFOUND:
		return redirect(w, r, "/admin/people?done=key_gone")
	}
	return h.failed(w, r, u, err, peopleView{})
}

// ConsoleClearLockout is POST /admin/lockouts/clear: the guessing limits
// that hold an address or an account lifted.
func (h *ConsolePages) ConsoleClearLockout(w http.ResponseWriter, r *http.Request) error {
	p, err := form(w, r)
	if err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	ip, name := strings.TrimSpace(p.Get("ip")), strings.TrimSpace(p.Get("username"))
	if _, err := h.admin.ClearLockout(r.Context(), admin.UserActor(u), ip, name); err != nil {
		return h.failed(w, r, u, err, peopleView{LockoutIP: ip, LockoutAccount: name})
	}
	return redirect(w, r, "/admin/people?done=lockout_cleared")
}

// ConsoleLiftLockout is POST /admin/lockouts/{id}/lift: one lock-out of
// the list lifted.
func (h *ConsolePages) ConsoleLiftLockout(w http.ResponseWriter, r *http.Request) error {
	if _, err := form(w, r); err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	_, err = h.admin.LiftLockout(r.Context(), admin.UserActor(u), r.PathValue("id"))
	switch pairgate.ErrorCode(err) {
	case "":
		return redirect(w, r, "/admin/people?done=lockout_lifted#lockouts")
	case pairgate.ENOTFOUND:
		return redirect(w, r, "/admin/people?done=lockout_gone#lockouts")
	}
	return h.failed(w, r, u, err, peopleView{})
}
