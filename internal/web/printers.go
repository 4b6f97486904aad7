package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/admin"
)

// The console's Printers tab (/admin/printers): printers with their last
// IPP check, the form that adds or edits one, and deployments with the
// form that makes one. As on the Authorized Devices page, deleting asks
// for confirmation in a dialog the server renders, every form works
// without JavaScript, and every operation goes through admin.Service.
//
// A printer is checked (asked over IPP what it is) when it is saved and
// when an admin presses Check, never while a page renders: a list of
// fifty printers, some of them off, would otherwise take minutes. The
// answer is remembered on this server and shown until the URI changes.

type printerRow struct {
	ID, Name, URI, Model, Location, Description, Options string
	Driverless, Checkable                                bool
	Status                                               string
	Reachable, Checked                                   bool
	CheckedAt                                            string
	EditURL                                              string
	Delete                                               *confirmation
}

type printerForm struct {
	ID, Name, URI, Location, Description, Model, PaperSize string
	Duplex, Color                                          bool
	Error                                                  string
}

type deploymentRow struct {
	ID, Target, TargetKind, CreatedBy string
	Created                           timeView
	Printers                          []string
	Default                           string
	Delete                            *confirmation
}

type choice struct {
	Value, Label string
	Selected     bool
}

type deploymentForm struct {
	Printers                 []choice // checkboxes, by printer ID
	Defaults                 []choice
	Target                   string // all, authorization_code, name_pattern, devices
	Codes                    []choice
	NamePattern, Devices     string
	Error                    string
	NoPrinters, NoCodesAvail bool
}

type printersView struct {
	base
	Nav         string
	Can         consoleCan
	CanWrite    bool
	Search      string
	Printers    []printerRow
	Form        printerForm
	Editing     bool
	PaperSizes  []choice
	Deployments []deploymentRow
	Deploy      deploymentForm
	Notice      string
	Error       string
}

var printerNotices = map[string]string{
	"printer_created":    "The printer was added.",
	"printer_saved":      "The printer was saved. Devices it is deployed to get the change at their next poll.",
	"printer_deleted":    "The printer was deleted, and removed from every deployment.",
	"printer_gone":       "That printer no longer exists.",
	"printer_checked":    "The printer was checked.",
	"deployment_created": "The printers were deployed. Devices get them at their next poll.",
	"deployment_deleted": "The deployment was deleted. Its devices lose its printers at their next poll, unless another deployment gives them too.",
	"deployment_gone":    "That deployment no longer exists.",
}

