// Package admin holds the administrative operations of pairgate —
// authorization codes, the device inventory, clients, API keys, accounts and
// the audit log — each with the rules it must keep and the audit event it
// leaves. The admin JSON API, the Admin Console and the command line all
// come through here, so that no administrative path bypasses a rule.
package admin

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/audit"
	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/ratelimit"
	"github.com/pairgate/pairgate/internal/secret"
)

// Actor is who performs an operation, for the audit log.
type Actor struct {
	Type string // pairgate.ActorUser, ActorAPIKey or ActorSystem
	ID   string
	Name string
}

// UserActor is a person signed in to the console.
func UserActor(u *pairgate.User) Actor {
	return Actor{Type: pairgate.ActorUser, ID: u.ID, Name: u.Username}
}

// Service performs administrative operations.
type Service struct {
	store  pairgate.Store
	keys   *secret.Keys
	grants *grants.Service
	audit  *audit.Recorder
	now    func() time.Time
	log    *slog.Logger

	// ClientChanged is told when a client is created or deleted, so that
	// caches (authn.Clients) forget it at once on this replica.
	ClientChanged func(id string)
	// Limiter holds the guessing limits that ClearLockout lifts.
	Limiter *ratelimit.Limiter
}

// New returns a Service.
func New(store pairgate.Store, keys *secret.Keys, g *grants.Service, rec *audit.Recorder, now func() time.Time, log *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, keys: keys, grants: g, audit: rec, now: now, log: log}
}

func (s *Service) record(ctx context.Context, a Actor, action, target string, details map[string]string) {
	s.audit.Record(ctx, pairgate.AuditEvent{Action: action, ActorType: a.Type, ActorID: a.ID, ActorName: a.Name,
		Target: target, Details: details})
}

// --- Authorization codes ---

// CreateCode generates an authorization code that lives for ttl.
func (s *Service) CreateCode(ctx context.Context, a Actor, ttl pairgate.CodeTTL) (string, *pairgate.AuthorizationCode, error) {
	code, ac, err := s.grants.CreateAuthorizationCode(ctx, ttl, a.ID)
	if err != nil {
		return "", nil, err
	}
	s.record(ctx, a, pairgate.AuditCodeGenerated, ac.ID, map[string]string{"ttl": string(ttl)})
	return code, ac, nil
}

// ListCodes returns the codes that have not expired, with their values.
func (s *Service) ListCodes(ctx context.Context) ([]grants.ActiveCode, error) {
	return s.grants.ListAuthorizationCodes(ctx)
}

// DeleteCode deletes a code: no device can redeem it from now on.
func (s *Service) DeleteCode(ctx context.Context, a Actor, id string) error {
	if err := s.grants.DeleteAuthorizationCode(ctx, id); err != nil {
		return err
	}
	s.record(ctx, a, pairgate.AuditCodeDeleted, id, nil)
	return nil
}

// --- Devices ---

// ListDevices returns a page of the inventory.
func (s *Service) ListDevices(ctx context.Context, f pairgate.DeviceFilter) ([]*pairgate.Device, error) {
	if len(f.Search) > 200 {
		return nil, pairgate.Errorf(pairgate.EINVALID, "search text longer than 200 characters")
	}
	return s.store.ListDevices(ctx, f)
}

// GetDevice returns one device.
func (s *Service) GetDevice(ctx context.Context, id string) (*pairgate.Device, error) {
	return s.store.GetDevice(ctx, id)
}

