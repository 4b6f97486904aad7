package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pairgate/pairgate/adminapi"
)

// The `pairgate admin` commands that speak to a running server over the
// admin API (docs/design.md section 3), through the public client package
// adminapi: the CLI is the API's first client.

const adminExitHelp = `
Exit status:
  0  success
  1  the server refused the operation (the message says why)
  2  bad usage
  4  server unreachable or unavailable: nothing changed, try again later
  5  not authorized: no API key, or the key is invalid or revoked
     (run 'pairgate admin login')
`

func apiCommands() []*command {
	return append([]*command{
		{name: "login", summary: "make an API key with your username and password, and save it for the other commands", run: runAdminLogin},
		{name: "codes", summary: "authorization codes for devices and install scripts", subs: []*command{
			{name: "create", summary: "generate a code: --ttl 30m|60m|6h|24h|48h|never", run: runCodesCreate},
			{name: "list", summary: "list the codes that have not expired", run: runCodesList},
			{name: "delete", summary: "delete a code by ID: no device can redeem it any more", run: runCodesDelete},
			{name: "revoke-devices", summary: "sign out every device a (leaked) code brought in, and delete the code; shows the count first (--yes, --keep-code)", run: runCodesRevokeDevices},
		}},
		{name: "devices", summary: "the device inventory", subs: []*command{
			{name: "list", summary: "list devices (--search, --state, --sort, --desc, --limit, --after, --all)", run: runDevicesList},
			{name: "get", summary: "show one device by ID", run: runDevicesGet},
			{name: "delete", summary: "delete a device by ID: it is revoked at once and must authorize again", run: runDevicesDelete},
		}},
		{name: "clients", summary: "OAuth clients", subs: []*command{
			{name: "create", summary: "register a client (--id, --name, --public, --grant-types, --scopes, and the device-flow flags)", run: runClientsCreate},
			{name: "list", summary: "list clients", run: runClientsList},
			{name: "update", summary: "change a client's name, grant types or scopes (--name, --grant-types, --scopes)", run: runClientsUpdate},
			{name: "rotate-secret", summary: "give a confidential client a new secret, shown once; the old one stops working", run: runClientsRotateSecret},
			{name: "device-flow", summary: "set a client's phishing defences (--disabled, --networks, --approval-prefix, --approval-prefix-v6)", run: runClientsDeviceFlow},
			{name: "delete", summary: "delete a client by ID, with its devices", run: runClientsDelete},
		}},
		{name: "apikeys", summary: "admin API keys", subs: []*command{
			{name: "create", summary: "make a key with your username and password (--name, --scopes, --username, password on stdin)", run: runAPIKeysCreate},
			{name: "list", summary: "list keys (never the keys themselves)", run: runAPIKeysList},
			{name: "delete", summary: "revoke a key by ID", run: runAPIKeysDelete},
		}},
		{name: "lockouts", summary: "guessing limits", subs: []*command{
			{name: "list", summary: "list the lock-outs in force: what, which rule, until when", run: runLockoutsList},
			{name: "lift", summary: "lift one lock-out by the ID 'lockouts list' shows", run: runLockoutsLift},
			{name: "clear", summary: "lift the limits that hold an address (--ip) or an account (--username)", run: runLockoutsClear},
		}},
		{name: "audit", summary: "show the audit log (--action, --actor, --target, --since, --limit, --all)", run: runAudit},
	}, printerCommands()...)
}

// apiFlags are the flags of every command that calls the admin API.
type apiFlags struct {
	server  string
	apiKey  string
	json    bool
	profile string
}

