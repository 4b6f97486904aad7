package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/ratelimit"
)

// The Admin Console (docs/design.md section 3): the Authorized Devices page,
// with the codes an admin generates and the device inventory, and the
// audit log. Every operation goes through admin.Service, which keeps the
// rules and records the audit events; these handlers only read forms and
// render. Deleting asks for confirmation in a dialog the server renders,
// so that it works without JavaScript.

// ConsolePages are the Admin Console.
type ConsolePages struct {
	*site
	admin      *admin.Service
	inactivity pairgate.InactivityPolicy
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
	Clients                           bool
	People                            bool
}

func canOf(u *pairgate.User) consoleCan {
	p := pairgate.RolePermissions(u.Role)
	return consoleCan{Codes: p.Has(pairgate.PermCodesRead), GenerateCodes: p.Has(pairgate.PermCodesWrite),
		DeleteCodes: p.Has(pairgate.PermCodesWrite), Devices: p.Has(pairgate.PermDevicesRead),
		DeleteDevices: p.Has(pairgate.PermDevicesWrite), Audit: p.Has(pairgate.PermAuditRead),
		Printers: p.Has(pairgate.PermPrintersRead), Clients: p.Has(pairgate.PermClientsRead), People: p.Any()}
}

// requireAdmin lets through the people whose role has any
// administrative permission; what each may do is the admin service's to
// decide. Anyone not signed in is sent to sign in and back; a signed-in
// person whose role has no place here gets a page that says why not.
// done is true when a response was written.
//
// A change sent after the session ended is not made: the sign-in page
// says so, and leads back to the page the form was on, with the values
// in kept filled in again (never a password).
func (h *ConsolePages) requireAdmin(w http.ResponseWriter, r *http.Request, kept ...hidden) (u *pairgate.User, done bool, err error) {
	u, err = h.user(r)
	if err != nil {
		return nil, true, err
	}
	if u == nil {
		next := r.URL.RequestURI()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			next = returnTo(r, kept)
			return nil, true, redirect(w, r, signInURL(next)+"&expired=1")
		}
		return nil, true, redirect(w, r, signInURL(next))
	}
	if !pairgate.RolePermissions(u.Role).Any() {
		return nil, true, h.notForRole(w, u, "The Admin Console is for administrators, and "+u.Username+" has the "+u.Role+
			" role: it approves its own devices and uses the portal.")
	}
	return u, false, nil
}

// keep is a form value to fill in again after signing in.
func keep(name, value string) hidden { return hidden{name, value} }

// returnTo is the console page a form was sent from (its Referer, when
// that is a page of the console on this server), with kept values.
func returnTo(r *http.Request, kept []hidden) string {
	back := "/admin"
	if ref, err := url.Parse(r.Referer()); err == nil && (ref.Host == "" || ref.Host == r.Host) && inConsole(ref.Path) {
		back = ref.Path
		q := ref.Query()
		for _, k := range []string{"done", "generated", "delete_device", "delete_code", "rename", "signout_code"} {
			q.Del(k)
		}
		for _, k := range kept {
			if k.Value != "" && len(k.Value) <= 200 {
				q.Set(k.Name, k.Value)
			}
		}
		if e := q.Encode(); e != "" {
			back += "?" + e
		}
	} else if len(kept) > 0 {
		q := url.Values{}
		for _, k := range kept {
			if k.Value != "" && len(k.Value) <= 200 {
				q.Set(k.Name, k.Value)
			}
		}
		if e := q.Encode(); e != "" {
			back += "?" + e
		}
	}
	if !LocalPath(back) {
		return "/admin"
	}
	return back
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
	ID, Code, TTL, ExpiresIn, CreatedBy, Label string
	Ephemeral                                  string // how long its devices may stay unseen; "" if not ephemeral
	Expires, Created, LastUsed                 timeView
	Uses                                       int
	DevicesURL                                 string
	Delete                                     *confirmation
	// SignOutURL is the confirmation page of "sign out the code's
	// devices", with its preview: a link rather than a dialog in the
	// page, because a preview reads the code's devices (a hundred
	// thousand for a site's install code), and a console page that
	// previewed every code read them all on every view.
	SignOutURL, SignOutLabel string
}

type deviceRow struct {
	ID, Name, Mode, Method, How, CodeID, ApprovedBy, HardwareID, Client string
	State, StateLabel                                                   string
	StateSince, AuthorizedAt, LastSeen                                  timeView
	LastIP                                                              string
	ThisBrowser                                                         bool
	KeyBound                                                            bool   // the device proves a DPoP key
	SameHardwareAs                                                      string // another device claiming the same hardware id
	Delete, Rename                                                      *confirmation
}

