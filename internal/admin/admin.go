// Package admin holds the administrative operations of pairgate —
// authorization codes, the device inventory, printers and their
// deployments, clients, API keys, accounts and the audit log — each with the rules it must keep and the audit event it
// leaves. The admin JSON API, the Admin Console and the command line all
// come through here, so that no administrative path bypasses a rule.
package admin

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/audit"
	"github.com/pairgate/pairgate/internal/printing"
	"github.com/pairgate/pairgate/internal/ratelimit"
	"github.com/pairgate/pairgate/internal/secret"
)

// Actor is who performs an operation: what it may do, and how the audit
// log names it.
type Actor struct {
	Type  string // pairgate.ActorUser, ActorAPIKey or ActorSystem
	ID    string
	Name  string
	Perms pairgate.Permissions
	// Owner is the account an API key acts for; for a person, themselves.
	Owner string
}

// UserActor is a person who signed in interactively (the console, or a
// password at the admin API): their role's permissions.
func UserActor(u *pairgate.User) Actor {
	return Actor{Type: pairgate.ActorUser, ID: u.ID, Name: u.Username, Perms: pairgate.RolePermissions(u.Role), Owner: u.ID}
}

// KeyActor is an API key: what its scopes and its owner's current role
// both allow, never account management.
func KeyActor(k *pairgate.APIKey) Actor {
	return Actor{Type: pairgate.ActorAPIKey, ID: k.ID, Name: k.Name, Perms: pairgate.APIKeyPermissions(k.Scopes, k.OwnerRole),
		Owner: k.CreatedBy}
}

// HostActor is a command run on the server's host with its store: the
// break-glass path, which may do everything.
func HostActor(cmd string) Actor {
	return Actor{Type: pairgate.ActorSystem, Name: cmd, Perms: pairgate.AllPermissions()}
}

// Interactive reports whether a person is acting, not a key.
func (a Actor) Interactive() bool {
	return a.Type == pairgate.ActorUser || a.Type == pairgate.ActorSystem
}

// need refuses an operation the actor may not perform.
func (a Actor) need(p pairgate.Permission) error {
	if a.Perms.Has(p) {
		return nil
	}
	if a.Type == pairgate.ActorAPIKey {
		return pairgate.Errorf(pairgate.EFORBIDDEN, "this API key may not do that: it needs %s, which its scopes or its owner's role do not give", p)
	}
	return pairgate.Errorf(pairgate.EFORBIDDEN, "your role may not do that (it needs %s)", p)
}

// needInteractive refuses an operation that only a person may perform.
func (a Actor) needInteractive(p pairgate.Permission, what string) error {
	if !a.Interactive() {
		return pairgate.Errorf(pairgate.EFORBIDDEN, "%s needs a person signed in (the console, or a username and password), not an API key", what)
	}
	return a.need(p)
}

// Deps are what the administrative operations work with. Every field is
// required.
type Deps struct {
	Store   pairgate.Store
	Keys    *secret.Keys
	Audit   *audit.Recorder
	Limiter *ratelimit.Limiter // holds the guessing limits that ClearLockout lifts
	Prober  *printing.Prober   // asks printers what they are (CheckPrinter)
	Log     *slog.Logger
	Now     func() time.Time
	// ClientChanged is told when a client is created or deleted, so that
	// caches (authn.Clients) forget it at once on this replica.
	ClientChanged func(id string)
	// PasswordChanged is told when an account's password changed (the
	// first-start password file goes at the first change).
	PasswordChanged func(u *pairgate.User)
}

// Service performs administrative operations.
type Service struct {
	store           pairgate.Store
	keys            *secret.Keys
	audit           *audit.Recorder
	limiter         *ratelimit.Limiter
	prober          *printing.Prober
	now             func() time.Time
	log             *slog.Logger
	clientChanged   func(id string)
	passwordChanged func(u *pairgate.User)

	// authCode generates codes; tests replace it to force collisions.
	authCode func() string
}