func printersURL(search string, extra ...string) string {
	q := url.Values{}
	if search != "" {
		q.Set("q", search)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	if len(q) == 0 {
		return "/admin/printers"
	}
	return "/admin/printers?" + q.Encode()
}

func optionsText(o pairgate.PrinterOptions) string {
	var parts []string
	if o.Duplex {
		parts = append(parts, "Two-sided")
	} else {
		parts = append(parts, "One-sided")
	}
	if o.Color {
		parts = append(parts, "Colour")
	} else {
		parts = append(parts, "Monochrome")
	}
	if o.PaperSize != "" {
		parts = append(parts, o.PaperSize)
	}
	return strings.Join(parts, " · ")
}

// ConsolePrinters is GET /admin/printers.
func (h *ConsolePages) ConsolePrinters(w http.ResponseWriter, r *http.Request) error {
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	q := r.URL.Query()
	v := printersView{Notice: printerNotices[q.Get("done")], Search: strings.TrimSpace(q.Get("q"))}
	status := http.StatusOK
	if len(v.Search) > 200 {
		v.Search, v.Error, status = "", "That search is too long: search for at most 200 characters.", http.StatusBadRequest
	}
	v.Form.Model = pairgate.ModelEverywhere
	if id := q.Get("edit"); id != "" && len(id) <= 64 {
		p, err := h.admin.GetPrinter(r.Context(), admin.UserActor(u), id)
		switch pairgate.ErrorCode(err) {
		case "":
			v.Form = printerForm{ID: p.ID, Name: p.Name, URI: p.URI, Location: p.Location, Description: p.Description, Model: p.Model,
				PaperSize: p.Options.PaperSize, Duplex: p.Options.Duplex, Color: p.Options.Color}
			v.Editing = true
		case pairgate.ENOTFOUND:
			v.Notice = printerNotices["printer_gone"]
		default:
			return err
		}
	}
	if err := h.printersPage(r, u, &v, deploymentForm{Target: pairgate.TargetAll}); err != nil {
		return err
	}
	// The confirmation pages, for browsers without invoker commands.
	if id := q.Get("delete"); id != "" {
		for _, p := range v.Printers {
			if p.ID == id && p.Delete != nil {
				return h.confirmPage(w, u, v.Help, p.Delete, printersURL(v.Search))
			}
		}
		v.Notice = printerNotices["printer_gone"]
	}
	if id := q.Get("delete_deployment"); id != "" {
		for _, d := range v.Deployments {
			if d.ID == id && d.Delete != nil {
				return h.confirmPage(w, u, v.Help, d.Delete, printersURL(v.Search))
			}
		}
		v.Notice = printerNotices["deployment_gone"]
	}
	return h.render(w, status, "printers", v)
}

// printersPage fills in what the Printers tab shows besides the forms'
// own values.
func (h *ConsolePages) printersPage(r *http.Request, u *pairgate.User, v *printersView, dep deploymentForm) error {
	ctx := r.Context()
	a := admin.UserActor(u)
	v.base = h.base("Printers", u)
	v.Wide, v.Nav, v.Can = true, "printers", canOf(u)
	v.Help, v.Script = helpURL("printers-and-deployments"), copyScriptPath
	v.CanWrite = a.Perms.Has(pairgate.PermPrintersWrite)
	for _, s := range pairgate.PaperSizes {
		v.PaperSizes = append(v.PaperSizes, choice{Value: s, Label: s, Selected: s == v.Form.PaperSize})
	}
	all, err := h.admin.ListPrinters(ctx, a, "")
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, p := range all {
		names[p.ID] = p.Name
	}
	shown := all
	if v.Search != "" {
		if shown, err = h.admin.ListPrinters(ctx, a, v.Search); err != nil {
			return err
		}
	}
	for _, p := range shown {
		row := printerRow{ID: p.ID, Name: p.Name, URI: p.URI, Model: p.Model, Location: p.Location, Description: p.Description,
			Options: optionsText(p.Options), Driverless: p.Driverless(), Checkable: strings.HasPrefix(p.URI, "ipp://") || strings.HasPrefix(p.URI, "ipps://"),
			EditURL: printersURL(v.Search, "edit", p.ID) + "#printer-form"}
		if v.CanWrite {
			row.Delete = &confirmation{ID: "dlg-printer-" + p.ID, Heading: "Delete this printer?", Lead: p.Name, Detail: p.URI,
				Text:   "It leaves every deployment at once, and devices no longer get it. A deployment that had only this printer is deleted too.",
				Action: "/admin/printers/" + p.ID + "/delete", Button: "Delete", Danger: true,
				Opener: "Delete", OpenerLabel: "Delete printer " + p.Name, OpenerClass: "trash", Trash: true,
				FallbackURL: printersURL(v.Search, "delete", p.ID)}
		}
		if row.Driverless {
			row.Model = "IPP Everywhere"
		}
		if st, ok := h.admin.PrinterStatus(a, p); ok {
			row.Checked, row.Reachable, row.Status, row.CheckedAt = true, st.Reachable, st.Summary(), consoleTime(st.CheckedAt)
		}
		v.Printers = append(v.Printers, row)
	}

	deps, err := h.admin.ListDeployments(ctx, a)
	if err != nil {
		return err
	}
	// Codes are shown by their value to who may see codes.
	codes := map[string]string{}
	chosenCode := selectedCode(dep)
	dep.Codes = nil
	if a.Perms.Has(pairgate.PermCodesRead) {
		active, err := h.admin.ListCodes(ctx, a)
		if err != nil {
			return err
		}
		for _, c := range active {
			codes[c.ID] = c.Code
			dep.Codes = append(dep.Codes, choice{Value: c.ID, Label: c.Code + " · " + c.TTL.Label(), Selected: c.ID == chosenCode})
		}
	}
	dep.NoCodesAvail = len(dep.Codes) == 0
	var creators []string
	for _, d := range deps {
		creators = append(creators, d.CreatedBy)
	}
	users, err := h.admin.Usernames(ctx, creators)
	if err != nil {
		return err
	}
	for _, d := range deps {
		row := deploymentRow{ID: d.ID, TargetKind: d.Target.Kind(), Created: timeOf(d.CreatedAt), CreatedBy: orName(users, d.CreatedBy)}
		switch d.Target.Kind() {
		case pairgate.TargetAll:
			row.Target = "All devices"
		case pairgate.TargetAuthCode:
			if c, ok := codes[d.Target.AuthCodeID]; ok {
				row.Target = "Devices installed with code " + c
			} else {
				row.Target = "Devices installed with code " + d.Target.AuthCodeID
			}
		case pairgate.TargetNamePattern:
			row.Target = "Devices named " + d.Target.NamePattern
		case pairgate.TargetDevices:
			row.Target = "Devices " + strings.Join(d.Target.DeviceIDs, ", ")
		}
		for _, id := range d.PrinterIDs {
			row.Printers = append(row.Printers, orID(names, id))
		}
		if d.DefaultPrinterID != "" {
			row.Default = orID(names, d.DefaultPrinterID)
		}
		if v.CanWrite {
			row.Delete = &confirmation{ID: "dlg-deployment-" + d.ID, Heading: "Delete this deployment?", Lead: row.Target,
				Detail: strings.Join(row.Printers, ", "),
				Text:   "Its devices lose these printers at their next poll, unless another deployment gives them too. The printers themselves stay.",
				Action: "/admin/deployments/" + d.ID + "/delete", Button: "Delete", Danger: true,
				Opener: "Delete", OpenerLabel: "Delete deployment to " + row.Target, OpenerClass: "trash", Trash: true,
				FallbackURL: printersURL(v.Search, "delete_deployment", d.ID)}
		}
		v.Deployments = append(v.Deployments, row)
	}
	// The deployment form offers every printer.
	chosen := map[string]bool{}
	for _, c := range dep.Printers {
		chosen[c.Value] = c.Selected
	}
	def := ""
	for _, c := range dep.Defaults {
		if c.Selected {
			def = c.Value
		}
	}
	dep.Printers, dep.Defaults = nil, []choice{{Value: "", Label: "No default", Selected: def == ""}}
	for _, p := range all {
		dep.Printers = append(dep.Printers, choice{Value: p.ID, Label: p.Name, Selected: chosen[p.ID]})
		dep.Defaults = append(dep.Defaults, choice{Value: p.ID, Label: p.Name, Selected: def == p.ID})
	}
	dep.NoPrinters = len(all) == 0
	v.Deploy = dep
	return nil
}

func selectedCode(d deploymentForm) string {
	for _, c := range d.Codes {
		if c.Selected {
			return c.Value
		}
	}
	return ""
}

// printerFormValues reads the printer form.
func printerFormValues(p url.Values) printerForm {
	return printerForm{Name: p.Get("name"), URI: p.Get("uri"), Location: p.Get("location"), Description: p.Get("description"),
		Model: p.Get("model"), PaperSize: p.Get("paper_size"), Duplex: p.Get("duplex") != "", Color: p.Get("color") != ""}
}

func (f printerForm) change() admin.PrinterChange {
	return admin.PrinterChange{Name: &f.Name, URI: &f.URI, Location: &f.Location, Description: &f.Description, Model: &f.Model,
		Duplex: &f.Duplex, Color: &f.Color, PaperSize: &f.PaperSize}
}

// ConsoleCreatePrinter is POST /admin/printers: add a printer, then check
// it (an unreachable printer is saved all the same).
func (h *ConsolePages) ConsoleCreatePrinter(w http.ResponseWriter, r *http.Request) error {
	return h.savePrinter(w, r, "")
}

// ConsoleEditPrinter is POST /admin/printers/{id}/edit.
func (h *ConsolePages) ConsoleEditPrinter(w http.ResponseWriter, r *http.Request) error {
	return h.savePrinter(w, r, r.PathValue("id"))
}

func (h *ConsolePages) savePrinter(w http.ResponseWriter, r *http.Request, id string) error {
	p, err := form(w, r)
	if err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	a := admin.UserActor(u)
	f := printerFormValues(p)
	var saved *pairgate.Printer
	if id == "" {
		saved, err = h.admin.CreatePrinter(r.Context(), a, f.change())
	} else {
		saved, err = h.admin.UpdatePrinter(r.Context(), a, id, f.change())
	}
	switch pairgate.ErrorCode(err) {
	case "":
	case pairgate.EINVALID, pairgate.ECONFLICT:
		f.ID, f.Error = id, sentence(pairgate.ErrorMessage(err))
		v := printersView{Form: f, Editing: id != ""}
		if err := h.printersPage(r, u, &v, deploymentForm{Target: pairgate.TargetAll}); err != nil {
			return err
		}
		return h.render(w, http.StatusBadRequest, "printers", v)
	case pairgate.ENOTFOUND:
		return redirect(w, r, printersURL("", "done", "printer_gone"))
	default:
		return err
	}
	if strings.HasPrefix(saved.URI, "ipp://") || strings.HasPrefix(saved.URI, "ipps://") {
		if _, err := h.admin.CheckPrinter(r.Context(), a, saved.ID); err != nil {
			return err
		}
	}
	doneKey := "printer_created"
	if id != "" {
		doneKey = "printer_saved"
	}
	return redirect(w, r, printersURL("", "done", doneKey)+"#printer-"+saved.ID)
}

// ConsoleDeletePrinter is POST /admin/printers/{id}/delete, the
// confirmation dialog's Delete button.
func (h *ConsolePages) ConsoleDeletePrinter(w http.ResponseWriter, r *http.Request) error {
	if _, err := form(w, r); err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	err = h.admin.DeletePrinter(r.Context(), admin.UserActor(u), r.PathValue("id"))
	switch pairgate.ErrorCode(err) {
	case "":
		return redirect(w, r, printersURL("", "done", "printer_deleted"))
	case pairgate.ENOTFOUND:
		return redirect(w, r, printersURL("", "done", "printer_gone"))
	}
	return err
}

// ConsoleCheckPrinter is POST /admin/printers/{id}/check: ask the printer
// now.
func (h *ConsolePages) ConsoleCheckPrinter(w http.ResponseWriter, r *http.Request) error {
	if _, err := form(w, r); err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	id := r.PathValue("id")
	_, err = h.admin.CheckPrinter(r.Context(), admin.UserActor(u), id)
	switch pairgate.ErrorCode(err) {
	case "":
		return redirect(w, r, printersURL("", "done", "printer_checked")+"#printer-"+id)
	case pairgate.ENOTFOUND:
		return redirect(w, r, printersURL("", "done", "printer_gone"))
	}
	return err
}

// ConsoleCreateDeployment is POST /admin/deployments. The printers are
// checkboxes named printer_ID (a form field is read once).
func (h *ConsolePages) ConsoleCreateDeployment(w http.ResponseWriter, r *http.Request) error {
	p, err := form(w, r)
	if err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	nd := admin.NewDeployment{DefaultPrinterID: p.Get("default")}
	var keys []string
	for k := range p {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if id, ok := strings.CutPrefix(k, "printer_"); ok && p.Get(k) != "" {
			nd.PrinterIDs = append(nd.PrinterIDs, id)
		}
	}
	target := p.Get("target")
	dep := deploymentForm{Target: target, NamePattern: p.Get("name_pattern"), Devices: p.Get("devices")}
	switch target {
	case pairgate.TargetAll:
		nd.Target.All = true
	case pairgate.TargetAuthCode:
		nd.Target.AuthCodeID = p.Get("code")
		if nd.Target.AuthCodeID == "" {
			err = pairgate.Errorf(pairgate.EINVALID, "choose the authorization code whose devices get the printers")
		}
	case pairgate.TargetNamePattern:
		nd.Target.NamePattern = p.Get("name_pattern")
		if strings.TrimSpace(nd.Target.NamePattern) == "" {
			err = pairgate.Errorf(pairgate.EINVALID, "type the pattern of the device names, such as lab-*")
		}
	case pairgate.TargetDevices:
		nd.Target.DeviceIDs = strings.FieldsFunc(p.Get("devices"), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
		if len(nd.Target.DeviceIDs) == 0 {
			err = pairgate.Errorf(pairgate.EINVALID, "give the IDs of the devices, separated by spaces or commas")
		}
	default:
		err = pairgate.Errorf(pairgate.EINVALID, "choose which devices get the printers")
	}
	if err == nil {
		_, err = h.admin.CreateDeployment(r.Context(), admin.UserActor(u), nd)
	}
	switch pairgate.ErrorCode(err) {
	case "":
		return redirect(w, r, printersURL("", "done", "deployment_created")+"#deployments")
	case pairgate.EINVALID:
		dep.Error = sentence(pairgate.ErrorMessage(err))
		for _, id := range nd.PrinterIDs {
			dep.Printers = append(dep.Printers, choice{Value: id, Selected: true})
		}
		dep.Defaults = []choice{{Value: nd.DefaultPrinterID, Selected: true}}
		dep.Codes = []choice{{Value: p.Get("code"), Selected: true}}
		v := printersView{Form: printerForm{Model: pairgate.ModelEverywhere}}
		if err := h.printersPage(r, u, &v, dep); err != nil {
			return err
		}
		return h.render(w, http.StatusBadRequest, "printers", v)
	}
	return err
}

// ConsoleDeleteDeployment is POST /admin/deployments/{id}/delete.
func (h *ConsolePages) ConsoleDeleteDeployment(w http.ResponseWriter, r *http.Request) error {
	if _, err := form(w, r); err != nil {
		return err
	}
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	err = h.admin.DeleteDeployment(r.Context(), admin.UserActor(u), r.PathValue("id"))
	switch pairgate.ErrorCode(err) {
	case "":
		return redirect(w, r, printersURL("", "done", "deployment_deleted")+"#deployments")
	case pairgate.ENOTFOUND:
		return redirect(w, r, printersURL("", "done", "deployment_gone"))
	}
	return err
}
