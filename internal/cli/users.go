package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/adminapi"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/secret"
)

func usersCommand() *command {
	return &command{name: "users", summary: "manage local accounts, on this host's store or with --server over the admin API", subs: []*command{
		{name: "create", summary: "create an account (--username, --role admin|user)", run: runUsersCreate},
		{name: "list", summary: "list the accounts", run: runUsersList},
		{name: "delete", summary: "delete an account; its sessions end and the user-mode devices it approved lose access", run: runUsersDelete},
		{name: "set-password", summary: "set an account's password; it is signed out everywhere", run: runUsersSetPassword},
		{name: "set-role", summary: "change an account's role (--role); it is signed out everywhere", run: runUsersSetRole},
	}}
}

// hostStoreFlags are the flags every `admin users` command has: which
// store to work on.
type hostStoreFlags struct {
	cfg app.Config
}

func (h *hostStoreFlags) register(fs *flag.FlagSet) {
	h.cfg = app.Default()
	h.cfg.StoreFlags(fs)
}

// open opens the store of a server that has been started at least once,
// with the admin service on it, so that the host commands keep the same
// rules (and leave the same audit events) as the console and the admin
// API.
func (h *hostStoreFlags) open(ctx context.Context, env Env) (*app.Host, error) {
	h.cfg.MasterKey = env.Getenv("PAIRGATE_MASTER_KEY")
	return app.OpenHost(ctx, h.cfg, app.Options{})
}

// readPassword reads one line from stdin: the password, without its line
// ending.
func readPassword(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", errors.New("--password-stdin: no password on standard input")
	}
	p := strings.TrimRight(line, "\r\n")
	if err := secret.CheckNewPassword(p); err != nil {
		return "", fmt.Errorf("--password-stdin: %v", err)
	}
	return p, nil
}

// passwordFor returns the password to set: from stdin, or a new random one
// that the caller prints.
func passwordFor(stdin *bufio.Reader, fromStdin bool) (password string, generated bool, err error) {
	if fromStdin {
		p, err := readPassword(stdin)
		return p, false, err
	}
	return secret.Password(), true, nil
}

func usernameFlag(name string) (string, error) {
	if name == "" {
		return "", errors.New("--username is required")
	}
	u, ok := pairgate.NormalizeUsername(name)
	if !ok {
		return "", fmt.Errorf("--username %q: use 1 to 64 characters of a-z, 0-9, '.', '_', '-' and '@'", name)
	}
	return u, nil
}

// failed prints a command's error and returns its exit status.
func failed(env Env, cmd string, err error) int {
	fmt.Fprintf(env.Stderr, "%s: %v\n", cmd, err)
	return ExitFailure
}

// misused prints a usage error and returns ExitUsage.
func misused(env Env, cmd string, err error) int {
	fmt.Fprintf(env.Stderr, "%s: %v\n", cmd, err)
	return ExitUsage
}

// userOps are the account operations, on this host's store or over a
// server's admin API (--server): the same commands either way.
type userOps interface {
	create(ctx context.Context, username, role, password string) error
	list(ctx context.Context) ([]*pairgate.User, error)
	delete(ctx context.Context, username string) error
	setPassword(ctx context.Context, username, password string) error
	setRole(ctx context.Context, username, role string) error
	close()
}

// usersTarget is where `admin users` works: the host's store by default,
// a server's admin API with --server.
type usersTarget struct {
	host hostStoreFlags
	api  apiFlags
	as   string
}

func (u *usersTarget) register(env Env, fs *flag.FlagSet) {
	u.host.register(fs)
	fs.StringVar(&u.api.server, "server", "", "work over this server's admin API instead of this host's store: as the account --as, whose password is the first line of standard input (accounts are managed by people, never by API keys)")
	fs.StringVar(&u.as, "as", "admin", "with --server: the account you act as")
	u.api.profile = adminCredentialsFile(env)
}

