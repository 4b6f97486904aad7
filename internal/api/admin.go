package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/adminapi"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/httpx"
)

// The admin API (docs/design.md section 3): plain JSON over HTTP, its types in
// the public package adminapi, the CLI its first client.

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// --- Authorization codes ---

func codeOut(code string, ac *pairgate.AuthorizationCode) adminapi.Code {
	return adminapi.Code{ID: ac.ID, Code: code, TTL: string(ac.TTL), TTLLabel: ac.TTL.Label(), CreatedAt: ac.CreatedAt.UTC(),
		ExpiresAt: timeOrNil(ac.ExpiresAt), CreatedBy: ac.CreatedBy, Uses: ac.Uses, LastUsedAt: timeOrNil(ac.LastUsedAt),
		Label: ac.Label, EphemeralIdleSeconds: int64(ac.EphemeralIdle / time.Second)}
}

// CreateCode is POST /api/v1/authorization-codes {"ttl": "30m"|"60m"|"6h"|"24h"|"48h"|"never",
// "label": …, "ephemeral_idle_seconds": …}.
func (h *Handlers) CreateCode(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	var in adminapi.NewCode
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	ttl, err := pairgate.ParseCodeTTL(in.TTL)
	if err != nil {
		return err
	}
	if in.EphemeralIdleSeconds < 0 || in.EphemeralIdleSeconds > int64(pairgate.MaxEphemeralIdle/time.Second) {
		return pairgate.Errorf(pairgate.EINVALID, "ephemeral_idle_seconds must be between %d and %d",
			int64(pairgate.MinEphemeralIdle/time.Second), int64(pairgate.MaxEphemeralIdle/time.Second))
	}
	code, ac, err := h.admin.CreateCode(r.Context(), a, admin.NewCode{TTL: ttl, Label: in.Label,
		EphemeralIdle: time.Duration(in.EphemeralIdleSeconds) * time.Second})
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusCreated, codeOut(code, ac))
}

// ListCodes is GET /api/v1/authorization-codes: the codes that have not
// expired, newest first.
func (h *Handlers) ListCodes(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	codes, err := h.admin.ListCodes(r.Context(), a)
	if err != nil {
		return err
	}
	out := adminapi.CodeList{Codes: make([]adminapi.Code, 0, len(codes))}
	for _, c := range codes {
		out.Codes = append(out.Codes, codeOut(c.Code, c.AuthorizationCode))
	}
	return httpx.JSON(w, http.StatusOK, out)
}