// New returns a Service.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.Keys == nil || d.Audit == nil || d.Limiter == nil || d.Prober == nil || d.Log == nil || d.Now == nil ||
		d.ClientChanged == nil || d.PasswordChanged == nil {
		return nil, fmt.Errorf("admin: every dependency is required")
	}
	return &Service{store: d.Store, keys: d.Keys, audit: d.Audit, limiter: d.Limiter, prober: d.Prober, now: d.Now, log: d.Log,
		clientChanged: d.ClientChanged, passwordChanged: d.PasswordChanged, authCode: secret.AuthorizationCode}, nil
}

func (s *Service) record(ctx context.Context, a Actor, action, target string, details map[string]string) {
	s.audit.Record(ctx, pairgate.AuditEvent{Action: action, ActorType: a.Type, ActorID: a.ID, ActorName: a.Name,
		Target: target, Details: details})
}

// --- Devices ---

// ListDevices returns a page of the inventory.
func (s *Service) ListDevices(ctx context.Context, a Actor, f pairgate.DeviceFilter) ([]*pairgate.Device, error) {
	if err := a.need(pairgate.PermDevicesRead); err != nil {
		return nil, err
	}
	if len(f.Search) > 200 {
		return nil, pairgate.Errorf(pairgate.EINVALID, "search text longer than 200 characters")
	}
	if f.State != "" && !pairgate.ValidDeviceState(f.State) {
		return nil, pairgate.Errorf(pairgate.EINVALID, "state must be one of active, signed_out, revoked or expired")
	}
	if f.AuthMethod != "" && !validAuthMethod(f.AuthMethod) {
		return nil, pairgate.Errorf(pairgate.EINVALID, "method must be one of authorization_code, device_code, pairing or admin_signin")
	}
	if err := pairgate.ValidText("code id", f.AuthCodeID, 64); err != nil {
		return nil, err
	}
	if !pairgate.ValidDeviceSort(f.Sort) {
		return nil, pairgate.Errorf(pairgate.EINVALID, "sort must be one of %s", strings.Join(pairgate.DeviceSorts, ", "))
	}
	return s.store.ListDevices(ctx, f)
}

func validAuthMethod(m string) bool {
	switch m {
	case pairgate.AuthByAuthorizationCode, pairgate.AuthByDeviceCode, pairgate.AuthByPairing, pairgate.AuthByAdminSignIn:
		return true
	}
	return false
}

// MaxDeviceName bounds a device's name, as the grants do.
const MaxDeviceName = 128

// RenameDevice gives a device the name an administrator calls it by.
func (s *Service) RenameDevice(ctx context.Context, a Actor, id, name string) (*pairgate.Device, error) {
	if err := a.need(pairgate.PermDevicesWrite); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, pairgate.Errorf(pairgate.EINVALID, "a device needs a name")
	}
	if err := pairgate.ValidText("name", name, MaxDeviceName); err != nil {
		return nil, err
	}
	d, err := s.store.GetDevice(ctx, id)
	if err != nil {
		return nil, err
	}
	if d.Name == name {
		return d, nil
	}
	if err := s.store.RenameDevice(ctx, id, name); err != nil {
		return nil, err
	}
	s.record(ctx, a, pairgate.AuditDeviceRenamed, id, map[string]string{"from": d.Name, "to": name})
	d.Name = name
	return d, nil
}

// GetDevice returns one device.
func (s *Service) GetDevice(ctx context.Context, a Actor, id string) (*pairgate.Device, error) {
	if err := a.need(pairgate.PermDevicesRead); err != nil {
		return nil, err
	}
	return s.store.GetDevice(ctx, id)
}