func newAPIFlagSet(env Env, name, synopsis string, af *apiFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("pairgate admin "+name, flag.ContinueOnError)
	fs.StringVar(&af.server, "server", "", "server URL (default: the one saved by 'pairgate admin login', else http://localhost:8080)")
	fs.StringVar(&af.apiKey, "api-key", "", "admin API key (default: the one saved by 'pairgate admin login'); PAIRGATE_API_KEY keeps it out of the process list")
	fs.BoolVar(&af.json, "json", false, "print JSON instead of a table")
	fs.StringVar(&af.profile, "credentials", adminCredentialsFile(env), "where 'pairgate admin login' saves the server and key")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: pairgate admin %s %s\n\nFlags (each also PAIRGATE_<FLAG>):\n", name, synopsis)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), adminExitHelp)
	}
	return fs
}

// adminCredentialsFile is pairgate/admin.json in the user's configuration
// directory.
func adminCredentialsFile(env Env) string {
	dir := env.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		if home := env.Getenv("HOME"); home != "" {
			dir = filepath.Join(home, ".config")
		} else if d, err := os.UserConfigDir(); err == nil {
			dir = d
		}
	}
	return filepath.Join(dir, "pairgate", "admin.json")
}

type savedCredentials struct {
	Server string `json:"server"`
	APIKey string `json:"api_key"`
}

// apiClient is the typed admin API client with what the commands print to.
type apiClient struct {
	*adminapi.Client
	server string
	out    io.Writer
	asJSON bool
}

// client resolves the server and key: flags and environment first, then
// the saved credentials.
func (af *apiFlags) client(env Env, needKey bool) (*apiClient, error) {
	var saved savedCredentials
	if b, err := os.ReadFile(af.profile); err == nil {
		if st, err := os.Stat(af.profile); err == nil && st.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("%s can be read by others: run chmod 600 %s", af.profile, af.profile)
		}
		if err := json.Unmarshal(b, &saved); err != nil {
			return nil, fmt.Errorf("%s: %v", af.profile, err)
		}
	}
	server, key := af.server, af.apiKey
	if server == "" {
		server = saved.Server
	}
	if server == "" {
		server = "http://localhost:8080"
	}
	if key == "" && (af.server == "" || af.server == saved.Server) {
		key = saved.APIKey
	}
	server = strings.TrimRight(server, "/")
	if u, err := url.Parse(server); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError{fmt.Errorf("--server %q: want an http(s) URL", server)}
	}
	if needKey && key == "" {
		return nil, notAuthorized{errors.New("no API key: run 'pairgate admin login', or pass --api-key / PAIRGATE_API_KEY")}
	}
	return &apiClient{Client: adminapi.New(server, key), server: server, out: env.Stdout, asJSON: af.json}, nil
}

type usageError struct{ error }
type notAuthorized struct{ error }
type unavailable struct{ error }

// apiStatus maps an error of an admin command to its exit status.
func apiStatus(env Env, cmd string, err error) int {
	fmt.Fprintf(env.Stderr, "%s: %v\n", cmd, err)
	var u usageError
	var n notAuthorized
	var un unavailable
	var ae *adminapi.Error
	var te *adminapi.TransportError
	switch {
	case errors.As(err, &u):
		return ExitUsage
	case errors.As(err, &n):
		return ExitNotAuthorized
	case errors.As(err, &un), errors.As(err, &te):
		return ExitUnavailable
	case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
		return ExitNotAuthorized
	case errors.As(err, &ae) && ae.Unavailable():
		return ExitUnavailable
	default:
		return ExitFailure
	}
}