// deviceQuery is what the device table shows: a search, filters and a
// page, kept in the URL so that every link and form keeps them.
type deviceQuery struct {
	Search string
	State  string // a Device* state, or "all"; "" reads as active
	Client string
	Code   string
	Method string
	Sort   string // a column (pairgate.DeviceSorts); "" by ID
	Desc   bool
	After  string
}

func (q deviceQuery) values(withAfter bool) url.Values {
	v := url.Values{}
	for _, kv := range [][2]string{{"q", q.Search}, {"client", q.Client}, {"code", q.Code}, {"method", q.Method}, {"sort", q.Sort}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	if q.State != "" && q.State != pairgate.DeviceActive {
		v.Set("state", q.State)
	}
	if q.Desc {
		v.Set("order", "desc")
	}
	if withAfter && q.After != "" {
		v.Set("after", q.After)
	}
	return v
}

// url is the Authorized Devices page with this query and extra
// parameters.
func (q deviceQuery) url(extra ...string) string {
	v := q.values(true)
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	if len(v) == 0 {
		return "/admin"
	}
	return "/admin?" + v.Encode()
}

// hidden is the query as hidden fields, for forms that come back to it.
func (q deviceQuery) hidden() []hidden {
	var out []hidden
	v := q.values(true)
	for _, k := range []string{"q", "state", "client", "code", "method", "sort", "order", "after"} {
		if x := v.Get(k); x != "" {
			out = append(out, hidden{k, x})
		}
	}
	return out
}

// filter is the store's filter for the query.
func (q deviceQuery) filter() pairgate.DeviceFilter {
	f := pairgate.DeviceFilter{Search: q.Search, ClientID: q.Client, AuthCodeID: q.Code, AuthMethod: q.Method, After: q.After,
		Sort: q.Sort, Desc: q.Desc}
	switch q.State {
	case "":
		f.State = pairgate.DeviceActive
	case "all":
	default:
		f.State = q.State
	}
	return f
}

// readDeviceQuery reads the query from a URL's or a form's values. It
// reports false when a value is too long or not one of the choices.
func readDeviceQuery(v url.Values) (deviceQuery, bool) {
	q := deviceQuery{Search: strings.TrimSpace(v.Get("q")), State: v.Get("state"), Client: v.Get("client"),
		Code: v.Get("code"), Method: v.Get("method"), Sort: v.Get("sort"), Desc: v.Get("order") == "desc", After: v.Get("after")}
	ok := len(q.Search) <= 200 && len(q.After) <= 512 && len(q.Client) <= 64 && len(q.Code) <= 64 &&
		(q.State == "" || q.State == "all" || pairgate.ValidDeviceState(q.State)) && pairgate.ValidDeviceSort(q.Sort) &&
		(v.Get("order") == "" || v.Get("order") == "asc" || v.Get("order") == "desc")
	if q.Sort == pairgate.SortByID {
		q.Sort = ""
	}
	if q.After != "" {
		if _, _, err := pairgate.ParseDeviceCursor(q.Sort, q.After); err != nil {
			ok = false
		}
	}
	switch q.Method {
	case "", pairgate.AuthByAuthorizationCode, pairgate.AuthByDeviceCode, pairgate.AuthByPairing, pairgate.AuthByAdminSignIn:
	default:
		ok = false
	}
	if !ok {
		return deviceQuery{}, false
	}
	return q, true
}

// stateLabels say a device's state in words.
var stateLabels = map[string]string{
	pairgate.DeviceActive:    "Active",
	pairgate.DeviceSignedOut: "Signed out",
	pairgate.DeviceRevoked:   "Revoked (reuse detected)",
	pairgate.DeviceExpired:   "Expired",
}

// devicesHeading is the table's heading for a state filter.
var devicesHeading = map[string]string{
	"":                       "Active Devices",
	pairgate.DeviceActive:    "Active Devices",
	pairgate.DeviceSignedOut: "Signed-out Devices",
	pairgate.DeviceRevoked:   "Revoked Devices",
	pairgate.DeviceExpired:   "Expired Devices",
	"all":                    "All Devices",
}

type consoleView struct {
	base
	Nav       string
	Can       consoleCan
	Issuer    string
	TTLs      []ttlOption
	Label     string
	Ephemeral []choice // the idle times a code's devices may be made ephemeral with
	Generated *codeRow
	Codes     []codeRow
	Devices   []deviceRow
	Query     deviceQuery
	Hidden    []hidden
	States    []choice
	Clients   []choice
	Methods   []choice
	Heading   string
	Filtered  bool
	Columns   map[string]sortColumn // the table's headers, by order
	Total     int
	NextURL   string
	FirstURL  string
	CSVURL    string
	Notice    string
	Error     string

	HelpEnrol, HelpDevices, HelpLifecycle string
	// Policy says the inactivity policy in a sentence.
	Policy string
}

// consoleNotices are the outcomes a redirect after a change reports.
var consoleNotices = map[string]string{
	"code_deleted":          "The authorization code was deleted. No device can redeem it any more; devices it authorized stay authorized.",
	"code_gone":             "That authorization code no longer exists: it was deleted or has expired.",
	"device_deleted":        "The device was deleted and its access revoked. To come back it must be authorized again.",
	"devices_deleted":       "The selected devices were deleted and their access revoked. To come back they must be authorized again.",
	"device_gone":           "That device is no longer in the inventory.",
	"device_renamed":        "The device was renamed.",
	"code_devices_out":      "The code's devices were signed out, and the code deleted. They must be authorized again with another code.",
	"code_devices_out_kept": "The code's devices were signed out. The code still works for new devices.",
	"none_selected":         "No device was selected: tick the devices to delete first.",
}

// Console is GET /admin: the Authorized Devices page. With
// delete_device, delete_code, rename or signout_code it is the
// confirmation page those controls fall back to.
func (h *ConsolePages) Console(w http.ResponseWriter, r *http.Request) error {
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	q := r.URL.Query()
	v := consoleView{Notice: consoleNotices[q.Get("done")]}
	if n := q.Get("count"); n != "" && q.Get("done") != "" && len(n) < 8 {
		v.Notice = strings.Replace(v.Notice, "The selected devices were", n+" devices were", 1)
	}
	status := http.StatusOK
	query, ok := readDeviceQuery(q)
	if !ok {
		v.Error = "That search or filter is not one the console offers: it was reset."
		status = http.StatusBadRequest
	}
	v.Query = query
	v.Label = q.Get("label")
	if len(v.Label) > admin.MaxCodeLabel {
		v.Label = ""
	}
	if err := h.console(r, u, &v, q.Get("generated"), pairgate.CodeTTL(q.Get("ttl"))); err != nil {
		return err
	}
	// The confirmation pages (no invoker commands in this browser, or a
	// link to one).
	for _, kind := range []string{"delete_device", "rename", "delete_code", "signout_code"} {
		id := q.Get(kind)
		if id == "" || len(id) > 64 {
			continue
		}
		c, err := h.confirmationFor(r, u, &v, kind, id)
		if err != nil {
			return err
		}
		if c == nil {
			v.Notice = consoleNotices["device_gone"]
			if kind == "delete_code" || kind == "signout_code" {
				v.Notice = consoleNotices["code_gone"]
			}
			break
		}
		return h.confirmPage(w, u, v.HelpDevices, c, query.url())
	}
	return h.render(w, status, "console", v)
}

// confirmationFor finds the dialog of a row, shown on the page or not
// (a device on another page of the table). nil when the row is gone.
func (h *ConsolePages) confirmationFor(r *http.Request, u *pairgate.User, v *consoleView, kind, id string) (*confirmation, error) {
	switch kind {
	case "delete_code", "signout_code":
		for _, c := range v.Codes {
			if c.ID == id {
				if kind == "delete_code" {
					return c.Delete, nil
				}
				if c.SignOutURL == "" {
					return nil, nil
				}
				return h.signOutConfirmation(r.Context(), u, c)
			}
		}
		return nil, nil
	}
	if !v.Can.DeleteDevices {
		return nil, nil
	}
	d, err := h.admin.GetDevice(r.Context(), admin.UserActor(u), id)
	switch pairgate.ErrorCode(err) {
	case "":
	case pairgate.ENOTFOUND:
		return nil, nil
	default:
		return nil, err
	}
	rows, err := h.deviceRows(r, []*pairgate.Device{d}, v.Query, v.Can)
	if err != nil {
		return nil, err
	}
	if kind == "rename" {
		return rows[0].Rename, nil
	}
	return rows[0].Delete, nil
}

// signOutConfirmation is the page that signs out every device a code
// brought in, with the preview an administrator decides on: how many
// are active, and which were seen lately from networks the code was not
// used from.
func (h *ConsolePages) signOutConfirmation(ctx context.Context, u *pairgate.User, c codeRow) (*confirmation, error) {
	p, err := h.admin.PreviewCodeDevices(ctx, admin.UserActor(u), c.ID)
	if err != nil {
		return nil, err
	}
	so := &confirmation{ID: "dlg-signout-" + c.ID, Heading: "Sign out every device of this code?", Code: c.Code, Lead: c.Label,
		Text:   p.Summary() + " They are signed out at once and must be authorized again; the code is deleted with them, so that nothing new arrives with it.",
		Action: "/admin/codes/" + c.ID + "/signout-devices", Button: "Sign out " + strconv.Itoa(p.Active) + " and delete the code", Danger: true}
	for _, d := range p.Suspicious {
		so.Lines = append(so.Lines, d.Name+" · last seen from "+d.LastIP+" · "+consoleTime(d.LastSeenAt))
	}
	if len(so.Lines) > 0 {
		so.Warn = "Seen lately from networks the code was not used from:"
	}
	return so, nil
}

// console fills in what the Authorized Devices page shows.
func (h *ConsolePages) console(r *http.Request, u *pairgate.User, v *consoleView, generated string, ttl pairgate.CodeTTL) error {
	ctx := r.Context()
	v.base = h.base("Authorized Devices", u)
	v.Wide, v.Nav, v.Can = true, "devices", canOf(u)
	v.Issuer = h.cfg.Issuer
	v.Help, v.HelpEnrol, v.HelpDevices = helpURL("administration"), helpURL("enrolling-devices-with-an-authorization-code"), helpURL("administration")
	v.Script = copyScriptPath
	if !ttl.Valid() {
		ttl = pairgate.TTL30Minutes
	}
	for _, t := range pairgate.CodeTTLs {
		v.TTLs = append(v.TTLs, ttlOption{Value: string(t), Label: t.Label(), Selected: t == ttl})
	}
	if v.Ephemeral == nil {
		v.Ephemeral = ephemeralChoices("")
	}
	v.Policy, v.HelpLifecycle = policySentence(h.inactivity), helpURL("the-inventorys-lifecycle")
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
		row := codeRow{ID: c.ID, Code: c.Code, TTL: c.TTL.Label(), Expires: timeOf(c.ExpiresAt), ExpiresIn: in, Label: c.Label,
			Created: timeOf(c.CreatedAt), CreatedBy: orName(names, c.CreatedBy), Uses: c.Uses, LastUsed: timeOf(c.LastUsedAt),
			Ephemeral:  idleLabel(c.EphemeralIdle),
			DevicesURL: deviceQuery{Code: c.ID, State: "all"}.url()}
		what := c.Code
		if c.Label != "" {
			what = c.Label
		}
		if v.Can.DeleteCodes {
			row.Delete = &confirmation{ID: "dlg-code-" + c.ID, Heading: "Delete this authorization code?", Code: c.Code, Lead: c.Label,
				Text:   "No device can redeem it after this, and people can no longer type it in the portal. Devices it already authorized stay authorized.",
				Action: "/admin/codes/" + c.ID + "/delete", Button: "Delete", Danger: true,
				Opener: "Delete", OpenerLabel: "Delete code " + what, OpenerClass: "trash", Trash: true,
				FallbackURL: v.Query.url("delete_code", c.ID)}
		}
		if v.Can.DeleteCodes && v.Can.DeleteDevices && c.Uses > 0 {
			row.SignOutURL, row.SignOutLabel = v.Query.url("signout_code", c.ID), "Sign out devices of code "+what
		}
		v.Codes = append(v.Codes, row)
	}
	for i := range v.Codes {
		if generated != "" && v.Codes[i].ID == generated {
			v.Generated = &v.Codes[i]
		}
	}
	return h.consoleDevices(r, u, v)
}