// DeleteCode is DELETE /api/v1/authorization-codes/{id}.
func (h *Handlers) DeleteCode(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	id, err := httpx.PathValue(r, "id")
	if err != nil {
		return err
	}
	if err := h.admin.DeleteCode(r.Context(), a, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// CodeDevices is GET /api/v1/authorization-codes/{id}/devices: the
// preview of RevokeCodeDevices.
func (h *Handlers) CodeDevices(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	id, err := httpx.PathValue(r, "id")
	if err != nil {
		return err
	}
	p, err := h.admin.PreviewCodeDevices(r.Context(), a, id)
	if err != nil {
		return err
	}
	out := adminapi.CodeDevices{CodeID: p.CodeID, Active: p.Active, Networks: make([]string, len(p.Networks)),
		Suspicious: make([]adminapi.Device, len(p.Suspicious)), Summary: p.Summary()}
	for i, n := range p.Networks {
		out.Networks[i] = n.String()
	}
	for i, d := range p.Suspicious {
		out.Suspicious[i] = deviceOut(d)
	}
	return httpx.JSON(w, http.StatusOK, out)
}

// RevokeCodeDevices is POST /api/v1/authorization-codes/{id}/revoke-devices
// {"keep_code": false}: everything the code brought in, signed out in one
// transaction.
func (h *Handlers) RevokeCodeDevices(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	var in adminapi.RevokeCodeDevices
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	id, err := httpx.PathValue(r, "id")
	if err != nil {
		return err
	}
	n, err := h.admin.SignOutCodeDevices(r.Context(), a, id, in.KeepCode)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, adminapi.RevokedCodeDevices{SignedOut: n, CodeDeleted: !in.KeepCode})
}

// --- Devices ---

func deviceOut(d *pairgate.Device) adminapi.Device {
	return adminapi.Device{ID: d.ID, Name: d.Name, ClientID: d.ClientID, Mode: string(d.Mode), HardwareID: d.HardwareID,
		AuthorizedBy: d.AuthMethod, AuthorizationCodeID: d.AuthCodeID, ApprovedBy: d.UserID, Scopes: orEmpty(d.Scopes),
		AuthorizedAt: d.AuthorizedAt.UTC(), LastSeenAt: timeOrNil(d.LastSeenAt), LastIP: d.LastIP,
		State: d.State, StateChangedAt: timeOrNil(d.StateChangedAt), DPoPJKT: d.DPoPJKT, SameHardwareAs: d.SameHardwareAs,
		AuthorizedIP: d.AuthorizedIP, EphemeralIdleSeconds: int64(d.EphemeralIdle / time.Second)}
}

// limitParam reads ?limit= (default def, at most adminapi.MaxPageSize).
func limitParam(v string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > adminapi.MaxPageSize {
		return 0, pairgate.Errorf(pairgate.EINVALID, "limit must be a number from 1 to %d", adminapi.MaxPageSize)
	}
	return n, nil
}

// ListDevices is GET /api/v1/devices?q=&client_id=&state=&sort=&order=&after=&limit=.
// sort is a column (pairgate.DeviceSorts), order asc or desc. The answer's
// "next" is the cursor of the following page in that order, absent on the last.
// One more device than the page holds is asked for, to know whether
// there is a next page.
func (h *Handlers) ListDevices(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	q, err := httpx.Query(r)
	if err != nil {
		return err
	}
	limit, err := limitParam(q.Get("limit"), 100)
	if err != nil {
		return err
	}
	sort := q.Get("sort")
	if !pairgate.ValidDeviceSort(sort) {
		return pairgate.Errorf(pairgate.EINVALID, "sort: '%s' is not a column; use one of %s", pairgate.Printable(sort, 40),
			strings.Join(pairgate.DeviceSorts, ", "))
	}
	var desc bool
	switch q.Get("order") {
	case "", "asc":
	case "desc":
		desc = true
	default:
		return pairgate.Errorf(pairgate.EINVALID, "order must be asc or desc")
	}
	devs, err := h.admin.ListDevices(r.Context(), a, pairgate.DeviceFilter{Search: q.Get("q"), ClientID: q.Get("client_id"),
		State: q.Get("state"), AuthCodeID: q.Get("code_id"), AuthMethod: q.Get("method"), Sort: sort, Desc: desc,
		After: q.Get("after"), Limit: limit + 1})
	if err != nil {
		return err
	}
	var out adminapi.DeviceList
	if len(devs) > limit {
		devs = devs[:limit]
		out.Next = pairgate.DeviceCursor(devs[limit-1], sort)
	}
	out.Devices = make([]adminapi.Device, 0, len(devs))
	for _, d := range devs {
		out.Devices = append(out.Devices, deviceOut(d))
	}
	return httpx.JSON(w, http.StatusOK, out)
}

// GetDevice is GET /api/v1/devices/{id}.
func (h *Handlers) GetDevice(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	id, err := httpx.PathValue(r, "id")
	if err != nil {
		return err
	}
	d, err := h.admin.GetDevice(r.Context(), a, id)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, deviceOut(d))
}