// print writes v as JSON with --json, else a table.
func (c *apiClient) print(v any, header string, rows [][]string) error {
	if c.asJSON {
		enc := json.NewEncoder(c.out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// fmtTime shows a time for a table: local to nobody, so UTC.
func fmtTime(t *time.Time, zero string) string {
	if t == nil || t.IsZero() {
		return zero
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// oneArg parses flags and wants exactly one positional argument (an ID).
func oneArg(fs *flag.FlagSet, env Env, args []string, what string) (string, error) {
	fs.SetOutput(env.Stderr)
	// Accept the ID before or after the flags.
	var id string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	if err := parseFlagsAllowArgs(fs, env, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", err
		}
		return "", usageError{err}
	}
	if id == "" && fs.NArg() == 1 {
		id = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return "", usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if id == "" {
		return "", usageError{fmt.Errorf("the %s is required", what)}
	}
	return id, nil
}

// --- login and API keys ---

// readSecretLine reads the first line of stdin.
func readSecretLine(r io.Reader, what string) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimRight(line, "\r")
	if line == "" {
		return "", usageError{fmt.Errorf("no %s on standard input", what)}
	}
	return line, nil
}

func createKey(ctx context.Context, c *apiClient, env Env, username, name string, scopes []string) (*adminapi.APIKey, error) {
	password, err := readSecretLine(env.Stdin, "password")
	if err != nil {
		return nil, err
	}
	return c.WithPassword(username, password).CreateAPIKey(ctx, adminapi.NewAPIKey{Name: name, Scopes: scopes})
}

// allScopes are the scopes `admin login` asks for: the key a person uses
// at the command line reaches what their role allows, no more.
var allScopes = []string{adminapi.ScopeRead, adminapi.ScopeCodesWrite, adminapi.ScopeDevicesWrite, adminapi.ScopePrintersWrite,
	adminapi.ScopeClientsWrite, adminapi.ScopeLockoutsWrite}

func runAdminLogin(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin login"
	var af apiFlags
	var username, name, scopes string
	fs := newAPIFlagSet(env, "login", "--server URL [--username admin] < password", &af)
	fs.StringVar(&username, "username", "admin", "your account")
	host, _ := os.Hostname()
	fs.StringVar(&name, "name", "pairgate admin login on "+host, "a name for the key, shown in the console")
	fs.StringVar(&scopes, "scopes", strings.Join(allScopes, ","), "comma-separated scopes of the key; it reaches what both they and your role allow")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	c, err := af.client(env, false)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	k, err := createKey(ctx, c, env, username, name, splitComma(scopes))
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	b, _ := json.MarshalIndent(savedCredentials{Server: c.server, APIKey: k.Key}, "", "  ")
	if err := writeFileAtomic(af.profile, append(b, '\n')); err != nil {
		return apiStatus(env, cmd, err)
	}
	fmt.Fprintf(env.Stdout, "logged in to %s; API key %s (%s) saved to %s\n", c.server, k.ID, strings.Join(k.Scopes, " "), af.profile)
	return ExitOK
}

// writeFileAtomic writes a 0600 file in a 0700 directory via a temporary
// file and a rename, so that a crash leaves the old file or the new one.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".admin-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func runAPIKeysCreate(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin apikeys create"
	var af apiFlags
	var username, name, scopes string
	fs := newAPIFlagSet(env, "apikeys create", "--name NAME [--scopes read,codes:write] [--username admin] < password", &af)
	fs.StringVar(&username, "username", "admin", "the account the key acts for: yours")
	fs.StringVar(&name, "name", "", "a name for the key (required)")
	fs.StringVar(&scopes, "scopes", "read", "comma-separated scopes: read, codes:write, devices:write, printers:write, clients:write, lockouts:write")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	if name == "" {
		return apiStatus(env, cmd, usageError{errors.New("--name is required")})
	}
	c, err := af.client(env, false)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	k, err := createKey(ctx, c, env, username, name, splitComma(scopes))
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	if err := c.print(k, "ID\tNAME\tSCOPES\tKEY (shown only this once)", [][]string{{k.ID, k.Name, strings.Join(k.Scopes, " "), k.Key}}); err != nil {
		return apiStatus(env, cmd, err)
	}
	return ExitOK
}

// deleteCommand runs a `… delete ID` command.
func deleteCommand(name, what string, del func(*apiClient, context.Context, string) error) func(context.Context, Env, []string) int {
	return func(ctx context.Context, env Env, args []string) int {
		cmd := "pairgate admin " + name
		var af apiFlags
		fs := newAPIFlagSet(env, name, "ID", &af)
		id, err := oneArg(fs, env, args, what+" ID")
		if err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return ExitOK
			}
			return apiStatus(env, cmd, err)
		}
		c, err := af.client(env, true)
		if err != nil {
			return apiStatus(env, cmd, err)
		}
		if err := del(c, ctx, id); err != nil {
			return apiStatus(env, cmd, err)
		}
		fmt.Fprintf(env.Stdout, "deleted %s %s\n", what, id)
		return ExitOK
	}
}

var (
	runAPIKeysDelete = deleteCommand("apikeys delete", "API key", func(c *apiClient, ctx context.Context, id string) error { return c.DeleteAPIKey(ctx, id) })
	runCodesDelete   = deleteCommand("codes delete", "authorization code", func(c *apiClient, ctx context.Context, id string) error { return c.DeleteCode(ctx, id) })
	runDevicesDelete = deleteCommand("devices delete", "device", func(c *apiClient, ctx context.Context, id string) error { return c.DeleteDevice(ctx, id) })
	runClientsDelete = deleteCommand("clients delete", "client", func(c *apiClient, ctx context.Context, id string) error { return c.DeleteClient(ctx, id) })
)

// --- codes ---

func runCodesCreate(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin codes create"
	var af apiFlags
	var ttl, label string
	var ephemeral time.Duration
	fs := newAPIFlagSet(env, "codes create", "--ttl 30m|60m|6h|24h|48h|never [--label TEXT] [--ephemeral IDLE]", &af)
	fs.StringVar(&ttl, "ttl", "", "how long the code works: 30m, 60m, 6h, 24h, 48h or never (required)")
	fs.StringVar(&label, "label", "", "what the code is for, shown in the console (\"Lab PCs, 2nd floor\")")
	fs.DurationVar(&ephemeral, "ephemeral", 0, "make the devices it brings in ephemeral: removed when they sign out or after this long unseen (5m to 168h)")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	if ttl == "" {
		return apiStatus(env, cmd, usageError{errors.New("--ttl is required: 30m, 60m, 6h, 24h, 48h or never")})
	}
	c, err := af.client(env, true)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	if ephemeral%time.Second != 0 || ephemeral < 0 {
		return apiStatus(env, cmd, usageError{errors.New("--ephemeral is a whole number of seconds or more, e.g. 30m or 4h")})
	}
	out, err := c.CreateCode(ctx, adminapi.NewCode{TTL: ttl, Label: label, EphemeralIdleSeconds: int64(ephemeral / time.Second)})
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	if err := c.print(out, "CODE\tTIME TO LIVE\tEXPIRES\tEPHEMERAL\tLABEL\tID", [][]string{{out.Code, out.TTLLabel, fmtTime(out.ExpiresAt, "never"),
		fmtEphemeral(out.EphemeralIdleSeconds), out.Label, out.ID}}); err != nil {
		return apiStatus(env, cmd, err)
	}
	return ExitOK
}

// runCodesRevokeDevices contains a leaked code: it shows what the code
// brought in and asks before it signs it all out, unless --yes.
func runCodesRevokeDevices(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin codes revoke-devices"
	var af apiFlags
	var yes, keep bool
	fs := newAPIFlagSet(env, "codes revoke-devices", "ID [--yes] [--keep-code]", &af)
	fs.BoolVar(&yes, "yes", false, "do not ask: revoke at once (for scripts)")
	fs.BoolVar(&keep, "keep-code", false, "leave the code redeemable (by default it is deleted with its devices' authorizations)")
	id, err := oneArg(fs, env, args, "authorization code ID")
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return apiStatus(env, cmd, err)
	}
	c, err := af.client(env, true)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	if !yes {
		p, err := c.CodeDevices(ctx, id)
		if err != nil {
			return apiStatus(env, cmd, err)
		}
		fmt.Fprintln(env.Stderr, p.Summary)
		if len(p.Suspicious) > 0 {
			tw := tabwriter.NewWriter(env.Stderr, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "  NAME\tLAST IP\tAUTHORIZED FROM\tLAST SEEN\tID")
			for _, d := range p.Suspicious {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", d.Name, d.LastIP, d.AuthorizedIP, fmtTime(d.LastSeenAt, "never"), d.ID)
			}
			tw.Flush()
		}
		if p.Active == 0 && keep {
			return ExitOK
		}
		what := "Sign them all out"
		if p.Active == 0 {
			what = "Delete the code"
		} else if !keep {
			what += " and delete the code"
		}
		fmt.Fprintf(env.Stderr, "%s? Type yes to go on: ", what)
		line, _ := bufio.NewReader(env.Stdin).ReadString('\n')
		if strings.TrimSpace(line) != "yes" {
			fmt.Fprintln(env.Stderr, "Nothing changed.")
			return ExitUsage
		}
	}
	out, err := c.RevokeCodeDevices(ctx, id, adminapi.RevokeCodeDevices{KeepCode: keep})
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	deleted := "kept"
	if out.CodeDeleted {
		deleted = "deleted"
	}
	if err := c.print(out, "SIGNED OUT\tCODE", [][]string{{fmt.Sprint(out.SignedOut), deleted}}); err != nil {
		return apiStatus(env, cmd, err)
	}
	return ExitOK
}