// consoleDevices fills in the device table.
func (h *ConsolePages) consoleDevices(r *http.Request, u *pairgate.User, v *consoleView) error {
	ctx := r.Context()
	if !v.Can.Devices {
		return nil
	}
	q := v.Query
	v.Heading = devicesHeading[q.State]
	v.Filtered = q.Search != "" || q.Client != "" || q.Code != "" || q.Method != "" || (q.State != "" && q.State != pairgate.DeviceActive)
	v.Hidden = q.hidden()
	for _, st := range []string{pairgate.DeviceActive, pairgate.DeviceSignedOut, pairgate.DeviceRevoked, pairgate.DeviceExpired, "all"} {
		label := stateLabels[st]
		if st == "all" {
			label = "Any state"
		}
		v.States = append(v.States, choice{Value: st, Label: label, Selected: st == q.State || (st == pairgate.DeviceActive && q.State == "")})
	}
	v.Methods = []choice{{Value: "", Label: "Any way", Selected: q.Method == ""}}
	for _, m := range []string{pairgate.AuthByAuthorizationCode, pairgate.AuthByDeviceCode, pairgate.AuthByPairing, pairgate.AuthByAdminSignIn} {
		v.Methods = append(v.Methods, choice{Value: m, Label: authMethodText(&pairgate.Device{AuthMethod: m}), Selected: m == q.Method})
	}
	v.Clients = []choice{{Value: "", Label: "Any client", Selected: q.Client == ""}}
	if clients, err := h.admin.ListClients(ctx, admin.UserActor(u)); err == nil {
		for _, c := range clients {
			v.Clients = append(v.Clients, choice{Value: c.ID, Label: c.Name + " (" + c.ID + ")", Selected: c.ID == q.Client})
		}
	} else if pairgate.ErrorCode(err) != pairgate.EFORBIDDEN {
		return err
	} else if q.Client != "" {
		v.Clients = append(v.Clients, choice{Value: q.Client, Label: q.Client, Selected: true})
	}
	// One more than a page tells whether there is a next one.
	f := q.filter()
	f.Limit = devicePageSize + 1
	devs, err := h.admin.ListDevices(ctx, admin.UserActor(u), f)
	if err != nil {
		return err
	}
	if len(devs) > devicePageSize {
		devs = devs[:devicePageSize]
		next := q
		next.After = pairgate.DeviceCursor(devs[len(devs)-1], q.Sort)
		v.NextURL = next.url()
	}
	if q.After != "" {
		first := q
		first.After = ""
		v.FirstURL = first.url()
	}
	csv := q
	csv.After = ""
	v.CSVURL = "/admin/devices.csv"
	if e := csv.values(false).Encode(); e != "" {
		v.CSVURL += "?" + e
	}
	if q.State == "" && q.State != "all" {
		// The state the filter defaults to is said in the CSV's URL too,
		// so that the file is what the table shows.
		v.CSVURL = "/admin/devices.csv?" + withState(csv.values(false), pairgate.DeviceActive).Encode()
	}
	v.Columns = sortColumns(q)
	if v.Devices, err = h.deviceRows(r, devs, q, v.Can); err != nil {
		return err
	}
	v.Total, err = h.admin.CountDevices(ctx, admin.UserActor(u))
	return err
}

