package cli

import (
	"bytes"
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
)

// The `pairgate admin` commands that speak to a running server over the
// admin API (DESIGN.md section 3): the CLI is the API's first client.

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
	return []*command{
		{name: "login", summary: "make an API key with an admin's username and password, and save it for the other commands", run: runAdminLogin},
		{name: "codes", summary: "authorization codes for devices and install scripts", subs: []*command{
			{name: "create", summary: "generate a code: --ttl 30m|60m|6h|24h|48h|never", run: runCodesCreate},
			{name: "list", summary: "list the codes that have not expired", run: runCodesList},
			{name: "delete", summary: "delete a code by ID: no device can redeem it any more", run: runCodesDelete},
		}},
		{name: "devices", summary: "the device inventory", subs: []*command{
			{name: "list", summary: "list devices (--search, --limit, --after)", run: runDevicesList},
			{name: "get", summary: "show one device by ID", run: runDevicesGet},
			{name: "delete", summary: "delete a device by ID: it is revoked at once and must authorize again", run: runDevicesDelete},
		}},
		{name: "clients", summary: "OAuth clients", subs: []*command{
			{name: "create", summary: "register a client (--id, --name, --public, --grant-types, --scopes)", run: runClientsCreate},
			{name: "list", summary: "list clients", run: runClientsList},
			{name: "delete", summary: "delete a client by ID, with its devices", run: runClientsDelete},
		}},
		{name: "apikeys", summary: "admin API keys", subs: []*command{
			{name: "create", summary: "make a key with an admin's username and password (--name, --username, password on stdin)", run: runAPIKeysCreate},
			{name: "list", summary: "list keys (never the keys themselves)", run: runAPIKeysList},
			{name: "delete", summary: "revoke a key by ID", run: runAPIKeysDelete},
		}},
		{name: "lockouts", summary: "guessing limits", subs: []*command{
			{name: "clear", summary: "lift the limits that hold an address (--ip) or an account (--username)", run: runLockoutsClear},
		}},
		{name: "audit", summary: "show the audit log (--action, --actor, --target, --since, --limit)", run: runAudit},
	}
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
	fs.BoolVar(&af.json, "json", false, "print the server's JSON instead of a table")
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

// apiClient calls the admin API.
type apiClient struct {
	server string
	key    string
	http   *http.Client
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
	c := &apiClient{server: af.server, key: af.apiKey, http: &http.Client{Timeout: 30 * time.Second}, out: env.Stdout, asJSON: af.json}
	if c.server == "" {
		c.server = saved.Server
	}
	if c.server == "" {
		c.server = "http://localhost:8080"
	}
	if c.key == "" && (af.server == "" || af.server == saved.Server) {
		c.key = saved.APIKey
	}
	c.server = strings.TrimRight(c.server, "/")
	if u, err := url.Parse(c.server); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError{fmt.Errorf("--server %q: want an http(s) URL", c.server)}
	}
	if needKey && c.key == "" {
		return nil, notAuthorized{errors.New("no API key: run 'pairgate admin login', or pass --api-key / PAIRGATE_API_KEY")}
	}
	return c, nil
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
	switch {
	case errors.As(err, &u):
		return ExitUsage
	case errors.As(err, &n):
		return ExitNotAuthorized
	case errors.As(err, &un):
		return ExitUnavailable
	default:
		return ExitFailure
	}
}

// do sends a request and decodes a JSON answer into out (if not nil). The
// raw answer is returned for --json.
func (c *apiClient) do(ctx context.Context, method, path string, body any, out any, header ...string) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, rd)
	if err != nil {
		return nil, usageError{err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, unavailable{fmt.Errorf("cannot reach %s: %v", c.server, err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, unavailable{fmt.Errorf("reading the answer of %s: %v", c.server, err)}
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		msg := strings.TrimSpace(string(raw))
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			msg = e.Error.Message
		}
		err := fmt.Errorf("%s (HTTP %d)", msg, resp.StatusCode)
		switch {
		case resp.StatusCode == http.StatusUnauthorized:
			return nil, notAuthorized{err}
		case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			return nil, unavailable{err}
		}
		return nil, err
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("%s answered something that is not the admin API: %v", c.server, err)
		}
	}
	return raw, nil
}