// --- devices ---

func deviceRow(d adminapi.Device) []string {
	state := d.State
	if state == "" {
		state = "active"
	}
	key, same := "-", "-"
	if d.DPoPJKT != "" {
		key = "DPoP " + d.DPoPJKT
	}
	if d.SameHardwareAs != "" {
		same = d.SameHardwareAs
	}
	return []string{d.ID, d.Name, state, d.Mode, d.AuthorizedBy, d.HardwareID, d.ClientID, fmtTime(&d.AuthorizedAt, ""),
		fmtTime(d.LastSeenAt, "never"), d.LastIP, key, same}
}

const deviceHeader = "ID\tNAME\tSTATE\tMODE\tAUTHORIZED BY\tHARDWARE ID\tCLIENT\tAUTHORIZED\tLAST SEEN\tLAST IP\tKEY\tSAME HARDWARE ID AS"

func runDevicesList(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin devices list"
	var af apiFlags
	var q adminapi.DeviceQuery
	var all bool
	fs := newAPIFlagSet(env, "devices list", "[--search TEXT] [--state STATE] [--sort COLUMN [--desc]] [--limit N] [--after CURSOR] [--all]", &af)
	fs.StringVar(&q.Search, "search", "", "only devices whose name, hardware id, client, id or last IP contains this")
	fs.StringVar(&q.State, "state", "", "only devices in this state: active, signed_out, revoked or expired")
	fs.StringVar(&q.Sort, "sort", "", "order by a column: "+strings.Join(adminapi.DeviceSorts, ", ")+" (default: id)")
	fs.BoolVar(&q.Desc, "desc", false, "in descending order")
	fs.IntVar(&q.Limit, "limit", 100, "at most this many devices (1 to 1000)")
	fs.StringVar(&q.After, "after", "", "the page after this cursor (printed at the end of a full page; give the same --sort)")
	fs.BoolVar(&all, "all", false, "every page, to the end of the inventory")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	c, err := af.client(env, true)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	var out *adminapi.DeviceList
	if all {
		out = &adminapi.DeviceList{}
		out.Devices, err = c.AllDevices(ctx, q)
	} else {
		out, err = c.ListDevices(ctx, q)
	}
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	var rows [][]string
	for _, d := range out.Devices {
		rows = append(rows, deviceRow(d))
	}
	if err := c.print(out, deviceHeader, rows); err != nil {
		return apiStatus(env, cmd, err)
	}
	if out.Next != "" && !af.json {
		fmt.Fprintf(env.Stderr, "more devices: add --after %s (or --all)\n", out.Next)
	}
	return ExitOK
}