// sortColumn is a header of the device table: a link that sorts by its
// column (the other way round when it already does), and its aria-sort.
type sortColumn struct {
	ID, Text string
	URL      string
	Sort     string // its aria-sort: ascending, descending or none
	How      string // what following the link does, for a screen reader
}

var sortTexts = map[string]string{pairgate.SortByName: "Name", pairgate.SortByState: "State", pairgate.SortByClient: "Client",
	pairgate.SortByMethod: "Authorized by", pairgate.SortByIP: "Last IP", pairgate.SortByAuthorized: "Authorized",
	pairgate.SortByLastSeen: "Last seen", pairgate.SortByID: "ID"}

// sortColumns are the headers of the device table for a query: each
// keeps the search and filters, starts at the first page, and says
// which way it sorts now.
func sortColumns(q deviceQuery) map[string]sortColumn {
	out := map[string]sortColumn{}
	for _, col := range pairgate.DeviceSorts {
		next := q
		next.After = ""
		next.Sort, next.Desc = col, false
		c := sortColumn{ID: strings.ReplaceAll(col, "_", "-"), Text: sortTexts[col], Sort: "none", How: "sort ascending"}
		if q.Sort == col {
			c.Sort = "ascending"
			next.Desc = !q.Desc
			if q.Desc {
				c.Sort, c.How = "descending", "sorted descending; sort ascending"
			} else {
				c.How = "sorted ascending; sort descending"
			}
		}
		c.URL = next.url()
		out[col] = c
	}
	return out
}

