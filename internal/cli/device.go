package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/pairgate/pairgate/client"
)

// Exit statuses of `pairgate device`, for install scripts and supervisors.
// They are a contract: scripts branch on them.
const (
	// ExitCodeRefused: the authorization code is wrong, expired or
	// deleted; or the person denied the pairing, or its code expired.
	ExitCodeRefused = 3
	// ExitUnavailable: the server could not be reached, failed, or asked
	// to retry later. Nothing changed; try again later.
	ExitUnavailable = 4
	// ExitNotAuthorized: the device is not authorized: it never was (no
	// credentials), or the server no longer accepts its credentials (the
	// device was deleted, its authorization revoked, or its refresh token
	// was rotated out more than the grace window ago). Authorize again.
	ExitNotAuthorized = 5
	// ExitInterrupted: stopped by Ctrl-C (SIGINT) or SIGTERM; nothing was
	// saved.
	ExitInterrupted = 130
)

const deviceExitHelp = `
Exit status:
  0    success
  1    any other failure (for example a credentials file others can read)
  2    bad usage, or the server refused the request's parameters or client
  3    code wrong, expired or deleted; pairing denied or expired
  4    server unreachable or unavailable: nothing changed, try again later
  5    not authorized: no credentials, or the server no longer accepts them
       (device deleted, authorization revoked); authorize the device again
  130  interrupted (Ctrl-C); nothing was saved
`

func deviceCommands() []*command {
	return []*command{
		{name: "pair", summary: "authorize this device with a person's approval (RFC 8628, or --pairing), showing a QR code", run: runDevicePair},
		{name: "authorize", summary: "authorize this device with an administrator's authorization code, without a person (install scripts)", run: runDeviceAuthorize},
		{name: "token", summary: "print a valid access token, refreshing it first when it is near expiry", run: runDeviceToken},
		{name: "status", summary: "show the stored authorization and whether the server still accepts it", run: runDeviceStatus},
		{name: "printers", summary: "list the printers deployed to this device, or print the lpadmin or PowerShell commands that install them", run: runDevicePrinters},
		{name: "print", summary: "send a document to the held queue: it waits until its owner releases it in the Release Portal", run: runDevicePrint},
		{name: "install-cups-backend", summary: "install the pairgate CUPS backend (and a queue) that sends every job to the held queue", run: runDeviceInstallCUPSBackend},
		{name: "logout", summary: "revoke the authorization at the server and delete the credentials file", run: runDeviceLogout},
	}
}

// deviceFlags are the flags every device command has.
type deviceFlags struct {
	tokenFile string
}

func newDeviceFlagSet(env Env, name, synopsis, about string, df *deviceFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("pairgate device "+name, flag.ContinueOnError)
	def := defaultTokenFile(env)
	fs.StringVar(&df.tokenFile, "token-file", def, "the credentials file (created 0600; refused if others can read it)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: pairgate device %s %s\n\n%s\n\nFlags (each also PAIRGATE_<FLAG>, e.g. PAIRGATE_TOKEN_FILE):\n", name, synopsis, about)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), deviceExitHelp)
	}
	return fs
}

// defaultTokenFile is pairgate/device.json in the user's configuration
// directory, found the way os.UserConfigDir does, but through env so that
// tests can move it.
func defaultTokenFile(env Env) string {
	var dir string
	switch runtime.GOOS {
	case "windows":
		dir = env.Getenv("AppData")
	case "darwin", "ios":
		if h := env.Getenv("HOME"); h != "" {
			dir = filepath.Join(h, "Library", "Application Support")
		}
	default:
		dir = env.Getenv("XDG_CONFIG_HOME")
		if dir == "" || !filepath.IsAbs(dir) {
			if h := env.Getenv("HOME"); h != "" {
				dir = filepath.Join(h, ".config")
			}
		}
	}
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, "pairgate", "device.json")
}