func runDevicesGet(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin devices get"
	var af apiFlags
	fs := newAPIFlagSet(env, "devices get", "ID", &af)
	id, err := oneArg(fs, env, args, "device ID")
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return apiStatus(env, cmd, err)
	}
	c, err := af.client(env, true)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	d, err := c.GetDevice(ctx, id)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	if err := c.print(d, deviceHeader, [][]string{deviceRow(*d)}); err != nil {
		return apiStatus(env, cmd, err)
	}
	return ExitOK
}

// --- clients ---

func splitComma(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

func runClientsCreate(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin clients create"
	var af apiFlags
	var id, name, grants, scopes string
	var public, requireDPoP bool
	var signOutDays, removeDays int
	fs := newAPIFlagSet(env, "clients create", "--id ID --name NAME [--public] [--require-dpop] --grant-types A,B --scopes A,B", &af)
	fs.StringVar(&id, "id", "", "the client_id (required)")
	fs.StringVar(&name, "name", "", "a name people see on consent pages (required)")
	fs.BoolVar(&public, "public", false, "a public client (a device app) has no secret; without it the client is confidential and gets a secret, shown once")
	fs.StringVar(&grants, "grant-types", "urn:ietf:params:oauth:grant-type:device_code,pairing_code,refresh_token,urn:pairgate:grant-type:authorization-code", "comma-separated grant types it may use")
	fs.StringVar(&scopes, "scopes", "printing", "comma-separated scopes it may ask for")
	fs.IntVar(&signOutDays, "inactive-sign-out-days", 0, "sign out its devices after this many days unseen (0: the server's policy)")
	fs.IntVar(&removeDays, "inactive-remove-days", 0, "remove them after this many more days (0: the server's policy)")
	fs.BoolVar(&requireDPoP, "require-dpop", false, "refuse the client's device authorization, pairing and token requests that carry no DPoP proof (RFC 9449): its devices must hold a key")
	policy := deviceFlowFlags(fs)
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	if id == "" || name == "" {
		return apiStatus(env, cmd, usageError{errors.New("--id and --name are required")})
	}
	c, err := af.client(env, true)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	out, err := c.CreateClient(ctx, adminapi.NewClient{ClientID: id, Name: name, Public: public,
		GrantTypes: splitComma(grants), Scopes: splitComma(scopes), RequireDPoP: requireDPoP, InactiveSignOutDays: signOutDays,
		InactiveRemoveDays: removeDays, DeviceFlowPolicy: policy.policy()})
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	secret := out.ClientSecret
	if secret == "" {
		secret = "(public client: none)"
	}
	if err := c.print(out, "CLIENT ID\tNAME\tSECRET (shown only this once)", [][]string{{out.ClientID, out.Name, secret}}); err != nil {
		return apiStatus(env, cmd, err)
	}
	return ExitOK
}

// deviceFlowSettings are the flags of a client's phishing defences.
type deviceFlowSettings struct {
	disabled bool
	networks string
	prefix   int
	prefixV6 int
}

func deviceFlowFlags(fs *flag.FlagSet) *deviceFlowSettings {
	var d deviceFlowSettings
	fs.BoolVar(&d.disabled, "device-flow-disabled", false, "turn the device flow and pairing off for this client")
	fs.StringVar(&d.networks, "device-flow-networks", "", "comma-separated addresses or CIDR prefixes from which a device authorization may start (default: anywhere)")
	fs.IntVar(&d.prefix, "approval-network-prefix", 0, "refuse approvals from an IPv4 address outside the requester's network of this many bits, e.g. 24 (0: no check)")
	fs.IntVar(&d.prefixV6, "approval-network-prefix-v6", 0, "the same for IPv6, e.g. 64 (0: 64 when --approval-network-prefix is set)")
	return &d
}

func (d *deviceFlowSettings) policy() adminapi.DeviceFlowPolicy {
	return adminapi.DeviceFlowPolicy{DeviceFlowDisabled: d.disabled, DeviceFlowNetworks: splitComma(d.networks),
		ApprovalNetworkPrefix: d.prefix, ApprovalNetworkPrefixV6: d.prefixV6}
}

// runClientsDeviceFlow replaces a client's phishing defences: what the
// flags say, the others off.
func runClientsDeviceFlow(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin clients device-flow"
	var af apiFlags
	fs := newAPIFlagSet(env, "clients device-flow", "CLIENT_ID [--device-flow-disabled] [--device-flow-networks A,B] [--approval-network-prefix N]", &af)
	d := deviceFlowFlags(fs)
	id, err := oneArg(fs, env, args, "client ID")
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return apiStatus(env, cmd, err)
	}
	c, err := af.client(env, true)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	out, err := c.SetClientDeviceFlow(ctx, id, d.policy())
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	if err := c.print(out, clientPolicyHeader, [][]string{clientPolicyRow(*out)}); err != nil {
		return apiStatus(env, cmd, err)
	}
	return ExitOK
}