func withState(v url.Values, st string) url.Values {
	v.Set("state", st)
	return v
}

// orName is the name of an account, or "a deleted account" when it is
// gone: ids are for machines.
func orName(names map[string]string, id string) string {
	if n, ok := names[id]; ok {
		return n
	}
	if id == "" {
		return ""
	}
	return "a deleted account"
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

func (h *ConsolePages) deviceRows(r *http.Request, devs []*pairgate.Device, q deviceQuery, can consoleCan) ([]deviceRow, error) {
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
	// What every row's forms and links carry, computed once a page.
	keepQuery := q.hidden()
	base := q.url()
	if strings.Contains(base, "?") {
		base += "&"
	} else {
		base += "?"
	}
	out := make([]deviceRow, 0, len(devs))
	for _, d := range devs {
		row := deviceRow{ID: d.ID, Name: d.Name, Mode: string(d.Mode), Method: d.AuthMethod, How: authMethodText(d),
			HardwareID: d.HardwareID, Client: d.ClientID, AuthorizedAt: timeOf(d.AuthorizedAt),
			LastSeen: timeOf(d.LastSeenAt), LastIP: d.LastIP, ThisBrowser: d.ID == this,
			KeyBound: d.DPoPJKT != "", SameHardwareAs: d.SameHardwareAs,
			State: d.State, StateLabel: stateLabels[d.State], StateSince: timeOf(d.StateChangedAt)}
		if row.StateLabel == "" {
			row.StateLabel = d.State
		}
		row.CodeID = d.AuthCodeID
		if d.UserID != "" {
			row.ApprovedBy = orName(names, d.UserID)
		}
		if can.DeleteDevices {
			detail := d.ID
			if d.HardwareID != "" {
				detail += " · " + d.HardwareID
			}
			row.Delete = &confirmation{ID: "dlg-device-" + d.ID, Heading: "Delete this device?", Lead: d.Name, Detail: detail,
				Text:   "Its access ends at once: its tokens stop working and its browser sessions end. To come back it must be authorized again.",
				Action: "/admin/devices/" + d.ID + "/delete", Hidden: keepQuery, Button: "Delete", Danger: true,
				Opener: "Delete", OpenerLabel: "Delete device " + d.Name, OpenerClass: "trash", Trash: true,
				FallbackURL: base + "delete_device=" + url.QueryEscape(d.ID)}
			if row.ThisBrowser {
				row.Delete.Warn = "This is the browser you are using. You stay signed in to the console, but this browser is no longer an authorized device: the portal will ask it for a code."
			}
			row.Rename = &confirmation{ID: "dlg-rename-" + d.ID, Heading: "Rename this device", Detail: detail,
				Text:   "The name the inventory, the audit log and deployments by name pattern know it by. A new authorization of the device may name it again.",
				Field:  &field{Name: "name", Label: "Name", Value: d.Name, MaxLength: admin.MaxDeviceName},
				Action: "/admin/devices/" + d.ID + "/rename", Hidden: keepQuery, Button: "Rename",
				Opener: "Rename", OpenerLabel: "Rename device " + d.Name, OpenerClass: "linkish rename",
				FallbackURL: base + "rename=" + url.QueryEscape(d.ID)}
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
	u, done, err := h.requireAdmin(w, r, keep("ttl", p.Get("ttl")), keep("label", p.Get("label")), keep("ephemeral", p.Get("ephemeral")))
	if done {
		return err
	}
	ttl, err := pairgate.ParseCodeTTL(p.Get("ttl"))
	label := strings.TrimSpace(p.Get("label"))
	idle, ok := ephemeralIdles[p.Get("ephemeral")]
	if !ok {
		err = pairgate.Errorf(pairgate.EINVALID, "choose one of the ephemeral idle times")
	}
	if err == nil {
		var ac *pairgate.AuthorizationCode
		_, ac, err = h.admin.CreateCode(r.Context(), admin.UserActor(u), admin.NewCode{TTL: ttl, Label: label, EphemeralIdle: idle})
		if err == nil {
			return redirect(w, r, "/admin?"+url.Values{"generated": {ac.ID}, "ttl": {string(ttl)}}.Encode()+"#generated")
		}
	}
	if pairgate.ErrorCode(err) != pairgate.EINVALID {
		return err
	}
	v := consoleView{Error: "Choose how long the code lives (one of the Code Expiration lengths), whether its devices are ephemeral, and a label of at most 200 characters.",
		Label: label, Ephemeral: ephemeralChoices(p.Get("ephemeral"))}
	if err := h.console(r, u, &v, "", ttl); err != nil {
		return err
	}
	return h.render(w, http.StatusBadRequest, "console", v)
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

// ConsoleSignOutCodeDevices is POST /admin/codes/{id}/signout-devices:
// a leaked code's devices signed out and the code deleted, in one
// transaction, after the dialog showed how many.
func (h *ConsolePages) ConsoleSignOutCodeDevices(w http.ResponseWriter, r *http.Request) error {
	p, err := form(w, r)
	if err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	keep := p.Get("keep_code") == "1"
	_, err = h.admin.SignOutCodeDevices(r.Context(), admin.UserActor(u), r.PathValue("id"), keep)
	switch pairgate.ErrorCode(err) {
	case "":
		if keep {
			return redirect(w, r, "/admin?done=code_devices_out_kept")
		}
		return redirect(w, r, "/admin?done=code_devices_out")
	case pairgate.ENOTFOUND:
		return redirect(w, r, "/admin?done=code_gone")
	}
	return err
}

// ConsoleDeleteDevice is POST /admin/devices/{id}/delete: the device is
// revoked at once (docs/design.md 2.2). The inventory page it leads back to
// keeps the search, filters and page the admin was on.
func (h *ConsolePages) ConsoleDeleteDevice(w http.ResponseWriter, r *http.Request) error {
	p, err := form(w, r)
	if err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	q, _ := readDeviceQuery(p)
	err = h.admin.DeleteDevice(r.Context(), admin.UserActor(u), r.PathValue("id"))
	switch pairgate.ErrorCode(err) {
	case "":
		return redirect(w, r, q.url("done", "device_deleted"))
	case pairgate.ENOTFOUND:
		return redirect(w, r, q.url("done", "device_gone"))
	}
	return err
}

// ConsoleRenameDevice is POST /admin/devices/{id}/rename.
func (h *ConsolePages) ConsoleRenameDevice(w http.ResponseWriter, r *http.Request) error {
	p, err := form(w, r)
	if err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	q, _ := readDeviceQuery(p)
	_, err = h.admin.RenameDevice(r.Context(), admin.UserActor(u), r.PathValue("id"), p.Get("name"))
	switch pairgate.ErrorCode(err) {
	case "":
		return redirect(w, r, q.url("done", "device_renamed"))
	case pairgate.ENOTFOUND:
		return redirect(w, r, q.url("done", "device_gone"))
	}
	return err
}

// maxBulk bounds the devices one bulk delete takes: a page of them.
const maxBulk = devicePageSize

// ConsoleBulkDeletePage is GET /admin/devices/delete?id=…: the selected
// devices, listed, with one button that deletes them all. The table's
// checkboxes submit here; a count of what was ticked needs this page,
// since the pages have no script to count.
func (h *ConsolePages) ConsoleBulkDeletePage(w http.ResponseWriter, r *http.Request) error {
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	vals := r.URL.Query()
	q, _ := readDeviceQuery(vals)
	ids := vals["id"]
	if len(ids) == 0 {
		return redirect(w, r, q.url("done", "none_selected"))
	}
	if len(ids) > maxBulk {
		return pairgate.Errorf(pairgate.EINVALID, "select at most %d devices at once", maxBulk)
	}
	c := &confirmation{ID: "confirm", Heading: "Delete " + strconv.Itoa(len(ids)) + " devices?",
		Text:   "Their access ends at once: their tokens stop working and their browser sessions end. To come back they must be authorized again.",
		Action: "/admin/devices/delete", Hidden: q.hidden(), Button: "Delete " + strconv.Itoa(len(ids)) + " devices", Danger: true}
	if len(ids) == 1 {
		c.Heading, c.Button = "Delete 1 device?", "Delete 1 device"
	}
	var found []string
	for _, id := range ids {
		d, err := h.admin.GetDevice(r.Context(), admin.UserActor(u), id)
		switch pairgate.ErrorCode(err) {
		case "":
			c.Lines = append(c.Lines, d.Name+" · "+d.ID)
			found = append(found, d.ID)
		case pairgate.ENOTFOUND:
		default:
			return err
		}
	}
	// One field: the pages' forms take each field once.
	c.Hidden = append(c.Hidden, hidden{"ids", strings.Join(found, " ")})
	return h.confirmPage(w, u, helpURL("administration"), c, q.url())
}

// ConsoleBulkDelete is POST /admin/devices/delete: every selected device
// deleted and revoked, each as DeleteDevice does.
func (h *ConsolePages) ConsoleBulkDelete(w http.ResponseWriter, r *http.Request) error {
	p, err := form(w, r)
	if err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	q, _ := readDeviceQuery(p)
	ids := strings.Fields(p.Get("ids"))
	if len(ids) > maxBulk {
		return pairgate.Errorf(pairgate.EINVALID, "select at most %d devices at once", maxBulk)
	}
	n := 0
	for _, id := range ids {
		err := h.admin.DeleteDevice(r.Context(), admin.UserActor(u), id)
		switch pairgate.ErrorCode(err) {
		case "":
			n++
		case pairgate.ENOTFOUND:
		default:
			return err
		}
	}
	return redirect(w, r, q.url("done", "devices_deleted", "count", strconv.Itoa(n)))
}

// ConsoleDevicesCSV is GET /admin/devices.csv: every device the filter
// selects (all pages), for a spreadsheet.
func (h *ConsolePages) ConsoleDevicesCSV(w http.ResponseWriter, r *http.Request) error {
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	q, ok := readDeviceQuery(r.URL.Query())
	if !ok {
		return pairgate.Errorf(pairgate.EINVALID, "that filter is not one the console offers")
	}
	q.After = ""
	f := q.filter()
	a := admin.UserActor(u)
	var all []*pairgate.Device
	for {
		f.Limit = pairgate.MaxPageSize
		page, err := h.admin.ListDevices(r.Context(), a, f)
		if err != nil {
			return err
		}
		all = append(all, page...)
		if len(page) < f.Limit || len(all) >= maxCSVDevices {
			break
		}
		f.After = pairgate.DeviceCursor(page[len(page)-1], q.Sort)
	}
	var users []string
	for _, d := range all {
		users = append(users, d.UserID)
	}
	names, err := h.admin.Usernames(r.Context(), users)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.Write([]string{"id", "name", "state", "state_changed_at", "mode", "authorized_by", "authorization_code_id", "approved_by",
		"hardware_id", "key_bound", "client_id", "authorized_at", "last_seen_at", "last_ip", "same_hardware_as"})
	iso := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, d := range all {
		approver := ""
		if d.UserID != "" {
			approver = orName(names, d.UserID)
		}
		cw.Write([]string{d.ID, csvCell(d.Name), d.State, iso(d.StateChangedAt), string(d.Mode), d.AuthMethod, d.AuthCodeID, csvCell(approver),
			csvCell(d.HardwareID), strconv.FormatBool(d.DPoPJKT != ""), d.ClientID, iso(d.AuthorizedAt), iso(d.LastSeenAt), d.LastIP, d.SameHardwareAs})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return pairgate.Internal(err, "write csv")
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/csv; charset=utf-8")
	hd.Set("Content-Disposition", `attachment; filename="pairgate-devices-`+h.cfg.Now().UTC().Format("20060102-1504")+`.csv"`)
	_, err = w.Write(buf.Bytes())
	return err
}

// maxCSVDevices bounds one export.
const maxCSVDevices = 100000

// csvCell keeps a value a device chose (its name, its hardware id) from
// being read as a formula by a spreadsheet: one that starts with = + - @
// or a control character gets a leading apostrophe (OWASP's advice on
// CSV injection).
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
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

// ephemeralIdles are the idle times the console offers for a code's
// ephemeral devices ("" for devices that are not ephemeral); the API takes
// any from five minutes to a week.
var ephemeralIdles = map[string]time.Duration{"": 0, "15m": 15 * time.Minute, "1h": time.Hour, "8h": 8 * time.Hour, "24h": 24 * time.Hour}

func ephemeralChoices(selected string) []choice {
	out := []choice{{Value: "", Label: "No: they stay until deleted or inactive", Selected: selected == ""}}
	for _, v := range []string{"15m", "1h", "8h", "24h"} {
		out = append(out, choice{Value: v, Label: "Yes: removed at sign-out or after " + idleLabel(ephemeralIdles[v]) + " unseen",
			Selected: v == selected})
	}
	return out
}

// idleLabel says an ephemeral idle time as people do; "" for none.
func idleLabel(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d%(24*time.Hour) == 0:
		return plural(int(d/(24*time.Hour)), "day")
	case d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d/time.Minute), "minute")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// policySentence states the server's inactivity policy for the inventory.
func policySentence(p pairgate.InactivityPolicy) string {
	days := func(d time.Duration) string { return plural(int(d/pairgate.Day), "day") }
	switch {
	case p.SignOutAfter == 0 && p.RemoveAfter == 0:
		return "Devices stay however long they go unseen (no inactivity policy), unless their client sets one."
	case p.RemoveAfter == 0:
		return "Devices not seen for " + days(p.SignOutAfter) + " are signed out (state expired); clients may set their own period."
	case p.SignOutAfter == 0:
		return "Devices are not signed out for inactivity; ended devices unseen for " + days(p.RemoveAfter) + " more are removed. Clients may set their own periods."
	}
	return "Devices not seen for " + days(p.SignOutAfter) + " are signed out (state expired), and removed if still unseen " +
		days(p.RemoveAfter) + " later; clients may set their own periods."
}
