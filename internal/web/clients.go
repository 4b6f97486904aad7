package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/admin"
)

// Clients (/admin/clients): the OAuth clients, made, edited, given a new
// secret and deleted through the admin service, which keeps the rules
// and writes the audit events. A confidential client's secret is shown
// once, in the answer to the form that made it, never in a URL.

// grantLabels say each grant type in words.
var grantLabels = map[string]string{
	pairgate.GrantDeviceCode:        "Device flow (RFC 8628)",
	pairgate.GrantPairingCode:       "Pairing",
	pairgate.GrantRefreshToken:      "Refresh tokens",
	pairgate.GrantAuthorizationCode: "Authorization codes",
}

type clientRow struct {
	ID, Name       string
	Public         bool
	Grants         []string
	Scopes         string
	RequireDPoP    bool
	DeviceFlow     string
	Created        timeView
	EditURL        string
	Rotate, Delete *confirmation
}

// clientForm is the form that makes or edits a client, as it was typed.
type clientForm struct {
	ID, Name, Scopes string
	Public           bool
	Grants           []choice
}

type clientsView struct {
	base
	Nav        string
	Can        consoleCan
	CanWrite   bool
	Clients    []clientRow
	New        clientForm
	Edit       *clientForm // the client being edited (?edit=ID)
	Notice     string
	Error      string
	Secret     string // a client secret, shown this once
	SecretWhat string
}

var clientNotices = map[string]string{
	"client_updated": "The client was changed. Its next requests get the new grant types and scopes; devices keep what they were given until they authorize again.",
	"client_deleted": "The client was deleted, with its devices: they must be authorized again under another client.",
	"client_gone":    "That client no longer exists.",
}

func grantChoices(selected []string) []choice {
	var out []choice
	for _, g := range pairgate.AllGrantTypes {
		out = append(out, choice{Value: g, Label: grantLabels[g], Selected: slices.Contains(selected, g)})
	}
	return out
}

// deviceFlowSummary says a client's phishing defences in a few words.
func deviceFlowSummary(p pairgate.DeviceFlowPolicy) string {
	if p.Disabled {
		return "Off"
	}
	var parts []string
	if len(p.Networks) == 0 {
		parts = append(parts, "starts anywhere")
	} else {
		nets := make([]string, len(p.Networks))
		for i, n := range p.Networks {
			nets[i] = n.String()
		}
		parts = append(parts, "starts from "+strings.Join(nets, ", "))
	}
	if p.ApprovalPrefixV4 > 0 || p.ApprovalPrefixV6 > 0 {
		parts = append(parts, fmt.Sprintf("approver in the same /%d or /%d", p.ApprovalPrefixV4, p.ApprovalPrefixV6))
	} else {
		parts = append(parts, "approver anywhere")
	}
	return "On: " + strings.Join(parts, "; ")
}

// ConsoleClients is GET /admin/clients; ?edit=ID opens a client's form,
// ?rotate=ID and ?delete=ID are the confirmations as pages of their own.
func (h *ConsolePages) ConsoleClients(w http.ResponseWriter, r *http.Request) error {
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	q := r.URL.Query()
	v := clientsView{Notice: clientNotices[q.Get("done")]}
	if err := h.clients(r, u, &v); err != nil {
		return err
	}
	for _, row := range v.Clients {
		if row.ID == q.Get("rotate") && row.Rotate != nil {
			return h.confirmPage(w, u, v.Help, row.Rotate, "/admin/clients")
		}
		if row.ID == q.Get("delete") && row.Delete != nil {
			return h.confirmPage(w, u, v.Help, row.Delete, "/admin/clients")
		}
		if row.ID == q.Get("edit") && row.EditURL != "" {
			v.Edit = &clientForm{ID: row.ID, Name: row.Name, Scopes: row.Scopes, Grants: grantChoices(row.Grants)}
		}
	}
	return h.render(w, http.StatusOK, "clients", v)
}

func (h *ConsolePages) clients(r *http.Request, u *pairgate.User, v *clientsView) error {
	a := admin.UserActor(u)
	cs, err := h.admin.ListClients(r.Context(), a)
	if err != nil {
		return err
	}
	v.base = h.base("Clients", u)
	v.Wide, v.Nav, v.Can = true, "clients", canOf(u)
	v.Help, v.Script = helpURL("administration"), copyScriptPath
	v.CanWrite = a.Perms.Has(pairgate.PermClientsWrite)
	if v.New.Grants == nil {
		v.New.Grants = grantChoices([]string{pairgate.GrantDeviceCode, pairgate.GrantRefreshToken})
		v.New.Scopes = "printing"
	}
	for _, c := range cs {
		row := clientRow{ID: c.ID, Name: c.Name, Public: c.Public, Grants: c.GrantTypes, Scopes: c.Scopes.String(),
			RequireDPoP: c.RequireDPoP, DeviceFlow: deviceFlowSummary(c.DeviceFlow), Created: timeOf(c.CreatedAt)}
		if v.CanWrite && c.ID != pairgate.BrowserClientID {
			row.EditURL = "/admin/clients?" + url.Values{"edit": {c.ID}}.Encode() + "#edit"
			if !c.Public {
				row.Rotate = &confirmation{ID: "dlg-secret-" + c.ID, Heading: "Give this client a new secret?", Lead: c.Name, Detail: c.ID,
					Text:   "The new secret is shown to you once. The old one stops working at once: whatever uses it is refused until it has the new one.",
					Action: "/admin/clients/" + c.ID + "/secret", Button: "Make a new secret", Danger: true,
					Opener: "New secret", OpenerLabel: "New secret for client " + c.ID, OpenerClass: "button secondary small-button",
					FallbackURL: "/admin/clients?" + url.Values{"rotate": {c.ID}}.Encode()}
			}
			row.Delete = &confirmation{ID: "dlg-client-" + c.ID, Heading: "Delete this client?", Lead: c.Name, Detail: c.ID,
				Text:   "Every device authorized through it is deleted with it and loses its access at once; they must be authorized again under another client.",
				Action: "/admin/clients/" + c.ID + "/delete", Button: "Delete", Danger: true,
				Opener: "Delete", OpenerLabel: "Delete client " + c.ID, OpenerClass: "trash", Trash: true,
				FallbackURL: "/admin/clients?" + url.Values{"delete": {c.ID}}.Encode()}
		}
		v.Clients = append(v.Clients, row)
	}
	return nil
}