func (df *deviceFlags) store(env Env) (*client.FileStore, bool) {
	if df.tokenFile == "" {
		fmt.Fprintln(env.Stderr, "no configuration directory (HOME is not set): give --token-file")
		return nil, false
	}
	return &client.FileStore{Path: df.tokenFile}, true
}

// deviceExit turns the outcome of a device command into its exit status,
// telling the person or script what happened on stderr.
func deviceExit(env Env, what string, err error) int {
	if err == nil {
		return ExitOK
	}
	status := ExitFailure
	hint := ""
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(env.Stderr, "%s: stopped; nothing was saved\n", what)
		return ExitInterrupted
	case errors.Is(err, client.ErrInvalidCode), errors.Is(err, client.ErrDenied), errors.Is(err, client.ErrExpired):
		status = ExitCodeRefused
	case errors.Is(err, client.ErrUnavailable):
		status, hint = ExitUnavailable, "nothing changed; try again later"
		if d := client.RetryAfter(err); d > 0 {
			hint = fmt.Sprintf("nothing changed; the server asks to wait: try again in %v", d.Round(100*time.Millisecond))
		}
	case errors.Is(err, client.ErrNoCredentials):
		status, hint = ExitNotAuthorized, "authorize this device first: pairgate device pair or pairgate device authorize"
	case errors.Is(err, client.ErrNotAuthorized):
		status, hint = ExitNotAuthorized, "authorize this device again: pairgate device pair or pairgate device authorize"
	case errors.Is(err, client.ErrRejected):
		status = ExitUsage
	}
	fmt.Fprintf(env.Stderr, "%s: %v\n", what, err)
	if hint != "" {
		fmt.Fprintf(env.Stderr, "%s\n", hint)
	}
	return status
}

// authFlags are what pair and authorize share.
type authFlags struct {
	deviceFlags
	server     string
	clientID   string
	scope      string
	hardwareID string
	name       string
	keyAlg     string
}

func (af *authFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&af.server, "server", "", "the pairgate server's URL, its issuer (required)")
	fs.StringVar(&af.clientID, "client-id", client.DefaultClientID, "the OAuth client")
	fs.StringVar(&af.scope, "scope", "", "space-separated scopes to ask for (default: the client's)")
	fs.StringVar(&af.hardwareID, "hardware-id", "", "what the inventory shows as this device's hardware (default, in device mode: derived from the machine id on Linux, macOS and Windows, never the raw id; --hardware-id= for none). A claim: the device's key, kept in the credentials file, is what makes authorizing again update its entry")
	fs.StringVar(&af.keyAlg, "key-alg", client.KeyES256, "algorithm of the device key made at first authorization (DPoP, RFC 9449): ES256 or EdDSA")
}

// hardwareIDSet reports whether --hardware-id was given, on the command
// line or in the environment.
func hardwareIDSet(fs *flag.FlagSet, env Env) bool {
	set := env.Getenv("PAIRGATE_HARDWARE_ID") != ""
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "hardware-id" {
			set = true
		}
	})
	return set
}

// resolveHardwareID fills in the default hardware id when none was given.
func (af *authFlags) resolveHardwareID(fs *flag.FlagSet, env Env) {
	if hardwareIDSet(fs, env) {
		return
	}
	id, err := client.MachineHardwareID(af.clientID)
	if err != nil {
		fmt.Fprintf(env.Stderr, "note: %v; the inventory will show no hardware id for this device\n", err)
		return
	}
	af.hardwareID = id
}

// client returns the client to authorize with. When the credentials file
// already holds this device's key for the same server and client, the
// authorization proves it: the server then updates the device instead of
// adding another (docs/design.md 2.1).
func (af *authFlags) client(ctx context.Context, store *client.FileStore) (*client.Client, error) {
	cfg := client.Config{Server: af.server, ClientID: af.clientID, Scopes: strings.Fields(af.scope), KeyAlgorithm: af.keyAlg}
	if old, err := store.Load(ctx); err == nil && old.Key != nil && old.ClientID == af.clientID &&
		strings.TrimRight(old.Issuer, "/") == strings.TrimRight(af.server, "/") {
		cfg.Key = old.Key
	}
	return client.New(ctx, cfg)
}