// DeleteDevice is DELETE /api/v1/devices/{id}: the device is revoked at once.
func (h *Handlers) DeleteDevice(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	id, err := httpx.PathValue(r, "id")
	if err != nil {
		return err
	}
	if err := h.admin.DeleteDevice(r.Context(), a, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- Clients ---

func clientOut(c *pairgate.Client, sec string) adminapi.OAuthClient {
	p := c.DeviceFlow
	nets := make([]string, len(p.Networks))
	for i, n := range p.Networks {
		nets[i] = n.String()
	}
	return adminapi.OAuthClient{ClientID: c.ID, Name: c.Name, Public: c.Public, GrantTypes: orEmpty(c.GrantTypes),
		Scopes: orEmpty(c.Scopes), RequireDPoP: c.RequireDPoP, CreatedAt: c.CreatedAt.UTC(), ClientSecret: sec,
		InactiveSignOutDays: c.InactiveSignOutDays, InactiveRemoveDays: c.InactiveRemoveDays,
		DeviceFlowPolicy: adminapi.DeviceFlowPolicy{DeviceFlowDisabled: p.Disabled, DeviceFlowNetworks: nets,
			ApprovalNetworkPrefix: p.ApprovalPrefixV4, ApprovalNetworkPrefixV6: p.ApprovalPrefixV6}}
}

func deviceFlowIn(p adminapi.DeviceFlowPolicy) admin.DeviceFlowSettings {
	return admin.DeviceFlowSettings{Disabled: p.DeviceFlowDisabled, Networks: p.DeviceFlowNetworks,
		ApprovalPrefixV4: p.ApprovalNetworkPrefix, ApprovalPrefixV6: p.ApprovalNetworkPrefixV6}
}

// SetClientDeviceFlow is PUT /api/v1/clients/{id}/device-flow: the
// client's phishing defences, replaced as a whole.
func (h *Handlers) SetClientDeviceFlow(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	var in adminapi.DeviceFlowPolicy
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	id, err := httpx.PathValue(r, "id")
	if err != nil {
		return err
	}
	c, err := h.admin.SetClientDeviceFlow(r.Context(), a, id, deviceFlowIn(in))
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, clientOut(c, ""))
}

// CreateClient is POST /api/v1/clients. A confidential client's secret is
// in this answer only.
func (h *Handlers) CreateClient(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	var in adminapi.NewClient
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	c, sec, err := h.admin.CreateClient(r.Context(), a, admin.NewClient{ID: in.ClientID, Name: in.Name, Public: in.Public,
		GrantTypes: in.GrantTypes, Scopes: in.Scopes, RequireDPoP: in.RequireDPoP, InactiveSignOutDays: in.InactiveSignOutDays,
		InactiveRemoveDays: in.InactiveRemoveDays, DeviceFlow: deviceFlowIn(in.DeviceFlowPolicy)})
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusCreated, clientOut(c, sec))
}

// ListClients is GET /api/v1/clients.
func (h *Handlers) ListClients(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	cs, err := h.admin.ListClients(r.Context(), a)
	if err != nil {
		return err
	}
	out := adminapi.ClientList{Clients: make([]adminapi.OAuthClient, 0, len(cs))}
	for _, c := range cs {
		out.Clients = append(out.Clients, clientOut(c, ""))
	}
	return httpx.JSON(w, http.StatusOK, out)
}

// GetClient is GET /api/v1/clients/{id}.
func (h *Handlers) GetClient(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	id, err := httpx.PathValue(r, "id")
	if err != nil {
		return err
	}
	c, err := h.admin.GetClient(r.Context(), a, id)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, clientOut(c, ""))
}

// UpdateClient is PATCH /api/v1/clients/{id} {"name", "grant_types",
// "scopes"}: the fields given change.
func (h *Handlers) UpdateClient(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	var in adminapi.ClientPatch
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	id, err := httpx.PathValue(r, "id")
	if err != nil {
		return err
	}
	c, err := h.admin.UpdateClient(r.Context(), a, id, admin.ClientPatch{Name: in.Name, GrantTypes: in.GrantTypes, Scopes: in.Scopes})
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, clientOut(c, ""))
}

// RotateClientSecret is POST /api/v1/clients/{id}/secret: a confidential
// client's new secret, in this answer only; the old one stops working.
func (h *Handlers) RotateClientSecret(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	id, err := httpx.PathValue(r, "id")
	if err != nil {
		return err
	}
	c, sec, err := h.admin.RotateClientSecret(r.Context(), a, id)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, clientOut(c, sec))
}