// DeleteDevice removes a device from the inventory and revokes it at once
// (DESIGN.md 2.2): to come back it must authorize again.
func (s *Service) DeleteDevice(ctx context.Context, a Actor, id string) error {
	d, err := s.store.GetDevice(ctx, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteDevice(ctx, id); err != nil {
		return err
	}
	s.log.Info("device deleted", "device_id", id, "by", a.ID)
	s.record(ctx, a, pairgate.AuditDeviceDeleted, id, map[string]string{"name": d.Name, "client_id": d.ClientID,
		"hardware_id": d.HardwareID, "authorized_by": d.AuthMethod})
	return nil
}

// --- Clients ---

// NewClient is what an admin asks for when registering a client.
type NewClient struct {
	ID         string   `json:"client_id"`
	Name       string   `json:"name"`
	Public     bool     `json:"public"`
	GrantTypes []string `json:"grant_types"`
	Scopes     []string `json:"scopes"`
}

// CreateClient registers a client. A confidential client's secret is
// returned this once; only its keyed hash is stored.
func (s *Service) CreateClient(ctx context.Context, a Actor, nc NewClient) (*pairgate.Client, string, error) {
	if err := validClientID(nc.ID); err != nil {
		return nil, "", err
	}
	if nc.Name == "" || len(nc.Name) > 128 {
		return nil, "", pairgate.Errorf(pairgate.EINVALID, "name is required, at most 128 bytes")
	}
	gts := nc.GrantTypes
	if len(gts) == 0 {
		return nil, "", pairgate.Errorf(pairgate.EINVALID, "grant_types is required: any of %v", pairgate.AllGrantTypes)
	}
	for _, g := range gts {
		if !slices.Contains(pairgate.AllGrantTypes, g) {
			return nil, "", pairgate.Errorf(pairgate.EINVALID, "grant type %q is not supported; use any of %v", g, pairgate.AllGrantTypes)
		}
	}
	scopes := pairgate.ParseScopes(pairgate.Scopes(nc.Scopes).String())
	for _, sc := range scopes {
		if !pairgate.ValidScopeToken(sc) {
			return nil, "", pairgate.Errorf(pairgate.EINVALID, "scope %q is malformed", sc)
		}
	}
	if len(scopes) == 0 {
		return nil, "", pairgate.Errorf(pairgate.EINVALID, "scopes is required")
	}
	c := &pairgate.Client{ID: nc.ID, Name: nc.Name, Public: nc.Public, GrantTypes: slices.Compact(slices.Sorted(slices.Values(gts))),
		Scopes: scopes, CreatedAt: s.now()}
	var sec string
	if !nc.Public {
		sec = secret.Token(secret.PrefixClientSecret)
		c.SecretHash = s.keys.Hash(secret.KindClientSecret, sec)
	}
	if err := s.store.CreateClient(ctx, c); err != nil {
		return nil, "", err
	}
	s.changed(c.ID)
	s.record(ctx, a, pairgate.AuditClientCreated, c.ID, map[string]string{"public": fmt.Sprint(c.Public), "scope": c.Scopes.String()})
	return c, sec, nil
}

func validClientID(id string) error {
	if id == "" || len(id) > 64 {
		return pairgate.Errorf(pairgate.EINVALID, "client_id is required, 1 to 64 characters")
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return pairgate.Errorf(pairgate.EINVALID, "client_id may hold letters, digits, '-', '_' and '.' only")
		}
	}
	return nil
}

// ListClients returns every client.
func (s *Service) ListClients(ctx context.Context) ([]*pairgate.Client, error) {
	return s.store.ListClients(ctx)
}

// GetClient returns one client.
func (s *Service) GetClient(ctx context.Context, id string) (*pairgate.Client, error) {
	return s.store.GetClient(ctx, id)
}

// DeleteClient deletes a client with its devices and their tokens.
func (s *Service) DeleteClient(ctx context.Context, a Actor, id string) error {
	if id == pairgate.BrowserClientID {
		// Deleting it would sign every authorized browser out at once;
		// delete those devices one by one if that is what is meant.
		return pairgate.Errorf(pairgate.ECONFLICT, "%s is built in: it holds the browsers authorized as devices; delete those devices instead", id)
	}
	if err := s.store.DeleteClient(ctx, id); err != nil {
		return err
	}
	s.changed(id)
	s.record(ctx, a, pairgate.AuditClientDeleted, id, nil)
	return nil
}

