package pairgate

import (
	"net"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ModelEverywhere is the Model of a printer that needs no driver: an IPP
// Everywhere (driverless) printer, which CUPS sets up with `-m everywhere`.
const ModelEverywhere = "everywhere"

// Printer is a print queue an administrator deploys to devices: where it
// is (its connection URI) and how to set it up (a make-and-model, or
// ModelEverywhere, and default options).
type Printer struct {
	ID          string
	Name        string
	URI         string // ipp://, ipps://, socket:// or lpd://; see ParsePrinterURI
	Location    string
	Description string
	Model       string // ModelEverywhere, or a make-and-model for the driver
	Options     PrinterOptions
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// PrinterOptions are the defaults a queue is set up with.
type PrinterOptions struct {
	Duplex    bool   // two-sided (long edge) by default
	Color     bool   // colour by default; monochrome otherwise
	PaperSize string // one of PaperSizes, or "" for the printer's own default
}

// Driverless reports whether the printer is set up without a driver (IPP
// Everywhere).
func (p *Printer) Driverless() bool { return p.Model == ModelEverywhere }

// PaperSizes are the default paper sizes a printer may have, as the
// console names them; PaperSizePWG gives their IPP (PWG 5101.1) names.
var PaperSizes = []string{"A4", "Letter", "Legal", "A3", "A5", "Tabloid"}

var paperPWG = map[string]string{
	"A4":      "iso_a4_210x297mm",
	"Letter":  "na_letter_8.5x11in",
	"Legal":   "na_legal_8.5x14in",
	"A3":      "iso_a3_297x420mm",
	"A5":      "iso_a5_148x210mm",
	"Tabloid": "na_ledger_11x17in",
}

// PaperSizePWG is the PWG self-describing media name of a paper size
// ("iso_a4_210x297mm"): what CUPS and IPP printers take as media.
func PaperSizePWG(size string) string { return paperPWG[size] }

// Printer URI schemes (docs/design.md section 3).
const (
	SchemeIPP    = "ipp"
	SchemeIPPS   = "ipps"
	SchemeSocket = "socket"
	SchemeLPD    = "lpd"
)

// Limits of a printer's text fields, in bytes.
const (
	maxPrinterName = 128
	maxPrinterText = 256
	maxPrinterDesc = 1024
	maxPrinterURI  = 1024
)

// ParsePrinterURI checks a printer's connection URI and returns it
// parsed. It takes only what CUPS and Windows can connect to without
// anything else: ipp:// and ipps:// (IPP, default port 631, a path such
// as /ipp/print), socket:// (raw AppSocket/JetDirect, default port 9100,
// no path), lpd:// (LPD, a queue name as the path). A host is required;
// user info (a password in a URI ends up in every device's configuration)
// and fragments are refused. Every error names the field: "uri".
func ParsePrinterURI(s string) (*url.URL, error) {
	bad := func(format string, args ...any) (*url.URL, error) {
		return nil, Errorf(EINVALID, "uri: "+format, args...)
	}
	if s == "" {
		return bad("is required, for example ipp://printer.example.com/ipp/print")
	}
	if len(s) > maxPrinterURI {
		return bad("is longer than %d bytes", maxPrinterURI)
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == '"' || r == '\\' || r == '<' || r == '>' || r == '`' || r > 0x7e {
			return bad("may hold no spaces, quotes or control characters (percent-encode them)")
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad("'%s' is not a URI", Printable(s, 80))
	}
	scheme := strings.ToLower(u.Scheme)
	switch scheme {
	case SchemeIPP, SchemeIPPS, SchemeSocket, SchemeLPD:
	case "":
		return bad("'%s' has no scheme: use ipp://, ipps://, socket:// or lpd://", Printable(s, 80))
	default:
		return bad("scheme '%s' is not supported: use ipp://, ipps://, socket:// or lpd://", Printable(u.Scheme, 20))
	}
	u.Scheme = scheme
	if u.Opaque != "" || u.Host == "" {
		return bad("'%s' has no host: write %s://HOST…", Printable(s, 80), scheme)
	}
	if u.User != nil {
		return bad("may not hold a user name or password")
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return bad("may not hold a fragment (#)")
	}
	host := u.Hostname()
	if host == "" {
		return bad("'%s' has no host", Printable(s, 80))
	}
	if strings.HasPrefix(u.Host, "[") {
		if net.ParseIP(host) == nil {
			return bad("'%s' is not an IPv6 address", Printable(host, 64))
		}
	} else if !validHostname(host) {
		return bad("host '%s' is not a host name or an IP address", Printable(host, 64))
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return bad("port '%s' is not a port number from 1 to 65535", Printable(p, 10))
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return bad("has an empty port")
	}
	switch scheme {
	case SchemeSocket:
		if u.Path != "" && u.Path != "/" {
			return bad("a socket:// URI has no path: socket://HOST or socket://HOST:9100")
		}
	case SchemeLPD:
		q := strings.Trim(u.Path, "/")
		if q == "" || strings.Contains(q, "/") {
			return bad("an lpd:// URI names a queue as its path: lpd://HOST/QUEUE")
		}
	}
	return u, nil
}

// validHostname accepts a DNS name (letters, digits, '-', '.', '_') or an
// IPv4 address.
func validHostname(h string) bool {
	if len(h) > 253 || strings.HasPrefix(h, ".") || strings.HasPrefix(h, "-") || strings.Contains(h, "..") {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// cleanText checks a free-text field: valid UTF-8, no control characters,
// at most max bytes; required ones may not be empty. It returns the text
// with surrounding spaces removed.
func cleanText(field, s string, max int, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			return "", Errorf(EINVALID, "%s is required", field)
		}
		return "", nil
	}
	if !utf8.ValidString(s) {
		return "", Errorf(EINVALID, "%s is not valid UTF-8 text", field)
	}
	if len(s) > max {
		return "", Errorf(EINVALID, "%s is longer than %d bytes", field, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return "", Errorf(EINVALID, "%s may hold no control characters or line breaks", field)
		}
	}
	return s, nil
}

// NormalizePrinter checks every field of a printer and puts it in its
// canonical form: text trimmed, the URI's scheme in lower case, an empty
// model meaning ModelEverywhere, the paper size spelled as in PaperSizes.
// Errors are EINVALID and name the field.
func NormalizePrinter(p *Printer) error {
	var err error
	if p.Name, err = cleanText("name", p.Name, maxPrinterName, true); err != nil {
		return err
	}
	u, err := ParsePrinterURI(strings.TrimSpace(p.URI))
	if err != nil {
		return err
	}
	p.URI = u.String()
	if p.Location, err = cleanText("location", p.Location, maxPrinterText, false); err != nil {
		return err
	}
	if p.Description, err = cleanText("description", p.Description, maxPrinterDesc, false); err != nil {
		return err
	}
	if p.Model, err = cleanText("model", p.Model, maxPrinterText, false); err != nil {
		return err
	}
	if p.Model == "" || strings.EqualFold(p.Model, ModelEverywhere) || strings.EqualFold(p.Model, "IPP Everywhere") {
		p.Model = ModelEverywhere
	}
	if p.Options.PaperSize != "" {
		i := slices.IndexFunc(PaperSizes, func(s string) bool { return strings.EqualFold(s, strings.TrimSpace(p.Options.PaperSize)) })
		if i < 0 {
			return Errorf(EINVALID, "options.paper_size '%s' is not one of %s", Printable(p.Options.PaperSize, 32), strings.Join(PaperSizes, ", "))
		}
		p.Options.PaperSize = PaperSizes[i]
	}
	return nil
}

// PrinterFilter selects printers.
type PrinterFilter struct {
	// Search matches name, location, description and URI,
	// case-insensitively.
	Search string
}

// Deployment gives printers to the devices its Target selects. A device's
// printers are the union of every deployment that applies to it.
type Deployment struct {
	ID               string
	PrinterIDs       []string // at least one; sorted
	DefaultPrinterID string   // one of PrinterIDs, or ""
	Target           DeploymentTarget
	CreatedBy        string // the user (or API key) ID that created it
	CreatedAt        time.Time
}

// DeploymentTarget says which devices a deployment applies to: exactly one
// of its fields is set.
type DeploymentTarget struct {
	All bool
	// AuthCodeID: the devices that were authorized with this
	// authorization code (Device.AuthCodeID), whether or not the code
	// still exists: every machine installed with it.
	AuthCodeID string
	// NamePattern: the devices whose name matches this glob (path.Match
	// syntax, case-insensitive), such as "lab-*".
	NamePattern string
	DeviceIDs   []string // these devices; sorted, no duplicates
}

// Kinds of deployment target, as the API names them.
const (
	TargetAll         = "all"
	TargetAuthCode    = "authorization_code"
	TargetNamePattern = "name_pattern"
	TargetDevices     = "devices"
)

// Kind names the field of the target that is set.
func (t DeploymentTarget) Kind() string {
	switch {
	case t.All:
		return TargetAll
	case t.AuthCodeID != "":
		return TargetAuthCode
	case t.NamePattern != "":
		return TargetNamePattern
	case len(t.DeviceIDs) > 0:
		return TargetDevices
	}
	return ""
}

// MaxDeploymentDevices bounds the devices one deployment names one by
// one; a larger group is better named by a code or a pattern.
const MaxDeploymentDevices = 1000

// MaxDeploymentPrinters bounds the printers of one deployment.
const MaxDeploymentPrinters = 100

// Matches reports whether the target selects d. A name pattern is matched
// in lower case against the lower-cased name.
func (t DeploymentTarget) Matches(d *Device) bool {
	switch {
	case t.All:
		return true
	case t.AuthCodeID != "":
		return d.AuthCodeID == t.AuthCodeID
	case t.NamePattern != "":
		ok, _ := path.Match(strings.ToLower(t.NamePattern), strings.ToLower(d.Name))
		return ok
	case len(t.DeviceIDs) > 0:
		_, ok := slices.BinarySearch(t.DeviceIDs, d.ID)
		return ok
	}
	return false
}

// specificity orders the kinds of target from the broadest to the
// narrowest, for choosing a device's default printer.
func (t DeploymentTarget) specificity() int {
	switch t.Kind() {
	case TargetDevices:
		return 3
	case TargetNamePattern:
		return 2
	case TargetAuthCode:
		return 1
	}
	return 0
}

// NormalizeDeployment checks a deployment and puts it in its canonical
// form: printer and device IDs sorted without duplicates, the default one
// of the printers, exactly one kind of target, a valid name pattern.
// Errors are EINVALID and name the field. Whether the printers, devices
// and code exist is the store's to check, in the transaction that
// creates the deployment.
func NormalizeDeployment(d *Deployment) error {
	if len(d.PrinterIDs) == 0 {
		return Errorf(EINVALID, "printers: name at least one printer id")
	}
	d.PrinterIDs = slices.Compact(slices.Sorted(slices.Values(d.PrinterIDs)))
	if len(d.PrinterIDs) > MaxDeploymentPrinters {
		return Errorf(EINVALID, "printers: at most %d printers in one deployment", MaxDeploymentPrinters)
	}
	for _, id := range d.PrinterIDs {
		if !validID(id) {
			return Errorf(EINVALID, "printers: '%s' is not a printer id", Printable(id, 64))
		}
	}
	if d.DefaultPrinterID != "" && !slices.Contains(d.PrinterIDs, d.DefaultPrinterID) {
		return Errorf(EINVALID, "default: '%s' is not one of the deployment's printers", Printable(d.DefaultPrinterID, 64))
	}
	t := &d.Target
	n := 0
	if t.All {
		n++
	}
	if t.AuthCodeID != "" {
		n++
		if !validID(t.AuthCodeID) {
			return Errorf(EINVALID, "target.authorization_code: '%s' is not an authorization code id", Printable(t.AuthCodeID, 64))
		}
	}
	if t.NamePattern != "" {
		n++
		p, err := cleanText("target.name_pattern", t.NamePattern, maxPrinterName, true)
		if err != nil {
			return err
		}
		if _, err := path.Match(p, ""); err != nil {
			return Errorf(EINVALID, "target.name_pattern: '%s' is not a valid pattern (use *, ? and [a-z])", Printable(p, 64))
		}
		t.NamePattern = p
	}
	if len(t.DeviceIDs) > 0 {
		n++
		t.DeviceIDs = slices.Compact(slices.Sorted(slices.Values(t.DeviceIDs)))
		if len(t.DeviceIDs) > MaxDeploymentDevices {
			return Errorf(EINVALID, "target.devices: at most %d devices; target a code or a name pattern instead", MaxDeploymentDevices)
		}
		for _, id := range t.DeviceIDs {
			if !validID(id) {
				return Errorf(EINVALID, "target.devices: '%s' is not a device id", Printable(id, 64))
			}
		}
	}
	if n != 1 {
		return Errorf(EINVALID, "target: give exactly one of all, authorization_code, name_pattern or devices")
	}
	return nil
}

// validID accepts the IDs pairgate makes (and the ones tests make): 1 to
// 64 bytes of letters, digits, '_', '-' and '.'.
func validID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// DevicePrinter is one printer as a device gets it: the printer, and
// whether it is the device's default.
type DevicePrinter struct {
	*Printer
	Default bool
}

// ResolveDevicePrinters computes what d gets from deployments: the union
// of the printers of every deployment whose target matches d, each once,
// ordered by name (then ID). printers holds every printer the deployments
// name (a missing one is skipped). At most one printer is the default:
// the default of the most specific matching deployment (devices, then a
// name pattern, then a code, then all), the newest among equals, so that
// a device singled out gets its own default over the fleet's.
func ResolveDevicePrinters(d *Device, deployments []*Deployment, printers map[string]*Printer) []DevicePrinter {
	seen := map[string]bool{}
	var out []DevicePrinter
	var def *Deployment
	for _, dep := range deployments {
		if !dep.Target.Matches(d) {
			continue
		}
		for _, id := range dep.PrinterIDs {
			p, ok := printers[id]
			if !ok || seen[id] {
				continue
			}
			seen[id] = true
			out = append(out, DevicePrinter{Printer: p})
		}
		if dep.DefaultPrinterID != "" && printers[dep.DefaultPrinterID] != nil && (def == nil ||
			dep.Target.specificity() > def.Target.specificity() ||
			dep.Target.specificity() == def.Target.specificity() && (dep.CreatedAt.After(def.CreatedAt) ||
				dep.CreatedAt.Equal(def.CreatedAt) && dep.ID > def.ID)) {
			def = dep
		}
	}
	slices.SortFunc(out, func(a, b DevicePrinter) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if def != nil {
		for i := range out {
			out[i].Default = out[i].ID == def.DefaultPrinterID
		}
	}
	return out
}