// save stores new credentials under the file's lock, so that a `token`
// running at the same time reads either the old file or the new one.
func save(ctx context.Context, fs *client.FileStore, c *client.Credentials) error {
	unlock, err := fs.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	return fs.Save(ctx, c)
}

func runDevicePair(ctx context.Context, env Env, args []string) int {
	var af authFlags
	var mode, qrMode string
	var pairing bool
	fs := newDeviceFlagSet(env, "pair", "--server URL [flags]",
		"Authorizes this device with the approval of a person: prints a URL, a code and a QR code\n"+
			"of the URL, and waits (polling at the server's interval) until someone approves or denies\n"+
			"on a phone or laptop, the code expires, or Ctrl-C. Then saves the credentials.", &af.deviceFlags)
	af.define(fs)
	fs.StringVar(&mode, "mode", "device", "device: the token speaks for this device; user: for the person who approves")
	fs.StringVar(&af.name, "name", "", "the device's name in the inventory (default: the host name)")
	fs.BoolVar(&pairing, "pairing", false, "use the pairing dialect (/oauth/pair/, one 10-character code) instead of RFC 8628")
	fs.StringVar(&qrMode, "qr", "auto", "QR code: auto (coloured on a terminal), plain, ansi or off")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	var errs []string
	if af.server == "" {
		errs = append(errs, "--server is required")
	}
	if mode != "device" && mode != "user" {
		errs = append(errs, fmt.Sprintf("--mode %q: want device or user", mode))
	}
	if qrMode != "auto" && qrMode != "plain" && qrMode != "ansi" && qrMode != "off" {
		errs = append(errs, fmt.Sprintf("--qr %q: want auto, plain, ansi or off", qrMode))
	}
	if len(errs) > 0 {
		fmt.Fprintln(env.Stderr, "pairgate device pair: "+strings.Join(errs, "; "))
		return ExitUsage
	}
	store, ok := af.store(env)
	if !ok {
		return ExitUsage
	}
	if af.name == "" {
		af.name, _ = os.Hostname()
	}
	// The pairing dialect binds a hardware id only in device mode, and a
	// user-mode token is the person's: only device mode gets the default.
	if mode == "device" {
		af.resolveHardwareID(fs, env)
	}
	c, err := af.client(ctx, store)
	if err != nil {
		return deviceExit(env, "pairgate device pair", err)
	}
	ansi := qrMode == "ansi" || (qrMode == "auto" && isTerminal(env.Stdout))
	creds, err := c.Pair(ctx, client.PairOptions{Mode: mode, HardwareID: af.hardwareID, DeviceName: af.name, Pairing: pairing,
		Show: func(p client.Prompt) error { return showPrompt(env.Stdout, p, pairing, qrMode != "off", ansi) }})
	if err != nil {
		return deviceExit(env, "pairgate device pair", err)
	}
	if err := save(ctx, store, creds); err != nil {
		return deviceExit(env, "pairgate device pair", err)
	}
	fmt.Fprintf(env.Stdout, "\nAuthorized: device %s (%s), scope %q.\nCredentials saved in %s\n", creds.DeviceID, creds.DeviceName, creds.Scope, store.Path)
	return ExitOK
}

