package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/httpx"
)

// The admin API (DESIGN.md section 3): plain JSON over HTTP, the CLI its
// first client. Times are RFC 3339 in UTC; a time that does not exist
// (a code that never expires, a device never seen) is null.

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// --- Authorization codes ---

type codeJSON struct {
	ID         string     `json:"id"`
	Code       string     `json:"code"`
	TTL        string     `json:"ttl"`
	TTLLabel   string     `json:"ttl_label"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	Uses       int        `json:"uses"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func codeOut(code string, ac *pairgate.AuthorizationCode) codeJSON {
	return codeJSON{ID: ac.ID, Code: code, TTL: string(ac.TTL), TTLLabel: ac.TTL.Label(), CreatedAt: ac.CreatedAt.UTC(),
		ExpiresAt: timeOrNil(ac.ExpiresAt), Uses: ac.Uses, LastUsedAt: timeOrNil(ac.LastUsedAt)}
}

// CreateCode is POST /api/v1/authorization-codes {"ttl": "30m"|"60m"|"6h"|"24h"|"48h"|"never"}.
func (h *Handlers) CreateCode(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	var in struct {
		TTL string `json:"ttl"`
	}
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	ttl, err := pairgate.ParseCodeTTL(in.TTL)
	if err != nil {
		return err
	}
	code, ac, err := h.Admin.CreateCode(r.Context(), a, ttl)
	if err != nil {
		return err
	}
	httpx.NoStore(w)
	return httpx.JSON(w, http.StatusCreated, codeOut(code, ac))
}

// ListCodes is GET /api/v1/authorization-codes: the codes that have not
// expired, newest first.
func (h *Handlers) ListCodes(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	codes, err := h.Admin.ListCodes(r.Context())
	if err != nil {
		return err
	}
	out := make([]codeJSON, 0, len(codes))
	for _, c := range codes {
		out = append(out, codeOut(c.Code, c.AuthorizationCode))
	}
	httpx.NoStore(w)
	return httpx.JSON(w, http.StatusOK, map[string]any{"authorization_codes": out})
}

// DeleteCode is DELETE /api/v1/authorization-codes/{id}.
func (h *Handlers) DeleteCode(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	if err := h.Admin.DeleteCode(r.Context(), a, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- Devices ---

type deviceJSON struct {
	ID                  string     `json:"id"`
	Name                string     `json:"name"`
	ClientID            string     `json:"client_id"`
	Mode                string     `json:"mode"`
	HardwareID          string     `json:"hardware_id"`
	AuthorizedBy        string     `json:"authorized_by"`
	AuthorizationCodeID string     `json:"authorization_code_id,omitempty"`
	ApprovedBy          string     `json:"approved_by,omitempty"`
	Scopes              []string   `json:"scopes"`
	AuthorizedAt        time.Time  `json:"authorized_at"`
	LastSeenAt          *time.Time `json:"last_seen_at"`
	LastIP              string     `json:"last_ip"`
	State               string     `json:"state"`
	StateChangedAt      *time.Time `json:"state_changed_at"`
}

func deviceOut(d *pairgate.Device) deviceJSON {
	sc := []string(d.Scopes)
	if sc == nil {
		sc = []string{}
	}
	return deviceJSON{ID: d.ID, Name: d.Name, ClientID: d.ClientID, Mode: string(d.Mode), HardwareID: d.HardwareID,
		AuthorizedBy: d.AuthMethod, AuthorizationCodeID: d.AuthCodeID, ApprovedBy: d.UserID, Scopes: sc,
		AuthorizedAt: d.AuthorizedAt.UTC(), LastSeenAt: timeOrNil(d.LastSeenAt), LastIP: d.LastIP,
		State: d.State, StateChangedAt: timeOrNil(d.StateChangedAt)}
}

// limitParam reads ?limit= (default def, at most pairgate.MaxPageSize).
func limitParam(r *http.Request, def int) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > pairgate.MaxPageSize {
		return 0, pairgate.Errorf(pairgate.EINVALID, "limit must be a number from 1 to %d", pairgate.MaxPageSize)
	}
	return n, nil
}

// ListDevices is GET /api/v1/devices?q=&client_id=&after=&limit=. The
// answer's "next" is the cursor of the following page, absent on the last.
func (h *Handlers) ListDevices(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	limit, err := limitParam(r, 100)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	devs, err := h.Admin.ListDevices(r.Context(), pairgate.DeviceFilter{Search: q.Get("q"), ClientID: q.Get("client_id"),
		After: q.Get("after"), Limit: limit + 1})
	if err != nil {
		return err
	}
	out := map[string]any{}
	if len(devs) > limit {
		devs = devs[:limit]
		out["next"] = devs[limit-1].ID
	}
	list := make([]deviceJSON, 0, len(devs))
	for _, d := range devs {
		list = append(list, deviceOut(d))
	}
	out["devices"] = list
	return httpx.JSON(w, http.StatusOK, out)
}

// GetDevice is GET /api/v1/devices/{id}.
func (h *Handlers) GetDevice(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	d, err := h.Admin.GetDevice(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, deviceOut(d))
}

// DeleteDevice is DELETE /api/v1/devices/{id}: the device is revoked at once.
func (h *Handlers) DeleteDevice(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	if err := h.Admin.DeleteDevice(r.Context(), a, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- Clients ---

type clientJSON struct {
	ClientID     string    `json:"client_id"`
	Name         string    `json:"name"`
	Public       bool      `json:"public"`
	GrantTypes   []string  `json:"grant_types"`
	Scopes       []string  `json:"scopes"`
	CreatedAt    time.Time `json:"created_at"`
	ClientSecret string    `json:"client_secret,omitempty"`
}

func clientOut(c *pairgate.Client, sec string) clientJSON {
	gt, sc := c.GrantTypes, []string(c.Scopes)
	if gt == nil {
		gt = []string{}
	}
	if sc == nil {
		sc = []string{}
	}
	return clientJSON{ClientID: c.ID, Name: c.Name, Public: c.Public, GrantTypes: gt, Scopes: sc, CreatedAt: c.CreatedAt.UTC(), ClientSecret: sec}
}

// CreateClient is POST /api/v1/clients. A confidential client's secret is
// in this answer only.
func (h *Handlers) CreateClient(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	var in admin.NewClient
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	c, sec, err := h.Admin.CreateClient(r.Context(), a, in)
	if err != nil {
		return err
	}
	httpx.NoStore(w)
	return httpx.JSON(w, http.StatusCreated, clientOut(c, sec))
}

// ListClients is GET /api/v1/clients.
func (h *Handlers) ListClients(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	cs, err := h.Admin.ListClients(r.Context())
	if err != nil {
		return err
	}
	out := make([]clientJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, clientOut(c, ""))
	}
	return httpx.JSON(w, http.StatusOK, map[string]any{"clients": out})
}

// GetClient is GET /api/v1/clients/{id}.
func (h *Handlers) GetClient(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	c, err := h.Admin.GetClient(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, clientOut(c, ""))
}

// DeleteClient is DELETE /api/v1/clients/{id}: its devices go with it.
func (h *Handlers) DeleteClient(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	if err := h.Admin.DeleteClient(r.Context(), a, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- API keys ---

type apiKeyJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Key        string     `json:"key,omitempty"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func apiKeyOut(k *pairgate.APIKey, key string) apiKeyJSON {
	return apiKeyJSON{ID: k.ID, Name: k.Name, Key: key, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt.UTC(), LastUsedAt: timeOrNil(k.LastUsedAt)}
}

// CreateAPIKey is POST /api/v1/api-keys {"name"}: the key is in this answer
// only. Besides a console session, this one endpoint takes an admin's
// username and password in HTTP Basic, so that the first key can be made
// without a browser.
func (h *Handlers) CreateAPIKey(w http.ResponseWriter, r *http.Request) error {
	if err := crossOrigin.Check(r); err != nil {
		return &pairgate.Error{Code: pairgate.EFORBIDDEN, Message: "cross-origin request refused"}
	}
	a, basic, err := h.basicAdmin(r.Context(), r)
	if err != nil {
		return err
	}
	if !basic {
		if a, err = h.adminActor(r.Context(), r); err != nil {
			return err
		}
	}
	var in struct {
		Name string `json:"name"`
	}
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	k, key, err := h.Admin.CreateAPIKey(r.Context(), a, in.Name)
	if err != nil {
		return err
	}
	httpx.NoStore(w)
	return httpx.JSON(w, http.StatusCreated, apiKeyOut(k, key))
}

// ListAPIKeys is GET /api/v1/api-keys (never the keys themselves).
func (h *Handlers) ListAPIKeys(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	ks, err := h.Admin.ListAPIKeys(r.Context())
	if err != nil {
		return err
	}
	out := make([]apiKeyJSON, 0, len(ks))
	for _, k := range ks {
		out = append(out, apiKeyOut(k, ""))
	}
	return httpx.JSON(w, http.StatusOK, map[string]any{"api_keys": out})
}

// DeleteAPIKey is DELETE /api/v1/api-keys/{id}: the key stops working at once.
func (h *Handlers) DeleteAPIKey(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	if err := h.Admin.DeleteAPIKey(r.Context(), a, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- Users ---

type userJSON struct {
	ID                string    `json:"id"`
	Username          string    `json:"username"`
	Role              string    `json:"role"`
	CreatedAt         time.Time `json:"created_at"`
	PasswordChangedAt time.Time `json:"password_changed_at"`
	Password          string    `json:"password,omitempty"`
}

func userOut(u *pairgate.User, password string) userJSON {
	return userJSON{ID: u.ID, Username: u.Username, Role: u.Role, CreatedAt: u.CreatedAt.UTC(),
		PasswordChangedAt: u.PasswordChangedAt.UTC(), Password: password}
}

// ListUsers is GET /api/v1/users.
func (h *Handlers) ListUsers(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	us, err := h.Admin.ListUsers(r.Context())
	if err != nil {
		return err
	}
	out := make([]userJSON, 0, len(us))
	for _, u := range us {
		out = append(out, userOut(u, ""))
	}
	return httpx.JSON(w, http.StatusOK, map[string]any{"users": out})
}

// CreateUser is POST /api/v1/users {"username", "role", "password"}; without
// a password, one is generated and returned this once.
func (h *Handlers) CreateUser(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	var in struct {
		Username string `json:"username"`
		Role     string `json:"role"`
		Password string `json:"password"`
	}
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	u, generated, err := h.Admin.CreateUser(r.Context(), a, in.Username, in.Role, in.Password)
	if err != nil {
		return err
	}
	httpx.NoStore(w)
	return httpx.JSON(w, http.StatusCreated, userOut(u, generated))
}

// DeleteUser is DELETE /api/v1/users/{id} (an ID or a username).
func (h *Handlers) DeleteUser(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	u, err := h.Admin.FindUser(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := h.Admin.DeleteUser(r.Context(), a, u.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// SetPassword is PUT /api/v1/users/{id}/password {"password"}; without a
// password, one is generated and returned this once. The account is signed
// out everywhere.
func (h *Handlers) SetPassword(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	var in struct {
		Password string `json:"password"`
	}
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	u, err := h.Admin.FindUser(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	generated, err := h.Admin.SetPassword(r.Context(), a, u.ID, in.Password)
	if err != nil {
		return err
	}
	httpx.NoStore(w)
	return httpx.JSON(w, http.StatusOK, map[string]string{"id": u.ID, "password": generated})
}

// --- Audit log ---

type auditJSON struct {
	ID        string            `json:"id"`
	Time      time.Time         `json:"time"`
	Action    string            `json:"action"`
	ActorType string            `json:"actor_type"`
	ActorID   string            `json:"actor_id,omitempty"`
	ActorName string            `json:"actor_name,omitempty"`
	Target    string            `json:"target,omitempty"`
	IP        string            `json:"ip,omitempty"`
	Details   map[string]string `json:"details,omitempty"`
}

// ListAuditEvents is GET /api/v1/audit-events?action=&actor=&target=&since=&until=&before=&limit=,
// newest first; "next" is the cursor (before=) of the following page.
func (h *Handlers) ListAuditEvents(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	limit, err := limitParam(r, 100)
	if err != nil {
		return err
	}
	q := r.URL.Query()
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
	events, err := h.Admin.ListAuditEvents(r.Context(), f)
	if err != nil {
		return err
	}
	out := map[string]any{}
	if len(events) > limit {
		events = events[:limit]
		out["next"] = events[limit-1].ID
	}
	list := make([]auditJSON, 0, len(events))
	for _, e := range events {
		list = append(list, auditJSON{ID: e.ID, Time: e.Time.UTC(), Action: e.Action, ActorType: e.ActorType, ActorID: e.ActorID,
			ActorName: e.ActorName, Target: e.Target, IP: e.IP, Details: e.Details})
	}
	out["audit_events"] = list
	return httpx.JSON(w, http.StatusOK, out)
}

// ClearLockout is POST /api/v1/lockouts/clear {"ip", "username"}: lifts the
// guessing limits that hold an address or an account.
func (h *Handlers) ClearLockout(w http.ResponseWriter, r *http.Request, a admin.Actor) error {
	var in struct {
		IP       string `json:"ip"`
		Username string `json:"username"`
	}
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	cleared, err := h.Admin.ClearLockout(r.Context(), a, in.IP, in.Username)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, map[string]any{"cleared": cleared})
}