// DeleteClient is DELETE /api/v1/clients/{id}: its devices go with it.
func (h *Handlers) DeleteClient(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	id, err := httpx.PathValue(r, "id")
	if err != nil {
		return err
	}
	if err := h.admin.DeleteClient(r.Context(), a, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- API keys ---

func apiKeyOut(k *pairgate.APIKey, key string) adminapi.APIKey {
	return adminapi.APIKey{ID: k.ID, Name: k.Name, Scopes: orEmpty(k.Scopes), Key: key, CreatedBy: k.CreatedBy,
		CreatedByName: k.OwnerName, CreatedAt: k.CreatedAt.UTC(), LastUsedAt: timeOrNil(k.LastUsedAt)}
}

// CreateAPIKey is POST /api/v1/api-keys {"name", "scopes"}: the key is in
// this answer only. A person makes it: in the console, or with a username
// and password in HTTP Basic, so that the first key can be made without a
// browser. Never with another key.
func (h *Handlers) CreateAPIKey(w http.ResponseWriter, r *http.Request) error {
	if err := crossOrigin.Check(r); err != nil {
		return &pairgate.Error{Code: pairgate.EFORBIDDEN, Message: "cross-origin request refused"}
	}
	a, err := h.actor(r.Context(), r)
	if err != nil {
		return err
	}
	var in adminapi.NewAPIKey
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	k, key, err := h.admin.CreateAPIKey(r.Context(), a, in.Name, in.Scopes)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusCreated, apiKeyOut(k, key))
}

// ListAPIKeys is GET /api/v1/api-keys (never the keys themselves).
func (h *Handlers) ListAPIKeys(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	ks, err := h.admin.ListAPIKeys(r.Context(), a)
	if err != nil {
		return err
	}
	out := adminapi.APIKeyList{Keys: make([]adminapi.APIKey, 0, len(ks))}
	for _, k := range ks {
		out.Keys = append(out.Keys, apiKeyOut(k, ""))
	}
	return httpx.JSON(w, http.StatusOK, out)
}

// DeleteAPIKey is DELETE /api/v1/api-keys/{id}: the key stops working at once.
func (h *Handlers) DeleteAPIKey(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	id, err := httpx.PathValue(r, "id")
	if err != nil {
		return err
	}
	if err := h.admin.DeleteAPIKey(r.Context(), a, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- Users ---

func userOut(u *pairgate.User, password string) adminapi.User {
	return adminapi.User{ID: u.ID, Username: u.Username, Role: u.Role, CreatedAt: u.CreatedAt.UTC(),
		PasswordChangedAt: u.PasswordChangedAt.UTC(), Password: password}
}

// ListUsers is GET /api/v1/users.
func (h *Handlers) ListUsers(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	us, err := h.admin.ListUsers(r.Context(), a)
	if err != nil {
		return err
	}
	out := adminapi.UserList{Users: make([]adminapi.User, 0, len(us))}
	for _, u := range us {
		out.Users = append(out.Users, userOut(u, ""))
	}
	return httpx.JSON(w, http.StatusOK, out)
}

// CreateUser is POST /api/v1/users {"username", "role", "password"}; without
// a password, one is generated and returned this once.
func (h *Handlers) CreateUser(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	var in adminapi.NewUser
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	u, generated, err := h.admin.CreateUser(r.Context(), a, in.Username, in.Role, in.Password)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusCreated, userOut(u, generated))
}

// DeleteUser is DELETE /api/v1/users/{id} (an ID or a username).
func (h *Handlers) DeleteUser(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	id, err := httpx.PathValue(r, "id")
	if err != nil {
		return err
	}
	u, err := h.admin.FindUser(r.Context(), id)
	if err != nil {
		return err
	}
	if err := h.admin.DeleteUser(r.Context(), a, u.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// SetPassword is PUT /api/v1/users/{id}/password {"password"}; without a
// password, one is generated and returned this once. The account is signed
// out everywhere. The caller's own account also needs "current_password".
func (h *Handlers) SetPassword(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	var in adminapi.NewPassword
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	id, err := httpx.PathValue(r, "id")
	if err != nil {
		return err
	}
	u, err := h.admin.FindUser(r.Context(), id)
	if err != nil {
		return err
	}
	if a.Type == pairgate.ActorUser && u.ID == a.ID && in.CurrentPassword != "" {
		// One's own password: with the current one (SetPassword refuses
		// it without).
		if in.Password == "" {
			return pairgate.Errorf(pairgate.EINVALID, "password: choose the new password of your own account")
		}
		if err := h.admin.ChangeOwnPassword(r.Context(), a, in.CurrentPassword, in.Password); err != nil {
			return err
		}
		return httpx.JSON(w, http.StatusOK, adminapi.PasswordSet{ID: u.ID})
	}
	generated, err := h.admin.SetPassword(r.Context(), a, u.ID, in.Password)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, adminapi.PasswordSet{ID: u.ID, Password: generated})
}

// SetRole is PUT /api/v1/users/{id}/role {"role"}: the account's sessions
// end, and the last admin stays one.
func (h *Handlers) SetRole(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	var in adminapi.NewRole
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	id, err := httpx.PathValue(r, "id")
	if err != nil {
		return err
	}
	u, err := h.admin.FindUser(r.Context(), id)
	if err != nil {
		return err
	}
	if u, err = h.admin.SetRole(r.Context(), a, u.ID, in.Role); err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, userOut(u, ""))
}

// --- Audit log ---

// ListAuditEvents is GET /api/v1/audit-events?action=&actor=&target=&since=&until=&before=&limit=,
// newest first; "next" is the cursor (before=) of the following page.
func (h *Handlers) ListAuditEvents(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	q, err := httpx.Query(r)
	if err != nil {
		return err
	}
	limit, err := limitParam(q.Get("limit"), 100)
	if err != nil {
		return err
	}
	f := pairgate.AuditFilter{Action: q.Get("action"), ActorID: q.Get("actor"), Target: q.Get("target"), Before: q.Get("before"), Limit: limit + 1}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return pairgate.Errorf(pairgate.EINVALID, "%s must be an RFC 3339 time, e.g. 2026-11-23T12:00:00Z", p.name)
			}
			*p.t = t
		}
	}
	events, err := h.admin.ListAuditEvents(r.Context(), a, f)
	if err != nil {
		return err
	}
	var out adminapi.AuditList
	if len(events) > limit {
		events = events[:limit]
		out.Next = events[limit-1].ID
	}
	out.Events = make([]adminapi.AuditEvent, 0, len(events))
	for _, e := range events {
		out.Events = append(out.Events, adminapi.AuditEvent{ID: e.ID, Time: e.Time.UTC(), Action: e.Action, ActorType: e.ActorType,
			ActorID: e.ActorID, ActorName: e.ActorName, Target: e.Target, IP: e.IP, Details: e.Details})
	}
	return httpx.JSON(w, http.StatusOK, out)
}