const clientPolicyHeader = "CLIENT ID\tDEVICE FLOW\tSTARTS FROM\tAPPROVAL NETWORK"

func clientPolicyRow(k adminapi.OAuthClient) []string {
	flow, from, approval := "on", "anywhere", "anywhere"
	if k.DeviceFlowDisabled {
		flow = "off"
	}
	if len(k.DeviceFlowNetworks) > 0 {
		from = strings.Join(k.DeviceFlowNetworks, " ")
	}
	if k.ApprovalNetworkPrefix > 0 || k.ApprovalNetworkPrefixV6 > 0 {
		approval = fmt.Sprintf("same /%d (IPv4), /%d (IPv6)", k.ApprovalNetworkPrefix, k.ApprovalNetworkPrefixV6)
	}
	return []string{k.ClientID, flow, from, approval}
}

// --- audit ---

func runAudit(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin audit"
	var af apiFlags
	var q adminapi.AuditQuery
	var since string
	var all bool
	fs := newAPIFlagSet(env, "audit", "[--action signin.] [--actor ID] [--target ID] [--since 24h|RFC3339] [--limit N] [--all]", &af)
	fs.StringVar(&q.Action, "action", "", `an action ("device.deleted") or a prefix ending in "." ("signin.")`)
	fs.StringVar(&q.Actor, "actor", "", "only events by this user, key or client ID")
	fs.StringVar(&q.Target, "target", "", "only events about this ID")
	fs.StringVar(&since, "since", "", "only events since a duration ago (24h) or an RFC 3339 time")
	fs.IntVar(&q.Limit, "limit", 100, "at most this many events (1 to 1000)")
	fs.BoolVar(&all, "all", false, "every page, to the oldest event")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	if since != "" {
		if d, err := time.ParseDuration(since); err == nil {
			q.Since = time.Now().Add(-d)
		} else if t, err := time.Parse(time.RFC3339, since); err == nil {
			q.Since = t
		} else {
			return apiStatus(env, cmd, usageError{fmt.Errorf("--since %q: want a duration (24h) or an RFC 3339 time", since)})
		}
	}
	c, err := af.client(env, true)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	var out *adminapi.AuditList
	if all {
		out = &adminapi.AuditList{}
		out.Events, err = c.AllAuditEvents(ctx, q)
	} else {
		out, err = c.ListAuditEvents(ctx, q)
	}
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	var rows [][]string
	for _, e := range out.Events {
		who := e.ActorName
		if who == "" {
			who = e.ActorID
		}
		rows = append(rows, []string{fmtTime(&e.Time, ""), e.Action, e.ActorType + " " + who, e.Target, e.IP})
	}
	if err := c.print(out, "TIME\tACTION\tBY\tTARGET\tFROM", rows); err != nil {
		return apiStatus(env, cmd, err)
	}
	if out.Next != "" && !af.json {
		fmt.Fprintln(env.Stderr, "more events: add --all")
	}
	return ExitOK
}