func (s *Service) changed(id string) {
	if s.ClientChanged != nil {
		s.ClientChanged(id)
	}
}

// --- API keys ---

// CreateAPIKey makes an API key that acts for the admin who makes it. The
// key is returned this once.
func (s *Service) CreateAPIKey(ctx context.Context, a Actor, name string) (*pairgate.APIKey, string, error) {
	if a.Type != pairgate.ActorUser {
		return nil, "", pairgate.Errorf(pairgate.EFORBIDDEN, "API keys are made by a signed-in admin, not by another key")
	}
	if name == "" || len(name) > 128 {
		return nil, "", pairgate.Errorf(pairgate.EINVALID, "name is required, at most 128 bytes")
	}
	now := s.now()
	for range 4 {
		key := secret.Token(secret.PrefixAPIKey)
		k := &pairgate.APIKey{ID: secret.NewID("key_", now), Name: name, KeyHash: s.keys.Hash(secret.KindAPIKey, key),
			CreatedBy: a.ID, CreatedAt: now}
		err := s.store.CreateAPIKey(ctx, k)
		if pairgate.ErrorCode(err) == pairgate.ECONFLICT {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		s.record(ctx, a, pairgate.AuditAPIKeyCreated, k.ID, map[string]string{"name": name})
		return k, key, nil
	}
	return nil, "", pairgate.Internal(fmt.Errorf("API key collisions"), "create API key")
}

// ListAPIKeys returns every API key (never the keys themselves).
func (s *Service) ListAPIKeys(ctx context.Context) ([]*pairgate.APIKey, error) {
	return s.store.ListAPIKeys(ctx)
}

// DeleteAPIKey revokes an API key at once.
func (s *Service) DeleteAPIKey(ctx context.Context, a Actor, id string) error {
	if err := s.store.DeleteAPIKey(ctx, id); err != nil {
		return err
	}
	s.record(ctx, a, pairgate.AuditAPIKeyDeleted, id, nil)
	return nil
}

// --- Accounts ---

func checkPassword(p string) error {
	if len(p) < secret.MinPasswordLength {
		return pairgate.Errorf(pairgate.EINVALID, "the password must be at least %d characters", secret.MinPasswordLength)
	}
	if len(p) > secret.MaxPasswordBytes {
		return pairgate.Errorf(pairgate.EINVALID, "the password must be at most %d bytes", secret.MaxPasswordBytes)
	}
	return nil
}

// CreateUser creates an account. An empty password makes a random one,
// returned this once.
func (s *Service) CreateUser(ctx context.Context, a Actor, username, role, password string) (*pairgate.User, string, error) {
	name, ok := pairgate.NormalizeUsername(username)
	if !ok {
		return nil, "", pairgate.Errorf(pairgate.EINVALID, "username: use 1 to 64 characters of a-z, 0-9, '.', '_', '-' and '@'")
	}
	if role != pairgate.RoleAdmin && role != pairgate.RoleUser {
		return nil, "", pairgate.Errorf(pairgate.EINVALID, "role must be admin or user")
	}
	generated := ""
	if password == "" {
		password = secret.Password()
		generated = password
	} else if err := checkPassword(password); err != nil {
		return nil, "", err
	}
	now := s.now()
	u := &pairgate.User{ID: secret.NewID("usr_", now), Username: name, PasswordHash: secret.HashPassword(password),
		Role: role, CreatedAt: now, PasswordChangedAt: now}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if pairgate.ErrorCode(err) == pairgate.ECONFLICT {
			return nil, "", pairgate.Errorf(pairgate.ECONFLICT, "an account named %q already exists", name)
		}
		return nil, "", err
	}
	s.record(ctx, a, pairgate.AuditUserCreated, u.ID, map[string]string{"username": name, "role": role})
	return u, generated, nil
}