// ClearLockout is POST /api/v1/lockouts/clear {"ip", "username"}: lifts the
// guessing limits that hold an address or an account.
func (h *Handlers) ClearLockout(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	var in adminapi.Lockout
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	cleared, err := h.admin.ClearLockout(r.Context(), a, in.IP, in.Username)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, adminapi.LockoutCleared{Cleared: cleared})
}

func lockoutOut(l *pairgate.Lockout) adminapi.LockoutEntry {
	return adminapi.LockoutEntry{ID: l.ID(), Rule: l.Rule, Subject: l.Subject, Hits: l.Hits, Limit: l.Limit, Until: l.Until.UTC()}
}

// ListLockouts is GET /api/v1/lockouts: the guessing limits that refuse
// someone's next attempt, the latest to lift first.
func (h *Handlers) ListLockouts(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	ls, err := h.admin.ListLockouts(r.Context(), a)
	if err != nil {
		return err
	}
	out := adminapi.LockoutList{Lockouts: make([]adminapi.LockoutEntry, 0, len(ls))}
	for _, l := range ls {
		out.Lockouts = append(out.Lockouts, lockoutOut(l))
	}
	return httpx.JSON(w, http.StatusOK, out)
}

// LiftLockout is POST /api/v1/lockouts/{id}/lift: 200 with the lock-out
// as it was, 404 when it lifted by itself meanwhile.
func (h *Handlers) LiftLockout(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	id, err := httpx.PathValue(r, "id")
	if err != nil {
		return err
	}
	l, err := h.admin.LiftLockout(r.Context(), a, id)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, lockoutOut(l))
}