// print writes raw JSON with --json, else a table.
func (c *apiClient) print(raw []byte, header string, rows [][]string) error {
	if c.asJSON {
		var buf bytes.Buffer
		if json.Indent(&buf, raw, "", "  ") != nil {
			buf.Write(raw)
		}
		buf.WriteByte('\n')
		_, err := c.out.Write(buf.Bytes())
		return err
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

func createKey(ctx context.Context, c *apiClient, env Env, username, name string) (map[string]any, []byte, error) {
	password, err := readSecretLine(env.Stdin, "password")
	if err != nil {
		return nil, nil, err
	}
	c.key = ""
	var out map[string]any
	raw, err := c.do(ctx, "POST", "/api/v1/api-keys", map[string]string{"name": name}, &out,
		"Authorization", "Basic "+basicValue(username, password))
	return out, raw, err
}

func basicValue(user, pass string) string {
	req, _ := http.NewRequest("GET", "http://x", nil)
	req.SetBasicAuth(user, pass)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

func runAdminLogin(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin login"
	var af apiFlags
	var username, name string
	fs := newAPIFlagSet(env, "login", "--server URL [--username admin] < password", &af)
	fs.StringVar(&username, "username", "admin", "the admin account")
	host, _ := os.Hostname()
	fs.StringVar(&name, "name", "pairgate admin login on "+host, "a name for the key, shown in the console")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	c, err := af.client(env, false)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	out, _, err := createKey(ctx, c, env, username, name)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	key, _ := out["key"].(string)
	b, _ := json.MarshalIndent(savedCredentials{Server: c.server, APIKey: key}, "", "  ")
	if err := writeFileAtomic(af.profile, append(b, '\n')); err != nil {
		return apiStatus(env, cmd, err)
	}
	fmt.Fprintf(env.Stdout, "logged in to %s; API key %s saved to %s\n", c.server, out["id"], af.profile)
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
	var username, name string
	fs := newAPIFlagSet(env, "apikeys create", "--name NAME [--username admin] < password", &af)
	fs.StringVar(&username, "username", "admin", "the admin account the key acts for")
	fs.StringVar(&name, "name", "", "a name for the key (required)")
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
	out, raw, err := createKey(ctx, c, env, username, name)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	if err := c.print(raw, "ID\tNAME\tKEY (shown only this once)", [][]string{{fmt.Sprint(out["id"]), fmt.Sprint(out["name"]), fmt.Sprint(out["key"])}}); err != nil {
		return apiStatus(env, cmd, err)
	}
	return ExitOK
}

func runAPIKeysDelete(ctx context.Context, env Env, args []string) int {
	return deleteByID(ctx, env, args, "apikeys delete", "/api/v1/api-keys/", "API key")
}

// deleteByID runs a `… delete ID` command.
func deleteByID(ctx context.Context, env Env, args []string, name, path, what string) int {
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
	if _, err := c.do(ctx, "DELETE", path+url.PathEscape(id), nil, nil); err != nil {
		return apiStatus(env, cmd, err)
	}
	fmt.Fprintf(env.Stdout, "deleted %s %s\n", what, id)
	return ExitOK
}

// --- codes ---

type codeOut struct {
	ID        string     `json:"id"`
	Code      string     `json:"code"`
	TTL       string     `json:"ttl"`
	TTLLabel  string     `json:"ttl_label"`
	ExpiresAt *time.Time `json:"expires_at"`
	Uses      int        `json:"uses"`
}

func runCodesCreate(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin codes create"
	var af apiFlags
	var ttl string
	fs := newAPIFlagSet(env, "codes create", "--ttl 30m|60m|6h|24h|48h|never", &af)
	fs.StringVar(&ttl, "ttl", "", "how long the code works: 30m, 60m, 6h, 24h, 48h or never (required)")
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
	var out codeOut
	raw, err := c.do(ctx, "POST", "/api/v1/authorization-codes", map[string]string{"ttl": ttl}, &out)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	if err := c.print(raw, "CODE\tTIME TO LIVE\tEXPIRES\tID", [][]string{{out.Code, out.TTLLabel, fmtTime(out.ExpiresAt, "never"), out.ID}}); err != nil {
		return apiStatus(env, cmd, err)
	}
	return ExitOK
}

func runCodesDelete(ctx context.Context, env Env, args []string) int {
	return deleteByID(ctx, env, args, "codes delete", "/api/v1/authorization-codes/", "authorization code")
}

// --- devices ---

type deviceOut struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	ClientID     string     `json:"client_id"`
	Mode         string     `json:"mode"`
	HardwareID   string     `json:"hardware_id"`
	AuthorizedBy string     `json:"authorized_by"`
	CodeID       string     `json:"authorization_code_id"`
	ApprovedBy   string     `json:"approved_by"`
	Scopes       []string   `json:"scopes"`
	AuthorizedAt *time.Time `json:"authorized_at"`
	LastSeenAt   *time.Time `json:"last_seen_at"`
	LastIP       string     `json:"last_ip"`
}

func (d deviceOut) row() []string {
	return []string{d.ID, d.Name, d.Mode, d.AuthorizedBy, d.HardwareID, d.ClientID, fmtTime(d.AuthorizedAt, ""), fmtTime(d.LastSeenAt, "never"), d.LastIP}
}

const deviceHeader = "ID\tNAME\tMODE\tAUTHORIZED BY\tHARDWARE ID\tCLIENT\tAUTHORIZED\tLAST SEEN\tLAST IP"

func runDevicesList(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin devices list"
	var af apiFlags
	var search, after string
	var limit int
	fs := newAPIFlagSet(env, "devices list", "[--search TEXT] [--limit N] [--after ID]", &af)
	fs.StringVar(&search, "search", "", "only devices whose name, hardware id, client, id or last IP contains this")
	fs.IntVar(&limit, "limit", 100, "at most this many devices (1 to 1000)")
	fs.StringVar(&after, "after", "", "the page after this device ID (printed at the end of a full page)")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	c, err := af.client(env, true)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	q := url.Values{"limit": {fmt.Sprint(limit)}}
	if search != "" {
		q.Set("q", search)
	}
	if after != "" {
		q.Set("after", after)
	}
	var out struct {
		Devices []deviceOut `json:"devices"`
		Next    string      `json:"next"`
	}
	raw, err := c.do(ctx, "GET", "/api/v1/devices?"+q.Encode(), nil, &out)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	var rows [][]string
	for _, d := range out.Devices {
		rows = append(rows, d.row())
	}
	if err := c.print(raw, deviceHeader, rows); err != nil {
		return apiStatus(env, cmd, err)
	}
	if out.Next != "" && !af.json {
		fmt.Fprintf(env.Stderr, "more devices: add --after %s\n", out.Next)
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
	var d deviceOut
	raw, err := c.do(ctx, "GET", "/api/v1/devices/"+url.PathEscape(id), nil, &d)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	if err := c.print(raw, deviceHeader, [][]string{d.row()}); err != nil {
		return apiStatus(env, cmd, err)
	}
	return ExitOK
}

func runDevicesDelete(ctx context.Context, env Env, args []string) int {
	return deleteByID(ctx, env, args, "devices delete", "/api/v1/devices/", "device")
}

// --- clients ---

type clientOut struct {
	ClientID     string   `json:"client_id"`
	Name         string   `json:"name"`
	Public       bool     `json:"public"`
	GrantTypes   []string `json:"grant_types"`
	Scopes       []string `json:"scopes"`
	ClientSecret string   `json:"client_secret"`
}

func splitComma(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		out = append(out, f)
	}
	return out
}

func runClientsCreate(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin clients create"
	var af apiFlags
	var id, name, grants, scopes string
	var public bool
	fs := newAPIFlagSet(env, "clients create", "--id ID --name NAME [--public] --grant-types A,B --scopes A,B", &af)
	fs.StringVar(&id, "id", "", "the client_id (required)")
	fs.StringVar(&name, "name", "", "a name people see on consent pages (required)")
	fs.BoolVar(&public, "public", false, "a public client (a device app) has no secret; without it the client is confidential and gets a secret, shown once")
	fs.StringVar(&grants, "grant-types", "urn:ietf:params:oauth:grant-type:device_code,pairing_code,refresh_token,urn:pairgate:grant-type:authorization-code", "comma-separated grant types it may use")
	fs.StringVar(&scopes, "scopes", "printing", "comma-separated scopes it may ask for")
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
	var out clientOut
	raw, err := c.do(ctx, "POST", "/api/v1/clients", map[string]any{"client_id": id, "name": name, "public": public,
		"grant_types": splitComma(grants), "scopes": splitComma(scopes)}, &out)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	secret := out.ClientSecret
	if secret == "" {
		secret = "(public client: none)"
	}
	if err := c.print(raw, "CLIENT ID\tNAME\tSECRET (shown only this once)", [][]string{{out.ClientID, out.Name, secret}}); err != nil {
		return apiStatus(env, cmd, err)
	}
	return ExitOK
}

func runClientsDelete(ctx context.Context, env Env, args []string) int {
	return deleteByID(ctx, env, args, "clients delete", "/api/v1/clients/", "client")
}

// --- audit ---

func runAudit(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin audit"
	var af apiFlags
	var action, actor, target, since string
	var limit int
	fs := newAPIFlagSet(env, "audit", "[--action signin.] [--actor ID] [--target ID] [--since 24h|RFC3339] [--limit N]", &af)
	fs.StringVar(&action, "action", "", `an action ("device.deleted") or a prefix ending in "." ("signin.")`)
	fs.StringVar(&actor, "actor", "", "only events by this user, key or client ID")
	fs.StringVar(&target, "target", "", "only events about this ID")
	fs.StringVar(&since, "since", "", "only events since a duration ago (24h) or an RFC 3339 time")
	fs.IntVar(&limit, "limit", 100, "at most this many events (1 to 1000)")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	q := url.Values{"limit": {fmt.Sprint(limit)}}
	for k, v := range map[string]string{"action": action, "actor": actor, "target": target} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if since != "" {
		if d, err := time.ParseDuration(since); err == nil {
			q.Set("since", time.Now().Add(-d).UTC().Format(time.RFC3339))
		} else {
			q.Set("since", since)
		}
	}
	c, err := af.client(env, true)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	var out struct {
		Events []struct {
			Time      time.Time `json:"time"`
			Action    string    `json:"action"`
			ActorType string    `json:"actor_type"`
			ActorID   string    `json:"actor_id"`
			ActorName string    `json:"actor_name"`
			Target    string    `json:"target"`
			IP        string    `json:"ip"`
		} `json:"audit_events"`
	}
	raw, err := c.do(ctx, "GET", "/api/v1/audit-events?"+q.Encode(), nil, &out)
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
	if err := c.print(raw, "TIME\tACTION\tBY\tTARGET\tFROM", rows); err != nil {
		return apiStatus(env, cmd, err)
	}
	return ExitOK
}

func runLockoutsClear(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin lockouts clear"
	var af apiFlags
	var ip, username string
	fs := newAPIFlagSet(env, "lockouts clear", "[--ip ADDRESS] [--username NAME]", &af)
	fs.StringVar(&ip, "ip", "", "the address that is locked out")
	fs.StringVar(&username, "username", "", "the account that is locked out of signing in")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	if ip == "" && username == "" {
		return apiStatus(env, cmd, usageError{errors.New("--ip or --username is required")})
	}
	c, err := af.client(env, true)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	var out struct {
		Cleared []string `json:"cleared"`
	}
	raw, err := c.do(ctx, "POST", "/api/v1/lockouts/clear", map[string]string{"ip": ip, "username": username}, &out)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	if af.json {
		if err := c.print(raw, "", nil); err != nil {
			return apiStatus(env, cmd, err)
		}
		return ExitOK
	}
	fmt.Fprintf(env.Stdout, "cleared: %s\n", strings.Join(out.Cleared, ", "))
	return ExitOK
}

// listCommand runs a `… list` command: GET path, decode the answer into T,
// print it as rows under header (or as JSON).
func listCommand[T any](name, path, header string, rows func(T) [][]string) func(context.Context, Env, []string) int {
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
		var out T
		raw, err := c.do(ctx, "GET", path, nil, &out)
		if err != nil {
			return apiStatus(env, cmd, err)
		}
		if err := c.print(raw, header, rows(out)); err != nil {
			return apiStatus(env, cmd, err)
		}
		return ExitOK
	}
}

var runAPIKeysList = listCommand("apikeys list", "/api/v1/api-keys", "ID\tNAME\tCREATED\tLAST USED",
	func(out struct {
		Keys []struct {
			ID         string     `json:"id"`
			Name       string     `json:"name"`
			CreatedAt  time.Time  `json:"created_at"`
			LastUsedAt *time.Time `json:"last_used_at"`
		} `json:"api_keys"`
	}) (rows [][]string) {
		for _, k := range out.Keys {
			rows = append(rows, []string{k.ID, k.Name, fmtTime(&k.CreatedAt, ""), fmtTime(k.LastUsedAt, "never")})
		}
		return rows
	})

var runCodesList = listCommand("codes list", "/api/v1/authorization-codes", "CODE\tTIME TO LIVE\tEXPIRES\tDEVICES\tID",
	func(out struct {
		Codes []codeOut `json:"authorization_codes"`
	}) (rows [][]string) {
		for _, k := range out.Codes {
			rows = append(rows, []string{k.Code, k.TTLLabel, fmtTime(k.ExpiresAt, "never"), fmt.Sprint(k.Uses), k.ID})
		}
		return rows
	})

var runClientsList = listCommand("clients list", "/api/v1/clients", "CLIENT ID\tNAME\tTYPE\tSCOPES\tGRANT TYPES",
	func(out struct {
		Clients []clientOut `json:"clients"`
	}) (rows [][]string) {
		for _, k := range out.Clients {
			kind := "confidential"
			if k.Public {
				kind = "public"
			}
			rows = append(rows, []string{k.ClientID, k.Name, kind, strings.Join(k.Scopes, " "), strings.Join(k.GrantTypes, " ")})
		}
		return rows
	})