func showPrompt(w io.Writer, p client.Prompt, pairing, qr, ansi bool) error {
	what := "code"
	if pairing {
		what = "pairing code"
	}
	fmt.Fprintf(w, "To authorize this device, open\n\n    %s\n\nand enter the %s\n\n    Code: %s\n\n", p.VerificationURI, what, p.UserCode)
	if qr && p.VerificationURIComplete != "" {
		fmt.Fprintf(w, "or scan this QR code:\n\n")
		if err := writeQR(w, p.VerificationURIComplete, ansi); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	until := ""
	if !p.ExpiresAt.IsZero() {
		until = " (the code expires at " + p.ExpiresAt.Local().Format("15:04:05") + ")"
	}
	_, err := fmt.Fprintf(w, "Waiting for approval%s. Press Ctrl-C to stop.\n", until)
	return err
}

// isTerminal reports whether w is a character device, where ANSI colours
// are understood.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func runDeviceAuthorize(ctx context.Context, env Env, args []string) int {
	var af authFlags
	var code string
	fs := newDeviceFlagSet(env, "authorize", "--server URL --code CODE --name NAME [flags]",
		"Authorizes this device with an authorization code an administrator generated, without\n"+
			"anyone at the device: for install scripts. Give the code in PAIRGATE_CODE rather than\n"+
			"--code to keep it out of the process list. Saves the credentials.", &af.deviceFlags)
	af.define(fs)
	fs.StringVar(&code, "code", "", "the authorization code, as XXXX-XXXX-XXXX-XXXX (case and dashes do not matter) (required)")
	fs.StringVar(&af.name, "name", "", "the device's name in the inventory (required)")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"--server", af.server}, {"--code", code}, {"--name", af.name}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(env.Stderr, "pairgate device authorize: %s required\n", strings.Join(missing, ", "))
		return ExitUsage
	}
	store, ok := af.store(env)
	if !ok {
		return ExitUsage
	}
	af.resolveHardwareID(fs, env)
	c, err := af.client(ctx, store)
	if err != nil {
		return deviceExit(env, "pairgate device authorize", err)
	}
	creds, err := c.Authorize(ctx, code, client.AuthorizeOptions{DeviceName: af.name, HardwareID: af.hardwareID})
	if err != nil {
		return deviceExit(env, "pairgate device authorize", err)
	}
	if err := save(ctx, store, creds); err != nil {
		return deviceExit(env, "pairgate device authorize", err)
	}
	fmt.Fprintf(env.Stdout, "Authorized: device %s (%s), scope %q. Credentials saved in %s\n", creds.DeviceID, creds.DeviceName, creds.Scope, store.Path)
	return ExitOK
}

func runDeviceToken(ctx context.Context, env Env, args []string) int {
	var df deviceFlags
	var minValid, wait time.Duration
	fs := newDeviceFlagSet(env, "token", "[flags]",
		"Prints a valid access token. Until its refresh point (a point between 70% and 90% of\n"+
			"its lifetime, its own, so that a fleet does not refresh all at once) and while it has\n"+
			"more than --min-valid left, it is printed without asking the server; otherwise it is\n"+
			"refreshed first, and the rotated refresh token saved (atomically, under a lock that\n"+
			"other `token` processes wait for) before the new access token is printed. A deleted\n"+
			"device is noticed at that refresh. When the server is unavailable a token that still\n"+
			"works is printed; with none left, --wait waits for the server's Retry-After (or a\n"+
			"back-off with jitter) and tries again, for up to that long, before exit status 4.", &df)
	fs.DurationVar(&minValid, "min-valid", client.DefaultMinValidity, "refresh first when the access token is valid for less than this")
	fs.DurationVar(&wait, "wait", 0, "when the server is unavailable and no valid token is left, keep trying (as its Retry-After says, or backing off) for up to this long (0: fail at once)")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	store, ok := df.store(env)
	if !ok {
		return ExitUsage
	}
	if wait < 0 {
		fmt.Fprintln(env.Stderr, "pairgate device token: --wait must not be negative")
		return ExitUsage
	}
	ts := &client.TokenSource{Store: store, MinValidity: minValid, MaxWait: wait}
	c, err := ts.Credentials(ctx)
	if err != nil {
		return deviceExit(env, "pairgate device token", err)
	}
	fmt.Fprintln(env.Stdout, c.AccessToken)
	return ExitOK
}

