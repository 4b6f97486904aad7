package web

import (
	"net/http"
	"time"

	"github.com/pairgate/pairgate"
)

// Confirmations. A control that asks before it acts opens a modal
// <dialog> through the platform's invoker commands (commandfor,
// command="show-modal"): the browser moves focus into it, makes the
// page behind inert, closes it on Escape and returns focus to the
// control, all without a script, so the pages keep their strict policy.
// A browser that does not know invoker commands yet gets the same from
// the site's one script (a few lines that call showModal), or, without
// it either, from the confirmation as a page of its own: the control's
// data-fallback, which bulk actions and links use too. (A button cannot
// be both: one with commandfor inside a form does nothing at all, by the
// HTML standard, so that old and new browsers never disagree on it.)

// hidden is a hidden form field.
type hidden struct{ Name, Value string }

// field is a text field a dialog asks for (a new name).
type field struct {
	Name, Label, Value string
	MaxLength          int
}

// confirmation is one dialog, or the page it falls back to.
type confirmation struct {
	ID      string // the dialog element's id
	Heading string
	Lead    string // the thing acted on, in bold
	Code    string // an authorization code, shown large
	Detail  string // small print under the lead (an id, a URI)
	Text    string
	Warn    string   // a warning, when the action hits the viewer
	Lines   []string // a list (the devices a preview picked out)
	Field   *field
	Action  string // where the form POSTs
	Hidden  []hidden
	Button  string // the label of the button that acts
	Danger  bool   // the action destroys something
	// The control that opens the dialog.
	Opener      string // its visible text
	OpenerLabel string // its accessible name
	OpenerClass string // "trash" or a button class
	Trash       bool   // shows the trash icon
	// FallbackURL is the confirmation as a page of its own.
	FallbackURL string
}

// confirmView is a confirmation as a page of its own.
type confirmView struct {
	base
	Confirm   *confirmation
	CancelURL string
}

// confirmPage renders c as a page: no console around it, so that
// nothing but the question is there to reach.
func (h *site) confirmPage(w http.ResponseWriter, u *pairgate.User, help string, c *confirmation, cancel string) error {
	v := confirmView{base: h.base(c.Heading, u), Confirm: c, CancelURL: cancel}
	v.Help = help
	return h.render(w, http.StatusOK, "confirm", v)
}

// timeView is a time as every page writes it: UTC, and the script of
// the console rewrites it in the viewer's zone, keeping UTC on hover.
type timeView struct {
	ISO, UTC string
}

func timeOf(t time.Time) timeView {
	if t.IsZero() {
		return timeView{UTC: "Never"}
	}
	return timeView{ISO: t.UTC().Format(time.RFC3339), UTC: consoleTime(t)}
}