// clientsAnswer renders the page with an outcome: an error to correct
// (the form keeps what was typed), or a secret to copy now.
func (h *ConsolePages) clientsAnswer(w http.ResponseWriter, r *http.Request, u *pairgate.User, err error, v clientsView) error {
	status := http.StatusOK
	if err != nil {
		switch pairgate.ErrorCode(err) {
		case pairgate.EINVALID, pairgate.ECONFLICT, pairgate.EFORBIDDEN, pairgate.ENOTFOUND:
			v.Error, status = sentence(pairgate.ErrorMessage(err)), httpStatus(err)
		default:
			return err
		}
	}
	if err := h.clients(r, u, &v); err != nil {
		return err
	}
	return h.render(w, status, "clients", v)
}

// readClientForm reads the fields of the client form.
func readClientForm(p url.Values) clientForm {
	var grants []string
	for _, g := range pairgate.AllGrantTypes {
		if p.Get("grant_"+g) == "1" {
			grants = append(grants, g)
		}
	}
	return clientForm{ID: strings.TrimSpace(p.Get("client_id")), Name: strings.TrimSpace(p.Get("name")),
		Scopes: strings.TrimSpace(p.Get("scopes")), Public: p.Get("public") == "1", Grants: grantChoices(grants)}
}

func (f clientForm) grantTypes() []string {
	var out []string
	for _, g := range f.Grants {
		if g.Selected {
			out = append(out, g.Value)
		}
	}
	return out
}

func splitScopes(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

// ConsoleCreateClient is POST /admin/clients.
func (h *ConsolePages) ConsoleCreateClient(w http.ResponseWriter, r *http.Request) error {
	p, err := form(w, r)
	if err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	f := readClientForm(p)
	c, sec, err := h.admin.CreateClient(r.Context(), admin.UserActor(u), admin.NewClient{ID: f.ID, Name: f.Name, Public: f.Public,
		GrantTypes: f.grantTypes(), Scopes: splitScopes(f.Scopes)})
	if err != nil {
		return h.clientsAnswer(w, r, u, err, clientsView{New: f})
	}
	v := clientsView{Notice: "The client " + c.ID + " was registered."}
	if sec != "" {
		v.Secret, v.SecretWhat = sec, "The secret of "+c.ID+". Copy it now into the service that uses it: it is not shown again."
	}
	return h.clientsAnswer(w, r, u, nil, v)
}

// ConsoleEditClient is POST /admin/clients/{id}/edit.
func (h *ConsolePages) ConsoleEditClient(w http.ResponseWriter, r *http.Request) error {
	p, err := form(w, r)
	if err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	f := readClientForm(p)
	f.ID = r.PathValue("id")
	gts, scopes := f.grantTypes(), splitScopes(f.Scopes)
	if gts == nil {
		gts = []string{} // none ticked is a choice to refuse, not "unchanged"
	}
	if scopes == nil {
		scopes = []string{}
	}
	_, err = h.admin.UpdateClient(r.Context(), admin.UserActor(u), f.ID, admin.ClientPatch{Name: &f.Name, GrantTypes: &gts, Scopes: &scopes})
	switch pairgate.ErrorCode(err) {
	case "":
		return redirect(w, r, "/admin/clients?done=client_updated")
	case pairgate.ENOTFOUND:
		return redirect(w, r, "/admin/clients?done=client_gone")
	}
	return h.clientsAnswer(w, r, u, err, clientsView{Edit: &f})
}

// ConsoleRotateClientSecret is POST /admin/clients/{id}/secret: the new
// secret, shown this once.
func (h *ConsolePages) ConsoleRotateClientSecret(w http.ResponseWriter, r *http.Request) error {
	if _, err := form(w, r); err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	c, sec, err := h.admin.RotateClientSecret(r.Context(), admin.UserActor(u), r.PathValue("id"))
	if err != nil {
		return h.clientsAnswer(w, r, u, err, clientsView{})
	}
	return h.clientsAnswer(w, r, u, nil, clientsView{Notice: "The client " + c.ID + " has a new secret; the old one no longer works.",
		Secret: sec, SecretWhat: "The new secret of " + c.ID + ". Copy it now into the service that uses it: it is not shown again."})
}

// ConsoleDeleteClient is POST /admin/clients/{id}/delete.
func (h *ConsolePages) ConsoleDeleteClient(w http.ResponseWriter, r *http.Request) error {
	if _, err := form(w, r); err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	err = h.admin.DeleteClient(r.Context(), admin.UserActor(u), r.PathValue("id"))
	switch pairgate.ErrorCode(err) {
	case "":
		return redirect(w, r, "/admin/clients?done=client_deleted")
	case pairgate.ENOTFOUND:
		return redirect(w, r, "/admin/clients?done=client_gone")
	}
	return h.clientsAnswer(w, r, u, err, clientsView{})
}
