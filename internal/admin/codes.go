package admin

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
)

// Admin-issued authorization codes: an admin generates a code with one of
// the console's lifetimes; any number of devices (install scripts) redeem
// it at the token endpoint (internal/grants) until it expires or is
// deleted. The console shows active codes, so the code is sealed, not only
// hashed (docs/design.md 2.5); it is found by the keyed hash of its canonical
// form.

// ActiveCode is an authorization code as the console and the admin API
// show it.
type ActiveCode struct {
	*pairgate.AuthorizationCode
	Code string // the code itself, opened from the sealed column
}

// sealContext binds a sealed code to its row, so that a sealed value
// copied into another row does not open there.
func sealContext(id string) string { return secret.KindAuthCode + ":" + id }

// maxCodeAttempts bounds the retries after a code collision: at 80 bits a
// second collision in a row means something else is wrong.
const maxCodeAttempts = 8

// NewCode is what an admin states when generating a code.
type NewCode struct {
	TTL pairgate.CodeTTL
	// Label says what the code is for; shown in the console and the API.
	Label string
	// EphemeralIdle, when positive, makes the code's devices ephemeral:
	// removed as soon as they sign out, or when unseen this long.
	EphemeralIdle time.Duration
}

// MaxCodeLabel bounds a code's label, in bytes.
const MaxCodeLabel = 200

func (nc NewCode) valid() error {
	if !nc.TTL.Valid() {
		return pairgate.Errorf(pairgate.EINVALID, "ttl must be one of 30m, 60m, 6h, 24h, 48h or never")
	}
	if err := pairgate.ValidText("label", nc.Label, MaxCodeLabel); err != nil {
		return err
	}
	if nc.EphemeralIdle != 0 && (nc.EphemeralIdle < pairgate.MinEphemeralIdle || nc.EphemeralIdle > pairgate.MaxEphemeralIdle) {
		return pairgate.Errorf(pairgate.EINVALID, "ephemeral_idle must be between %s and %s (or absent: the devices are not ephemeral)",
			fmtDuration(pairgate.MinEphemeralIdle), fmtDuration(pairgate.MaxEphemeralIdle))
	}
	return nil
}

// fmtDuration writes whole minutes, hours or days as people do.
func fmtDuration(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return fmt.Sprintf("%dm", d/time.Minute)
}

// CreateCode generates a code and returns it with what was stored. A code
// whose hash collides with a stored one is regenerated (docs/design.md 2.6).
func (s *Service) CreateCode(ctx context.Context, a Actor, nc NewCode) (string, *pairgate.AuthorizationCode, error) {
	if err := a.need(pairgate.PermCodesWrite); err != nil {
		return "", nil, err
	}
	if err := nc.valid(); err != nil {
		return "", nil, err
	}
	ttl := nc.TTL
	label := strings.TrimSpace(nc.Label)
	now := s.now()
	for range maxCodeAttempts {
		code := s.authCode()
		id := secret.NewID("ac_", now)
		ac := &pairgate.AuthorizationCode{
			ID: id, CodeHash: s.keys.Hash(secret.KindAuthCode, code), SealedCode: s.keys.Seal([]byte(code), sealContext(id)),
			TTL: ttl, CreatedAt: now, ExpiresAt: ttl.ExpiresAt(now), CreatedBy: a.ID, Label: label, EphemeralIdle: nc.EphemeralIdle,
		}
		err := s.store.CreateAuthorizationCode(ctx, ac)
		if pairgate.ErrorCode(err) == pairgate.ECONFLICT {
			continue
		}
		if err != nil {
			return "", nil, err
		}
		s.log.Info("authorization code created", "code_id", id, "ttl", string(ttl), "created_by", a.ID)
		details := map[string]string{"ttl": string(ttl), "label": label}
		if nc.EphemeralIdle > 0 {
			details["ephemeral_idle"] = fmtDuration(nc.EphemeralIdle)
		}
		s.record(ctx, a, pairgate.AuditCodeGenerated, ac.ID, details)
		return code, ac, nil
	}
	return "", nil, pairgate.Internal(errCodeCollisions, "authorization code")
}

var errCodeCollisions = pairgate.Errorf(pairgate.EINTERNAL, "could not generate a unique code")

// ListCodes returns the codes that have not expired, newest first, with
// the codes themselves for the console.
func (s *Service) ListCodes(ctx context.Context, a Actor) ([]ActiveCode, error) {
	if err := a.need(pairgate.PermCodesRead); err != nil {
		return nil, err
	}
	list, err := s.store.ListAuthorizationCodes(ctx, s.now())
	if err != nil {
		return nil, err
	}
	out := make([]ActiveCode, 0, len(list))
	for _, ac := range list {
		code, err := s.keys.Open(ac.SealedCode, sealContext(ac.ID))
		if err != nil {
			return nil, pairgate.Internal(err, "open authorization code "+ac.ID)
		}
		out = append(out, ActiveCode{AuthorizationCode: ac, Code: string(code)})
	}
	return out, nil
}