// DeleteDevice removes a device from the inventory and revokes it at once
// (docs/design.md 2.2): to come back it must authorize again.
func (s *Service) DeleteDevice(ctx context.Context, a Actor, id string) error {
	if err := a.need(pairgate.PermDevicesWrite); err != nil {
		return err
	}
	d, err := s.store.GetDevice(ctx, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteDevice(ctx, id, s.now()); err != nil {
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
	ID         string
	Name       string
	Public     bool
	GrantTypes []string
	Scopes     []string
	// InactiveSignOutDays and InactiveRemoveDays set the client's own
	// inactivity policy; 0 keeps the server's.
	InactiveSignOutDays int
	InactiveRemoveDays  int
	// RequireDPoP refuses the client's requests without a DPoP proof.
	RequireDPoP bool
	DeviceFlow  DeviceFlowSettings
}

// DeviceFlowSettings are a client's defences against cross-device
// phishing as an admin states them (pairgate.DeviceFlowPolicy).
type DeviceFlowSettings struct {
	Disabled bool
	// Networks are addresses or CIDR prefixes from which device
	// authorization may start; none: anywhere.
	Networks []string
	// ApprovalPrefixV4 and ApprovalPrefixV6: an approver must share this
	// many leading bits with the requester (0: no check). One of them
	// alone sets the other to its default (24, 64).
	ApprovalPrefixV4 int
	ApprovalPrefixV6 int
}

func (d DeviceFlowSettings) policy() (pairgate.DeviceFlowPolicy, error) {
	nets, err := pairgate.ParseNetworks(d.Networks)
	if err != nil {
		return pairgate.DeviceFlowPolicy{}, err
	}
	return pairgate.DeviceFlowPolicy{Disabled: d.Disabled, Networks: nets, ApprovalPrefixV4: d.ApprovalPrefixV4,
		ApprovalPrefixV6: d.ApprovalPrefixV6}.Normalize()
}

func policyDetails(p pairgate.DeviceFlowPolicy) map[string]string {
	nets := make([]string, len(p.Networks))
	for i, n := range p.Networks {
		nets[i] = n.String()
	}
	return map[string]string{"device_flow_disabled": fmt.Sprint(p.Disabled), "device_flow_networks": strings.Join(nets, " "),
		"approval_network_prefix": fmt.Sprintf("%d/%d", p.ApprovalPrefixV4, p.ApprovalPrefixV6)}
}

// CreateClient registers a client. A confidential client's secret is
// returned this once; only its keyed hash is stored.
func (s *Service) CreateClient(ctx context.Context, a Actor, nc NewClient) (*pairgate.Client, string, error) {
	if err := a.need(pairgate.PermClientsWrite); err != nil {
		return nil, "", err
	}
	if err := validClientID(nc.ID); err != nil {
		return nil, "", err
	}
	if err := clientName(nc.Name); err != nil {
		return nil, "", err
	}
	gts, err := clientGrantTypes(nc.GrantTypes)
	if err != nil {
		return nil, "", err
	}
	scopes, err := clientScopes(nc.Scopes)
	if err != nil {
		return nil, "", err
	}
	if nc.InactiveSignOutDays < 0 || nc.InactiveSignOutDays > 3650 || nc.InactiveRemoveDays < 0 || nc.InactiveRemoveDays > 3650 {
		return nil, "", pairgate.Errorf(pairgate.EINVALID, "inactive_sign_out_days and inactive_remove_days are days: 0 (the server's) to 3650")
	}
	policy, err := nc.DeviceFlow.policy()
	if err != nil {
		return nil, "", err
	}
	c := &pairgate.Client{ID: nc.ID, Name: nc.Name, Public: nc.Public, GrantTypes: gts,
		Scopes: scopes, RequireDPoP: nc.RequireDPoP, CreatedAt: s.now(), InactiveSignOutDays: nc.InactiveSignOutDays,
		InactiveRemoveDays: nc.InactiveRemoveDays, DeviceFlow: policy}
	var sec string
	if !nc.Public {
		sec = secret.Token(secret.PrefixClientSecret)
		c.SecretHash = s.keys.Hash(secret.KindClientSecret, sec)
	}
	if err := s.store.CreateClient(ctx, c); err != nil {
		return nil, "", err
	}
	s.changed(c.ID)
	details := policyDetails(policy)
	details["public"], details["scope"], details["require_dpop"] = fmt.Sprint(c.Public), c.Scopes.String(), fmt.Sprint(c.RequireDPoP)
	s.record(ctx, a, pairgate.AuditClientCreated, c.ID, details)
	return c, sec, nil
}

// SetClientDeviceFlow replaces a client's defences against cross-device
// phishing; they apply from the next device authorization or approval.
func (s *Service) SetClientDeviceFlow(ctx context.Context, a Actor, id string, d DeviceFlowSettings) (*pairgate.Client, error) {
	if err := a.need(pairgate.PermClientsWrite); err != nil {
		return nil, err
	}
	policy, err := d.policy()
	if err != nil {
		return nil, err
	}
	if err := s.store.SetClientDeviceFlowPolicy(ctx, id, policy); err != nil {
		return nil, err
	}
	s.changed(id)
	s.record(ctx, a, pairgate.AuditClientDeviceFlow, id, policyDetails(policy))
	return s.store.GetClient(ctx, id)
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
func (s *Service) ListClients(ctx context.Context, a Actor) ([]*pairgate.Client, error) {
	if err := a.need(pairgate.PermClientsRead); err != nil {
		return nil, err
	}
	return s.store.ListClients(ctx)
}

// GetClient returns one client.
func (s *Service) GetClient(ctx context.Context, a Actor, id string) (*pairgate.Client, error) {
	if err := a.need(pairgate.PermClientsRead); err != nil {
		return nil, err
	}
	return s.store.GetClient(ctx, id)
}

// DeleteClient deletes a client with its devices and their tokens.
func (s *Service) DeleteClient(ctx context.Context, a Actor, id string) error {
	if err := a.need(pairgate.PermClientsWrite); err != nil {
		return err
	}
	if id == pairgate.BrowserClientID {
		// Deleting it would sign every authorized browser out at once;
		// delete those devices one by one if that is what is meant.
		return pairgate.Errorf(pairgate.ECONFLICT, "%s is built in: it holds the browsers authorized as devices; delete those devices instead", id)
	}
	if err := s.store.DeleteClient(ctx, id, s.now()); err != nil {
		return err
	}
	s.changed(id)
	s.record(ctx, a, pairgate.AuditClientDeleted, id, nil)
	return nil
}

func (s *Service) changed(id string) { s.clientChanged(id) }

// --- API keys ---

// CreateAPIKey makes an API key that acts for the person who makes it,
// within scopes (none: pairgate.ScopeRead). Only a person makes keys —
// signed in to the console or with a password — never another key. The
// key is returned this once.
func (s *Service) CreateAPIKey(ctx context.Context, a Actor, name string, scopes []string) (*pairgate.APIKey, string, error) {
	if a.Type != pairgate.ActorUser {
		return nil, "", pairgate.Errorf(pairgate.EFORBIDDEN, "API keys are made by a person signed in (the console, or a username and password), not by another key")
	}
	if name == "" || len(name) > 128 {
		return nil, "", pairgate.Errorf(pairgate.EINVALID, "name is required, at most 128 bytes")
	}
	sc, err := pairgate.ParseAPIKeyScopes(scopes)
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	for range 4 {
		key := secret.Token(secret.PrefixAPIKey)
		k := &pairgate.APIKey{ID: secret.NewID("key_", now), Name: name, KeyHash: s.keys.Hash(secret.KindAPIKey, key),
			Scopes: sc, CreatedBy: a.ID, CreatedAt: now, OwnerName: a.Name}
		err := s.store.CreateAPIKey(ctx, k)
		if pairgate.ErrorCode(err) == pairgate.ECONFLICT {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		s.record(ctx, a, pairgate.AuditAPIKeyCreated, k.ID, map[string]string{"name": name, "scopes": sc.String()})
		return k, key, nil
	}
	return nil, "", pairgate.Internal(fmt.Errorf("API key collisions"), "create API key")
}

// ListAPIKeys returns the API keys (never the keys themselves): every key
// for who may read them all, else the caller's own.
func (s *Service) ListAPIKeys(ctx context.Context, a Actor) ([]*pairgate.APIKey, error) {
	all, err := s.store.ListAPIKeys(ctx)
	if err != nil || a.Perms.Has(pairgate.PermAPIKeysRead) {
		return all, err
	}
	var own []*pairgate.APIKey
	for _, k := range all {
		if k.CreatedBy == a.Owner {
			own = append(own, k)
		}
	}
	return own, nil
}

// DeleteAPIKey revokes an API key at once: a person their own keys, an
// admin anyone's, and a key itself (what a script does whose key leaked);
// never another key.
func (s *Service) DeleteAPIKey(ctx context.Context, a Actor, id string) error {
	if !a.Interactive() && !(a.Type == pairgate.ActorAPIKey && a.ID == id) {
		return pairgate.Errorf(pairgate.EFORBIDDEN, "API keys are revoked by a person signed in, or by the key itself, not by another key")
	}
	keys, err := s.store.ListAPIKeys(ctx)
	if err != nil {
		return err
	}
	var k *pairgate.APIKey
	for _, x := range keys {
		if x.ID == id {
			k = x
		}
	}
	if k == nil {
		return pairgate.Errorf(pairgate.ENOTFOUND, "no API key with that id")
	}
	if k.CreatedBy != a.Owner {
		if err := a.need(pairgate.PermUsersWrite); err != nil {
			return err
		}
	}
	if err := s.store.DeleteAPIKey(ctx, id); err != nil {
		return err
	}
	s.record(ctx, a, pairgate.AuditAPIKeyDeleted, id, map[string]string{"name": k.Name})
	return nil
}

// --- Accounts ---

func checkPassword(p string) error {
	if err := secret.CheckNewPassword(p); err != nil {
		return pairgate.Errorf(pairgate.EINVALID, "%s", err.Error())
	}
	return nil
}

// CreateUser creates an account. An empty password makes a random one,
// returned this once.
func (s *Service) CreateUser(ctx context.Context, a Actor, username, role, password string) (*pairgate.User, string, error) {
	if err := a.needInteractive(pairgate.PermUsersWrite, "creating accounts"); err != nil {
		return nil, "", err
	}
	name, ok := pairgate.NormalizeUsername(username)
	if !ok {
		return nil, "", pairgate.Errorf(pairgate.EINVALID, "username: use 1 to 64 characters of a-z, 0-9, '.', '_', '-' and '@'")
	}
	if !pairgate.ValidRole(role) {
		return nil, "", pairgate.Errorf(pairgate.EINVALID, "role must be one of %s", strings.Join(pairgate.Roles, ", "))
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
			return nil, "", pairgate.Errorf(pairgate.ECONFLICT, "an account named '%s' already exists", name)
		}
		return nil, "", err
	}
	s.record(ctx, a, pairgate.AuditUserCreated, u.ID, map[string]string{"username": name, "role": role})
	return u, generated, nil
}

// ListUsers returns every account.
func (s *Service) ListUsers(ctx context.Context, a Actor) ([]*pairgate.User, error) {
	if err := a.need(pairgate.PermUsersRead); err != nil {
		return nil, err
	}
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
		return nil, pairgate.Errorf(pairgate.ENOTFOUND, "no account named '%s'", pairgate.Printable(idOrName, 64))
	}
	return u, err
}

// DeleteUser deletes an account; its sessions end and the user-mode
// devices it approved lose access. The last admin cannot be deleted:
// without one nobody could sign in to repair anything.
func (s *Service) DeleteUser(ctx context.Context, a Actor, id string) error {
	if err := a.needInteractive(pairgate.PermUsersWrite, "deleting accounts"); err != nil {
		return err
	}
	u, err := s.store.GetUser(ctx, id)
	if err != nil {
		return err
	}
	// The store refuses to delete the last admin, in the transaction that
	// deletes: a count taken here would let two admins delete each other.
	if err := s.store.DeleteUser(ctx, id, s.now()); err != nil {
		return err
	}
	s.record(ctx, a, pairgate.AuditUserDeleted, id, map[string]string{"username": u.Username})
	return nil
}

// SetRole changes an account's role. The account's sessions end at once
// (the console shows each role only what it may use), and the store keeps
// at least one admin.
func (s *Service) SetRole(ctx context.Context, a Actor, id, role string) (*pairgate.User, error) {
	if err := a.needInteractive(pairgate.PermUsersWrite, "changing roles"); err != nil {
		return nil, err
	}
	if !pairgate.ValidRole(role) {
		return nil, pairgate.Errorf(pairgate.EINVALID, "role must be one of %s", strings.Join(pairgate.Roles, ", "))
	}
	u, err := s.store.GetUser(ctx, id)
	if err != nil {
		return nil, err
	}
	if u.Role == role {
		return u, nil
	}
	if err := s.store.SetUserRole(ctx, id, role, s.now()); err != nil {
		return nil, err
	}
	s.record(ctx, a, pairgate.AuditRoleChanged, id, map[string]string{"username": u.Username, "from": u.Role, "to": role})
	u.Role = role
	return u, nil
}

// SetPassword replaces another account's password (empty: a random one,
// returned this once); the account is signed out everywhere. An admin
// only, never with an API key; a person's own password changes through
// ChangeOwnPassword, with the current one, so that a borrowed session is
// not enough to take the account over.
func (s *Service) SetPassword(ctx context.Context, a Actor, id, password string) (string, error) {
	if !a.Interactive() {
		return "", pairgate.Errorf(pairgate.EFORBIDDEN, "passwords are changed by a person signed in, not by an API key")
	}
	if a.Type == pairgate.ActorUser && id == a.ID {
		return "", pairgate.Errorf(pairgate.EINVALID, "current_password: to change your own password, give your current one as well")
	}
	if err := a.need(pairgate.PermUsersWrite); err != nil {
		return "", err
	}
	return s.setPassword(ctx, a, id, password)
}

func (s *Service) setPassword(ctx context.Context, a Actor, id, password string) (string, error) {
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
	// An account of an upstream provider signs in there only: a password
	// here would be a second way in that the provider cannot see or end.
	ids, err := s.store.ListUserIdentities(ctx, id)
	if err != nil {
		return "", err
	}
	if len(ids) > 0 {
		return "", pairgate.Errorf(pairgate.ECONFLICT, "'%s' signs in through %s and has no password here", u.Username, ids[0].Provider)
	}
	if err := s.store.SetUserPassword(ctx, id, secret.HashPassword(password), s.now()); err != nil {
		return "", err
	}
	s.record(ctx, a, pairgate.AuditPasswordChanged, id, map[string]string{"username": u.Username})
	s.passwordChanged(u)
	return generated, nil
}

// --- Lock-outs ---

// ClearLockout lifts the guessing limits (docs/design.md 2.6) that hold an
// address or an account, for a person who was locked out and cannot wait.
// It returns the names of the rules it reset.
func (s *Service) ClearLockout(ctx context.Context, a Actor, ip, username string) ([]string, error) {
	if err := a.need(pairgate.PermLockoutsWrite); err != nil {
		return nil, err
	}
	if ip == "" && username == "" {
		return nil, pairgate.Errorf(pairgate.EINVALID, "name an ip or a username (or both)")
	}
	if ip != "" {
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			return nil, pairgate.Errorf(pairgate.EINVALID, "ip '%s' is not an IP address", pairgate.Printable(ip, 64))
		}
		ip = addr.Unmap().String()
	}
	var cleared []string
	if ip != "" {
		for _, r := range ratelimit.PerIPRules {
			if err := s.limiter.Reset(ctx, ratelimit.Hit{Rule: *r, Subject: ratelimit.Source(ip)}); err != nil {
				return nil, err
			}
			cleared = append(cleared, r.Name)
		}
	}
	if username != "" {
		if err := s.limiter.Reset(ctx, ratelimit.Hit{Rule: ratelimit.SignInPerAccount, Subject: ratelimit.AccountSubject(username)}); err != nil {
			return nil, err
		}
		cleared = append(cleared, ratelimit.SignInPerAccount.Name)
	}
	s.record(ctx, a, pairgate.AuditRateLimitUnlocked, ip+" "+username, map[string]string{"ip": ip, "username": username})
	return cleared, nil
}

// --- Audit log ---

// ListAuditEvents returns a page of the audit log, newest first.
func (s *Service) ListAuditEvents(ctx context.Context, a Actor, f pairgate.AuditFilter) ([]*pairgate.AuditEvent, error) {
	if err := a.need(pairgate.PermAuditRead); err != nil {
		return nil, err
	}
	return s.store.ListAuditEvents(ctx, f)
}