// ListUsers returns every account.
func (s *Service) ListUsers(ctx context.Context) ([]*pairgate.User, error) {
	return s.store.ListUsers(ctx)
}

// FindUser finds an account by ID or username.
func (s *Service) FindUser(ctx context.Context, idOrName string) (*pairgate.User, error) {
	u, err := s.store.GetUser(ctx, idOrName)
	if pairgate.ErrorCode(err) == pairgate.ENOTFOUND {
		if name, ok := pairgate.NormalizeUsername(idOrName); ok {
			u, err = s.store.GetUserByUsername(ctx, name)
		}
	}
	if pairgate.ErrorCode(err) == pairgate.ENOTFOUND {
		return nil, pairgate.Errorf(pairgate.ENOTFOUND, "no account named %q", idOrName)
	}
	return u, err
}

// DeleteUser deletes an account; its sessions end and the user-mode
// devices it approved lose access. The last admin cannot be deleted:
// without one nobody could sign in to repair anything.
func (s *Service) DeleteUser(ctx context.Context, a Actor, id string) error {
	u, err := s.store.GetUser(ctx, id)
	if err != nil {
		return err
	}
	// The store refuses to delete the last admin, in the transaction that
	// deletes: a count taken here would let two admins delete each other.
	if err := s.store.DeleteUser(ctx, id); err != nil {
		return err
	}
	s.record(ctx, a, pairgate.AuditUserDeleted, id, map[string]string{"username": u.Username})
	return nil
}

// SetPassword replaces an account's password (empty: a random one,
// returned this once); the account is signed out everywhere.
func (s *Service) SetPassword(ctx context.Context, a Actor, id, password string) (string, error) {
	generated := ""
	if password == "" {
		password = secret.Password()
		generated = password
	} else if err := checkPassword(password); err != nil {
		return "", err
	}
	u, err := s.store.GetUser(ctx, id)
	if err != nil {
		return "", err
	}
	if err := s.store.SetUserPassword(ctx, id, secret.HashPassword(password), s.now()); err != nil {
		return "", err
	}
	s.record(ctx, a, pairgate.AuditPasswordChanged, id, map[string]string{"username": u.Username})
	return generated, nil
}

// --- Lock-outs ---

// ClearLockout lifts the guessing limits (DESIGN.md 2.6) that hold an
// address or an account, for a person who was locked out and cannot wait.
// It returns the names of the rules it reset.
func (s *Service) ClearLockout(ctx context.Context, a Actor, ip, username string) ([]string, error) {
	if ip == "" && username == "" {
		return nil, pairgate.Errorf(pairgate.EINVALID, "name an ip or a username (or both)")
	}
	if ip != "" {
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			return nil, pairgate.Errorf(pairgate.EINVALID, "ip %q is not an IP address", ip)
		}
		ip = addr.Unmap().String()
	}
	var cleared []string
	if ip != "" {
		for _, r := range ratelimit.PerIPRules {
			if err := s.Limiter.Reset(ctx, ratelimit.Hit{Rule: *r, Subject: ip}); err != nil {
				return nil, err
			}
			cleared = append(cleared, r.Name)
		}
	}
	if username != "" {
		if err := s.Limiter.Reset(ctx, ratelimit.Hit{Rule: ratelimit.SignInPerAccount, Subject: ratelimit.AccountSubject(username)}); err != nil {
			return nil, err
		}
		cleared = append(cleared, ratelimit.SignInPerAccount.Name)
	}
	s.record(ctx, a, pairgate.AuditRateLimitUnlocked, ip+" "+username, map[string]string{"ip": ip, "username": username})
	return cleared, nil
}

// --- Audit log ---

// ListAuditEvents returns a page of the audit log, newest first.
func (s *Service) ListAuditEvents(ctx context.Context, f pairgate.AuditFilter) ([]*pairgate.AuditEvent, error) {
	return s.store.ListAuditEvents(ctx, f)
}