// open returns the operations: on this host's store, or over the API as a
// person (--as, with their password from the first line of stdin).
func (u *usersTarget) open(ctx context.Context, env Env, cmd string, stdin *bufio.Reader) (userOps, error) {
	if u.api.server != "" {
		c, err := u.api.client(env, false)
		if err != nil {
			return nil, err
		}
		password, err := stdin.ReadString('\n')
		password = strings.TrimRight(password, "\r\n")
		if password == "" {
			return nil, usageError{errors.New("with --server, the first line of standard input is the password of --as " + u.as)}
		}
		return apiUsers{c: &apiClient{Client: c.WithPassword(u.as, password), server: c.server, out: c.out}, as: u.as, password: password}, nil
	}
	host, err := u.host.open(ctx, env)
	if err != nil {
		return nil, err
	}
	return hostUsers{host: host, svc: host.Admin, actor: admin.HostActor(cmd)}, nil
}

type hostUsers struct {
	host  *app.Host
	svc   *admin.Service
	actor admin.Actor
}

func (h hostUsers) close() { h.host.Close() }

func (h hostUsers) create(ctx context.Context, username, role, password string) error {
	_, _, err := h.svc.CreateUser(ctx, h.actor, username, role, password)
	return plain(err)
}

func (h hostUsers) list(ctx context.Context) ([]*pairgate.User, error) {
	return h.svc.ListUsers(ctx, h.actor)
}

func (h hostUsers) delete(ctx context.Context, username string) error {
	u, err := h.svc.FindUser(ctx, username)
	if err != nil {
		return plain(err)
	}
	return plain(h.svc.DeleteUser(ctx, h.actor, u.ID))
}

func (h hostUsers) setPassword(ctx context.Context, username, password string) error {
	u, err := h.svc.FindUser(ctx, username)
	if err != nil {
		return plain(err)
	}
	_, err = h.svc.SetPassword(ctx, h.actor, u.ID, password)
	return plain(err)
}

func (h hostUsers) setRole(ctx context.Context, username, role string) error {
	u, err := h.svc.FindUser(ctx, username)
	if err != nil {
		return plain(err)
	}
	_, err = h.svc.SetRole(ctx, h.actor, u.ID, role)
	return plain(err)
}

// plain turns a domain error into its public message, for the terminal.
func plain(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(pairgate.ErrorMessage(err))
}

type apiUsers struct {
	c *apiClient
	// as and password are the person acting, whose password is also the
	// current one when they change their own.
	as, password string
}

func (a apiUsers) close() {}

func (a apiUsers) create(ctx context.Context, username, role, password string) error {
	_, err := a.c.CreateUser(ctx, adminapi.NewUser{Username: username, Role: role, Password: password})
	return err
}

func (a apiUsers) list(ctx context.Context) ([]*pairgate.User, error) {
	list, err := a.c.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	var users []*pairgate.User
	for _, u := range list {
		users = append(users, &pairgate.User{ID: u.ID, Username: u.Username, Role: u.Role, CreatedAt: u.CreatedAt, PasswordChangedAt: u.PasswordChangedAt})
	}
	return users, nil
}

func (a apiUsers) delete(ctx context.Context, username string) error {
	return a.c.DeleteUser(ctx, username)
}

func (a apiUsers) setPassword(ctx context.Context, username, password string) error {
	in := adminapi.NewPassword{Password: password}
	if strings.EqualFold(username, a.as) {
		in.CurrentPassword = a.password
	}
	_, err := a.c.SetPassword(ctx, username, in)
	return err
}

func (a apiUsers) setRole(ctx context.Context, username, role string) error {
	_, err := a.c.SetRole(ctx, username, adminapi.NewRole{Role: role})
	return err
}

// usersFailed prints an error of an `admin users` command with the exit
// status the admin commands document.
func usersFailed(env Env, cmd string, err error) int { return apiStatus(env, cmd, err) }

func runUsersCreate(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin users create"
	var target usersTarget
	var username, role string
	var fromStdin bool
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	target.register(env, fs)
	fs.StringVar(&username, "username", "", "the account's name (required)")
	fs.StringVar(&role, "role", pairgate.RoleUser, "admin (everything), device-manager (codes, devices, printers), auditor (read-only) or user (approves devices, uses the portals)")
	fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input; without it, a random password is made and printed")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	name, err := usernameFlag(username)
	if err != nil {
		return misused(env, cmd, err)
	}
	if !pairgate.ValidRole(role) {
		return misused(env, cmd, fmt.Errorf("--role %q: want one of %s", role, strings.Join(pairgate.Roles, ", ")))
	}
	stdin := bufio.NewReader(env.Stdin)
	ops, err := target.open(ctx, env, cmd, stdin)
	if err != nil {
		return usersFailed(env, cmd, err)
	}
	defer ops.close()
	password, generated, err := passwordFor(stdin, fromStdin)
	if err != nil {
		return misused(env, cmd, err)
	}
	if err := ops.create(ctx, name, role, password); err != nil {
		return usersFailed(env, cmd, err)
	}
	fmt.Fprintf(env.Stdout, "created account %q (%s)\n", name, role)
	if generated {
		fmt.Fprintf(env.Stdout, "password: %s\n(shown only this once)\n", password)
	}
	return ExitOK
}