func runLockoutsClear(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin lockouts clear"
	var af apiFlags
	var in adminapi.Lockout
	fs := newAPIFlagSet(env, "lockouts clear", "[--ip ADDRESS] [--username NAME]", &af)
	fs.StringVar(&in.IP, "ip", "", "the address that is locked out")
	fs.StringVar(&in.Username, "username", "", "the account that is locked out of signing in")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	if in.IP == "" && in.Username == "" {
		return apiStatus(env, cmd, usageError{errors.New("--ip or --username is required")})
	}
	c, err := af.client(env, true)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	out, err := c.ClearLockout(ctx, in)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	if af.json {
		if err := c.print(out, "", nil); err != nil {
			return apiStatus(env, cmd, err)
		}
		return ExitOK
	}
	fmt.Fprintf(env.Stdout, "cleared: %s\n", strings.Join(out.Cleared, ", "))
	return ExitOK
}

// listCommand runs a `… list` command: ask with list, print the answer as
// rows under header (or, with --json, as the API's JSON).
func listCommand[V any](name, header string, list func(*apiClient, context.Context) (V, error), rows func(V) [][]string) func(context.Context, Env, []string) int {
	return func(ctx context.Context, env Env, args []string) int {
		cmd := "pairgate admin " + name
		var af apiFlags
		fs := newAPIFlagSet(env, name, "", &af)
		if err := parseFlags(fs, env, args); err != nil {
			return flagStatus(err)
		}
		c, err := af.client(env, true)
		if err != nil {
			return apiStatus(env, cmd, err)
		}
		v, err := list(c, ctx)
		if err != nil {
			return apiStatus(env, cmd, err)
		}
		if err := c.print(v, header, rows(v)); err != nil {
			return apiStatus(env, cmd, err)
		}
		return ExitOK
	}
}