// DeleteCode deletes a code: from the moment this returns, no device can
// redeem it. Devices it already authorized stay authorized.
func (s *Service) DeleteCode(ctx context.Context, a Actor, id string) error {
	if err := a.need(pairgate.PermCodesWrite); err != nil {
		return err
	}
	if err := s.store.DeleteAuthorizationCode(ctx, id); err != nil {
		return err
	}
	s.log.Info("authorization code deleted", "code_id", id)
	s.record(ctx, a, pairgate.AuditCodeDeleted, id, nil)
	return nil
}

// A leaked code, contained in one action: everything it brought in is
// signed out at once, after a preview that says how many and which of
// them look like the leak's.

// RecentWindow is how far back "seen lately" looks in a code's preview.
const RecentWindow = time.Hour

// CodeDevicesPreview says what signing out a code's devices would touch.
type CodeDevicesPreview struct {
	CodeID string
	// Active counts the active devices whose current authorization came
	// from the code.
	Active int
	// Networks are the networks (IPv4 /24, IPv6 /64) the code's devices
	// were authorized from.
	Networks []netip.Prefix
	// Suspicious are the active devices seen in the last RecentWindow
	// from a network none of the code's devices was authorized from.
	Suspicious []*pairgate.Device
}

// Summary says the preview in a sentence: "412 devices came in with this
// code; 3 were seen in the last hour from networks it was not used from."
func (p *CodeDevicesPreview) Summary() string {
	s := plural(p.Active, "device", "devices") + " came in with this code and " + plural3(p.Active, "is", "are") + " active"
	if p.Active == 0 {
		return "No active device came in with this code."
	}
	switch len(p.Suspicious) {
	case 0:
		return s + "; none was seen in the last hour from a network the code was not used from."
	case 1:
		return s + "; 1 was seen in the last hour from a network the code was not used from."
	}
	return s + fmt.Sprintf("; %d were seen in the last hour from networks the code was not used from.", len(p.Suspicious))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func plural3(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// networkOf is the network an address counts as: its /24 or /64, the
// size of a site behind one router.
func networkOf(ip string) (netip.Prefix, bool) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	bits := pairgate.DefaultApprovalPrefixV6
	if a.Is4() {
		bits = pairgate.DefaultApprovalPrefixV4
	}
	p, err := a.Prefix(bits)
	return p, err == nil
}

// PreviewCodeDevices counts a code's devices and picks out those seen
// lately from networks the code's devices were not authorized from. It
// works for a deleted code too: its devices keep its id.
func (s *Service) PreviewCodeDevices(ctx context.Context, a Actor, codeID string) (*CodeDevicesPreview, error) {
	if err := a.need(pairgate.PermDevicesRead); err != nil {
		return nil, err
	}
	if err := pairgate.ValidText("code id", codeID, 64); err != nil {
		return nil, err
	}
	cd, err := s.store.CodeDevices(ctx, codeID, s.now().Add(-RecentWindow))
	if err != nil {
		return nil, err
	}
	p := &CodeDevicesPreview{CodeID: codeID, Active: cd.Active}
	known := map[netip.Prefix]bool{}
	for _, ip := range cd.AuthorizedFrom {
		if n, ok := networkOf(ip); ok && !known[n] {
			known[n] = true
			p.Networks = append(p.Networks, n)
		}
	}
	slices.SortFunc(p.Networks, func(x, y netip.Prefix) int { return x.Addr().Compare(y.Addr()) })
	for _, d := range cd.SeenElsewhere {
		if n, ok := networkOf(d.LastIP); !ok || !known[n] {
			p.Suspicious = append(p.Suspicious, d)
		}
	}
	return p, nil
}

// maxListedDevices bounds the device ids one audit event lists.
const maxListedDevices = 5000

// SignOutCodeDevices signs out every device whose current authorization
// came from the code, in one transaction, and, unless keepCode, deletes
// the code in it too (it leaked: nothing new should arrive with it). One
// audit event lists the devices. It returns how many were signed out.
func (s *Service) SignOutCodeDevices(ctx context.Context, a Actor, codeID string, keepCode bool) (int, error) {
	if err := a.need(pairgate.PermDevicesWrite); err != nil {
		return 0, err
	}
	if !keepCode {
		if err := a.need(pairgate.PermCodesWrite); err != nil {
			return 0, err
		}
	}
	if err := pairgate.ValidText("code id", codeID, 64); err != nil {
		return 0, err
	}
	ds, err := s.store.SignOutCodeDevices(ctx, codeID, !keepCode, s.now())
	if err != nil {
		return 0, err
	}
	ids := make([]string, 0, min(len(ds), maxListedDevices))
	for _, d := range ds[:min(len(ds), maxListedDevices)] {
		ids = append(ids, d.ID)
	}
	details := map[string]string{"count": strconv.Itoa(len(ds)), "device_ids": strings.Join(ids, " "),
		"code_deleted": strconv.FormatBool(!keepCode)}
	if len(ds) > len(ids) {
		details["device_ids_omitted"] = strconv.Itoa(len(ds) - len(ids))
	}
	s.log.Info("a code's devices signed out", "code_id", codeID, "count", len(ds), "code_deleted", !keepCode, "by", a.ID)
	s.record(ctx, a, pairgate.AuditCodeDevicesSignedOut, codeID, details)
	return len(ds), nil
}