func runDeviceStatus(ctx context.Context, env Env, args []string) int {
	var df deviceFlags
	fs := newDeviceFlagSet(env, "status", "[flags]",
		"Shows the stored authorization and asks the server whether it still accepts it\n"+
			"(refreshing the access token first if it is near expiry).", &df)
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	store, ok := df.store(env)
	if !ok {
		return ExitUsage
	}
	stored, err := store.Load(ctx)
	if err != nil {
		return deviceExit(env, "pairgate device status", err)
	}
	w := env.Stdout
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-14s %s\n", k+":", v)
		}
	}
	row("server", stored.Issuer)
	row("client", stored.ClientID)
	row("device", strings.TrimSpace(stored.DeviceID+" "+paren(stored.DeviceName)))
	row("hardware id", stored.HardwareID)
	row("mode", stored.Mode)
	row("authorized", stored.AuthorizedAt.Local().Format(time.RFC3339)+" by "+stored.Method)
	row("scope", stored.Scope)
	if stored.Key != nil {
		row("key", "key-bound (DPoP, "+stored.Key.Algorithm()+"), thumbprint "+stored.Key.Thumbprint())
	} else {
		row("key", "none: Bearer tokens (authorize again to bind this device to a key)")
	}
	row("file", store.Path)
	c, err := (&client.TokenSource{Store: store}).Credentials(ctx)
	if err == nil {
		row("access token", "valid until "+c.Expiry.Local().Format(time.RFC3339))
		var info *client.DeviceInfo
		if info, err = client.Whoami(ctx, nil, c); err == nil {
			row("server check", "authorized: the server knows device "+info.DeviceID+" "+paren(info.Name))
			return ExitOK
		}
	}
	switch {
	case errors.Is(err, client.ErrNotAuthorized):
		row("server check", "NOT AUTHORIZED: the server no longer accepts this device's credentials")
	case errors.Is(err, client.ErrUnavailable):
		row("server check", "unknown: the server cannot be reached")
	}
	return deviceExit(env, "pairgate device status", err)
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func runDeviceLogout(ctx context.Context, env Env, args []string) int {
	var df deviceFlags
	var force bool
	fs := newDeviceFlagSet(env, "logout", "[flags]",
		"Revokes this device's authorization at the server (its refresh token, and with it the\n"+
			"whole authorization; and its access token) and deletes the credentials file. When the\n"+
			"server cannot be reached the file is kept, so that logout can be retried, unless --force.", &df)
	fs.BoolVar(&force, "force", false, "delete the credentials file even if the server cannot be reached")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	store, ok := df.store(env)
	if !ok {
		return ExitUsage
	}
	// Under the lock, so that no `token` rotates the refresh token between
	// reading it here and revoking it.
	unlock, err := store.Lock(ctx)
	if err != nil {
		return deviceExit(env, "pairgate device logout", err)
	}
	defer unlock()
	c, err := store.Load(ctx)
	if errors.Is(err, client.ErrNoCredentials) {
		fmt.Fprintln(env.Stdout, "Not logged in: there are no credentials to revoke.")
		return ExitOK
	}
	if err != nil {
		return deviceExit(env, "pairgate device logout", err)
	}
	revoked := "the authorization was revoked and"
	if err := client.Revoke(ctx, nil, c); err != nil {
		if !force || errors.Is(err, context.Canceled) {
			if errors.Is(err, client.ErrUnavailable) {
				fmt.Fprintln(env.Stderr, "the credentials file was kept; retry, or use --force to delete it anyway")
			}
			return deviceExit(env, "pairgate device logout", err)
		}
		fmt.Fprintf(env.Stderr, "pairgate device logout: %v; deleting the credentials anyway (--force)\n", err)
		revoked = "the authorization was NOT revoked (it stays valid at the server until an administrator deletes the device);"
	}
	if err := store.Remove(); err != nil {
		return deviceExit(env, "pairgate device logout", err)
	}
	fmt.Fprintf(env.Stdout, "Logged out: %s %s deleted.\n", revoked, store.Path)
	return ExitOK
}
