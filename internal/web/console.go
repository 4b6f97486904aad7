package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/ratelimit"
)

// The Admin Console (DESIGN.md section 3): the Authorized Devices page,
// with the codes an admin generates and the device inventory, and the
// audit log. Every operation goes through admin.Service, which keeps the
// rules and records the audit events; these handlers only read forms and
// render. Deleting asks for confirmation in a dialog the server renders,
// so that it works without JavaScript.

// ConsolePages are the Admin Console.
type ConsolePages struct {
	*site
	admin *admin.Service
}

// devicePageSize is how many devices one page of the inventory shows.
const devicePageSize = 50

// consoleTime is how the console writes a time: always UTC, said so.
func consoleTime(t time.Time) string {
	if t.IsZero() {
		return "Never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// consoleCan is what the console shows a person: each part only to a
// role that may use it (the admin service refuses the rest anyway).
type consoleCan struct {
	Codes, GenerateCodes, DeleteCodes bool
	Devices, DeleteDevices            bool
	Audit                             bool
	Printers                          bool
}

func canOf(u *pairgate.User) consoleCan {
	p := pairgate.RolePermissions(u.Role)
	return consoleCan{Codes: p.Has(pairgate.PermCodesRead), GenerateCodes: p.Has(pairgate.PermCodesWrite),
		DeleteCodes: p.Has(pairgate.PermCodesWrite), Devices: p.Has(pairgate.PermDevicesRead),
		DeleteDevices: p.Has(pairgate.PermDevicesWrite), Audit: p.Has(pairgate.PermAuditRead),
		Printers: p.Has(pairgate.PermPrintersRead)}
}

// requireAdmin lets through the people whose role has any
// administrative permission; what each may do is the admin service's to
// decide. Anyone not signed in is sent to sign in and back; a signed-in
// person whose role has no place here gets a page that says why not.
// done is true when a response was written.
func (h *ConsolePages) requireAdmin(w http.ResponseWriter, r *http.Request) (u *pairgate.User, done bool, err error) {
	u, err = h.user(r)
	if err != nil {
		return nil, true, err
	}
	if u == nil {
		next := r.URL.RequestURI()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			next = "/admin" // the form is lost with the session; start again
		}
		return nil, true, redirect(w, r, signInURL(next))
	}
	if !pairgate.RolePermissions(u.Role).Any() {
		return nil, true, h.notForRole(w, u, "The Admin Console is for administrators, and "+u.Username+" has the "+u.Role+
			" role: it approves its own devices and uses the portal.")
	}
	return u, false, nil
}

// notForRole is the page for a part of the console the person's role
// may not use.
func (h *ConsolePages) notForRole(w http.ResponseWriter, u *pairgate.User, text string) error {
	v := messageView{base: h.base("Not for your role", u), Heading: "Not for your role", Text: text,
		Detail: "Ask an admin if you need more, or sign out and sign in with another account.", Link: "Sign out", LinkTo: "/auth/signout"}
	if v.Console {
		v.Link, v.LinkTo = "Back to the console", "/admin"
	}
	return h.render(w, http.StatusForbidden, "message", v)
}

type ttlOption struct {
	Value, Label string
	Selected     bool
}

type codeRow struct {
	ID, Code, TTL, Expires, ExpiresIn, Created, CreatedBy string
	Uses                                                  int
	DeleteURL                                             string
}

type deviceRow struct {
	ID, Name, Mode, Method, How, CodeID, ApprovedBy, HardwareID, Client string
	AuthorizedAt, LastSeen, LastIP, DeleteURL                           string
	ThisBrowser                                                         bool
	KeyBound                                                            bool   // the device proves a DPoP key
	SameHardwareAs                                                      string // another device claiming the same hardware id
}

type consoleView struct {
	base
	Nav       string
	Can       consoleCan
	TTLs      []ttlOption
	Generated *codeRow
	Codes     []codeRow
	Devices   []deviceRow
	Total     int
	Search    string
	After     string
	NextURL   string
	FirstURL  string
	Notice    string
	Error     string
	// A delete waiting for confirmation, shown as a dialog.
	ConfirmCode   *codeRow
	ConfirmDevice *deviceRow
	CancelURL     string
}

// consoleNotices are the outcomes a redirect after a change reports.
var consoleNotices = map[string]string{
	"code_deleted":   "The authorization code was deleted. No device can redeem it any more; devices it authorized stay authorized.",
	"code_gone":      "That authorization code no longer exists: it was deleted or has expired.",
	"device_deleted": "The device was deleted and its access revoked. To come back it must be authorized again.",
	"device_gone":    "That device is no longer in the inventory.",
}

// devicesURL is the Authorized Devices page with a search and page kept,
// and extra parameters.
func devicesURL(search, after string, extra ...string) string {
	q := url.Values{}
	if search != "" {
		q.Set("q", search)
	}
	if after != "" {
		q.Set("after", after)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	if len(q) == 0 {
		return "/admin"
	}
	return "/admin?" + q.Encode()
}

// Console is GET /admin: the Authorized Devices page.
func (h *ConsolePages) Console(w http.ResponseWriter, r *http.Request) error {
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	q := r.URL.Query()
	v := consoleView{Notice: consoleNotices[q.Get("done")]}
	status := http.StatusOK
	v.Search = strings.TrimSpace(q.Get("q"))
	v.After = q.Get("after")
	if len(v.Search) > 200 || len(v.After) > 64 {
		v.Search, v.After = "", ""
		v.Error = "That search is too long: search for at most 200 characters."
		status = http.StatusBadRequest
	}
	if err := h.console(r, u, &v, q.Get("generated"), pairgate.CodeTTL(q.Get("ttl"))); err != nil {
		return err
	}
	if id := q.Get("delete_code"); id != "" && v.Can.DeleteCodes {
		for i := range v.Codes {
			if v.Codes[i].ID == id {
				v.ConfirmCode = &v.Codes[i]
			}
		}
		if v.ConfirmCode == nil {
			v.Notice = consoleNotices["code_gone"]
		}
	}
	if id := q.Get("delete_device"); id != "" && len(id) <= 64 && v.Can.DeleteDevices {
		d, err := h.admin.GetDevice(r.Context(), admin.UserActor(u), id)
		switch pairgate.ErrorCode(err) {
		case "":
			rows, err := h.deviceRows(r, []*pairgate.Device{d}, v.Search, v.After)
			if err != nil {
				return err
			}
			v.ConfirmDevice = &rows[0]
		case pairgate.ENOTFOUND:
			v.Notice = consoleNotices["device_gone"]
		default:
			return err
		}
	}
	v.CancelURL = devicesURL(v.Search, v.After)
	return h.render(w, status, "console", v)
}

// console fills in what the Authorized Devices page shows.
func (h *ConsolePages) console(r *http.Request, u *pairgate.User, v *consoleView, generated string, ttl pairgate.CodeTTL) error {
	ctx := r.Context()
	v.base = h.base("Authorized Devices", u)
	v.Wide, v.Nav, v.Can = true, "devices", canOf(u)
	if !ttl.Valid() {
		ttl = pairgate.TTL30Minutes
	}
	for _, t := range pairgate.CodeTTLs {
		v.TTLs = append(v.TTLs, ttlOption{Value: string(t), Label: t.Label(), Selected: t == ttl})
	}
	if !v.Can.Codes {
		return h.consoleDevices(r, u, v)
	}
	codes, err := h.admin.ListCodes(ctx, admin.UserActor(u))
	if err != nil {
		return err
	}
	var creators []string
	for _, c := range codes {
		creators = append(creators, c.CreatedBy)
	}
	names, err := h.admin.Usernames(ctx, creators)
	if err != nil {
		return err
	}
	for _, c := range codes {
		var in string
		if !c.ExpiresAt.IsZero() {
			in = ratelimit.In(c.ExpiresAt.Sub(h.cfg.Now()))
		}
		v.Codes = append(v.Codes, codeRow{ID: c.ID, Code: c.Code, TTL: c.TTL.Label(), Expires: consoleTime(c.ExpiresAt), ExpiresIn: in,
			Created: consoleTime(c.CreatedAt), CreatedBy: orID(names, c.CreatedBy), Uses: c.Uses,
			DeleteURL: devicesURL(v.Search, v.After, "delete_code", c.ID)})
	}
	for i := range v.Codes {
		if generated != "" && v.Codes[i].ID == generated {
			v.Generated = &v.Codes[i]
		}
	}
	return h.consoleDevices(r, u, v)
}

// consoleDevices fills in the Active Devices table.
func (h *ConsolePages) consoleDevices(r *http.Request, u *pairgate.User, v *consoleView) error {
	ctx := r.Context()
	if !v.Can.Devices {
		return nil
	}
	// One more than a page tells whether there is a next one.
	devs, err := h.admin.ListDevices(ctx, admin.UserActor(u), pairgate.DeviceFilter{Search: v.Search, After: v.After, Limit: devicePageSize + 1})
	if err != nil {
		return err
	}
	if len(devs) > devicePageSize {
		devs = devs[:devicePageSize]
		v.NextURL = devicesURL(v.Search, devs[len(devs)-1].ID)
	}
	if v.After != "" {
		v.FirstURL = devicesURL(v.Search, "")
	}
	if v.Devices, err = h.deviceRows(r, devs, v.Search, v.After); err != nil {
		return err
	}
	v.Total, err = h.admin.CountDevices(ctx, admin.UserActor(u))
	return err
}

func orID(names map[string]string, id string) string {
	if n, ok := names[id]; ok {
		return n
	}
	return id
}

// authMethodText says how a device was authorized, in words.
func authMethodText(d *pairgate.Device) string {
	switch d.AuthMethod {
	case pairgate.AuthByDeviceCode:
		return "Device flow"
	case pairgate.AuthByPairing:
		return "Pairing"
	case pairgate.AuthByAuthorizationCode:
		return "Authorization code"
	case pairgate.AuthByAdminSignIn:
		return "Admin sign-in"
	}
	return d.AuthMethod
}

func (h *ConsolePages) deviceRows(r *http.Request, devs []*pairgate.Device, search, after string) ([]deviceRow, error) {
	var users []string
	for _, d := range devs {
		users = append(users, d.UserID)
	}
	names, err := h.admin.Usernames(r.Context(), users)
	if err != nil {
		return nil, err
	}
	// The browser showing the page, if it is an authorized device, is
	// marked, so that an admin does not delete it unawares.
	var this string
	if d, err := h.cfg.Browsers.Device(r.Context(), r, h.cfg.IP.Of(r)); err == nil {
		this = d.ID
	} else if pairgate.ErrorCode(err) != pairgate.EUNAUTHORIZED {
		return nil, err
	}
	out := make([]deviceRow, 0, len(devs))
	for _, d := range devs {
		row := deviceRow{ID: d.ID, Name: d.Name, Mode: string(d.Mode), Method: d.AuthMethod, How: authMethodText(d),
			HardwareID: d.HardwareID, Client: d.ClientID, AuthorizedAt: consoleTime(d.AuthorizedAt),
			LastSeen: consoleTime(d.LastSeenAt), LastIP: d.LastIP, ThisBrowser: d.ID == this,
			KeyBound: d.DPoPJKT != "", SameHardwareAs: d.SameHardwareAs,
			DeleteURL: devicesURL(search, after, "delete_device", d.ID)}
		row.CodeID = d.AuthCodeID
		if d.UserID != "" {
			row.ApprovedBy = orID(names, d.UserID)
		}
		out = append(out, row)
	}
	return out, nil
}

// ConsoleGenerate is POST /admin/codes: generate an authorization code.
// The page it leads to shows the new code at the top.
func (h *ConsolePages) ConsoleGenerate(w http.ResponseWriter, r *http.Request) error {
	p, err := form(w, r)
	if err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	ttl, err := pairgate.ParseCodeTTL(p.Get("ttl"))
	if err != nil {
		v := consoleView{Error: "Choose how long the code lives: one of the Code Expiration lengths."}
		if err := h.console(r, u, &v, "", ""); err != nil {
			return err
		}
		return h.render(w, http.StatusBadRequest, "console", v)
	}
	_, ac, err := h.admin.CreateCode(r.Context(), admin.UserActor(u), admin.NewCode{TTL: ttl})
	if err != nil {
		return err
	}
	return redirect(w, r, "/admin?"+url.Values{"generated": {ac.ID}, "ttl": {string(ttl)}}.Encode()+"#generated")
}

// ConsoleDeleteCode is POST /admin/codes/{id}/delete, the confirmation
// dialog's Delete button.
func (h *ConsolePages) ConsoleDeleteCode(w http.ResponseWriter, r *http.Request) error {
	if _, err := form(w, r); err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	err = h.admin.DeleteCode(r.Context(), admin.UserActor(u), r.PathValue("id"))
	switch pairgate.ErrorCode(err) {
	case "":
		return redirect(w, r, "/admin?done=code_deleted")
	case pairgate.ENOTFOUND:
		return redirect(w, r, "/admin?done=code_gone")
	}
	return err
}

// ConsoleDeleteDevice is POST /admin/devices/{id}/delete: the device is
// revoked at once (DESIGN.md 2.2). The inventory page it leads back to
// keeps the search and page the admin was on.
func (h *ConsolePages) ConsoleDeleteDevice(w http.ResponseWriter, r *http.Request) error {
	p, err := form(w, r)
	if err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	search, after := p.Get("q"), p.Get("after")
	if len(search) > 200 || len(after) > 64 {
		search, after = "", ""
	}
	err = h.admin.DeleteDevice(r.Context(), admin.UserActor(u), r.PathValue("id"))
	switch pairgate.ErrorCode(err) {
	case "":
		return redirect(w, r, devicesURL(search, after, "done", "device_deleted"))
	case pairgate.ENOTFOUND:
		return redirect(w, r, devicesURL(search, after, "done", "device_gone"))
	}
	return err
}

// RemoveSlash redirects /admin/ to /admin.
func (h *ConsolePages) RemoveSlash(w http.ResponseWriter, r *http.Request) error {
	to := strings.TrimRight(r.URL.Path, "/")
	if r.URL.RawQuery != "" {
		to += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, to, http.StatusMovedPermanently)
	return nil
}

// browserFor describes the requesting browser for an authorization.
func (h *site) browserFor(r *http.Request, name string) grants.Browser {
	if name == "" {
		name = browserName(r.UserAgent())
	}
	return grants.Browser{ID: h.cfg.Browsers.BrowserID(r), Name: name, IP: h.cfg.IP.Of(r), UserAgent: r.UserAgent()}
}