var runAPIKeysList = listCommand("apikeys list", "ID\tNAME\tSCOPES\tOWNER\tCREATED\tLAST USED",
	func(c *apiClient, ctx context.Context) (adminapi.APIKeyList, error) {
		l, err := c.ListAPIKeys(ctx)
		return adminapi.APIKeyList{Keys: l}, err
	},
	func(l adminapi.APIKeyList) (rows [][]string) {
		for _, k := range l.Keys {
			owner := k.CreatedByName
			if owner == "" {
				owner = k.CreatedBy
			}
			rows = append(rows, []string{k.ID, k.Name, strings.Join(k.Scopes, " "), owner, fmtTime(&k.CreatedAt, ""), fmtTime(k.LastUsedAt, "never")})
		}
		return rows
	})

// fmtEphemeral says how long a code's devices may stay unseen, "no" for
// a code whose devices are not ephemeral.
func fmtEphemeral(secs int64) string {
	if secs == 0 {
		return "no"
	}
	return (time.Duration(secs) * time.Second).String()
}

var runCodesList = listCommand("codes list", "CODE\tTIME TO LIVE\tEXPIRES\tDEVICES\tEPHEMERAL\tLABEL\tID",
	func(c *apiClient, ctx context.Context) (adminapi.CodeList, error) {
		l, err := c.ListCodes(ctx)
		return adminapi.CodeList{Codes: l}, err
	},
	func(l adminapi.CodeList) (rows [][]string) {
		for _, k := range l.Codes {
			rows = append(rows, []string{k.Code, k.TTLLabel, fmtTime(k.ExpiresAt, "never"), fmt.Sprint(k.Uses),
				fmtEphemeral(k.EphemeralIdleSeconds), k.Label, k.ID})
		}
		return rows
	})

var runClientsList = listCommand("clients list", clientHeader,
	func(c *apiClient, ctx context.Context) (adminapi.ClientList, error) {
		l, err := c.ListClients(ctx)
		return adminapi.ClientList{Clients: l}, err
	},
	func(l adminapi.ClientList) (rows [][]string) {
		for _, k := range l.Clients {
			rows = append(rows, clientRow(k))
		}
		return rows
	})