func runUsersList(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin users list"
	var target usersTarget
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	target.register(env, fs)
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	ops, err := target.open(ctx, env, cmd, bufio.NewReader(env.Stdin))
	if err != nil {
		return usersFailed(env, cmd, err)
	}
	defer ops.close()
	users, err := ops.list(ctx)
	if err != nil {
		return usersFailed(env, cmd, err)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tROLE\tCREATED\tPASSWORD CHANGED\tID")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Username, u.Role, u.CreatedAt.UTC().Format(time.RFC3339),
			u.PasswordChangedAt.UTC().Format(time.RFC3339), u.ID)
	}
	if err := tw.Flush(); err != nil {
		return failed(env, cmd, err)
	}
	return ExitOK
}

func runUsersDelete(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin users delete"
	var target usersTarget
	var username string
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	target.register(env, fs)
	fs.StringVar(&username, "username", "", "the account to delete (required)")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	name, err := usernameFlag(username)
	if err != nil {
		return misused(env, cmd, err)
	}
	ops, err := target.open(ctx, env, cmd, bufio.NewReader(env.Stdin))
	if err != nil {
		return usersFailed(env, cmd, err)
	}
	defer ops.close()
	if err := ops.delete(ctx, name); err != nil {
		return usersFailed(env, cmd, err)
	}
	fmt.Fprintf(env.Stdout, "deleted account %q; its sessions ended and the user-mode devices it approved lost access\n", name)
	return ExitOK
}

func runUsersSetPassword(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin users set-password"
	var target usersTarget
	var username string
	var fromStdin bool
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	target.register(env, fs)
	fs.StringVar(&username, "username", "", "the account (required)")
	fs.BoolVar(&fromStdin, "password-stdin", false, "read the new password from the first line of standard input; without it, a random password is made and printed")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	name, err := usernameFlag(username)
	if err != nil {
		return misused(env, cmd, err)
	}
	stdin := bufio.NewReader(env.Stdin)
	ops, err := target.open(ctx, env, cmd, stdin)
	if err != nil {
		return usersFailed(env, cmd, err)
	}
	defer ops.close()
	password, generated, err := passwordFor(stdin, fromStdin)
	if err != nil {
		return misused(env, cmd, err)
	}
	if err := ops.setPassword(ctx, name, password); err != nil {
		return usersFailed(env, cmd, err)
	}
	fmt.Fprintf(env.Stdout, "changed the password of %q; it is signed out everywhere\n", name)
	if generated {
		fmt.Fprintf(env.Stdout, "password: %s\n(shown only this once)\n", password)
	}
	return ExitOK
}

func runUsersSetRole(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin users set-role"
	var target usersTarget
	var username, role string
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	target.register(env, fs)
	fs.StringVar(&username, "username", "", "the account (required)")
	fs.StringVar(&role, "role", "", "the new role: admin, device-manager, auditor or user (required)")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	name, err := usernameFlag(username)
	if err != nil {
		return misused(env, cmd, err)
	}
	if !pairgate.ValidRole(role) {
		return misused(env, cmd, fmt.Errorf("--role %q: want one of %s", role, strings.Join(pairgate.Roles, ", ")))
	}
	ops, err := target.open(ctx, env, cmd, bufio.NewReader(env.Stdin))
	if err != nil {
		return usersFailed(env, cmd, err)
	}
	defer ops.close()
	if err := ops.setRole(ctx, name, role); err != nil {
		return usersFailed(env, cmd, err)
	}
	fmt.Fprintf(env.Stdout, "%q is now %s; it is signed out everywhere\n", name, role)
	return ExitOK
}
