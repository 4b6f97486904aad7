package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit statuses. The device commands document their own, more specific ones.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// Env is how commands see the environment: a function, so that tests pass
// their own.
type Env struct {
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// command is one node of the command tree.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env Env, args []string) int
	subs    []*command
}

// commands builds the tree; a function, not init(), so that nothing runs
// until Main is called.
func commands() *command {
	return &command{name: "pairgate", subs: []*command{
		{name: "serve", summary: "run the authorization server", run: runServe},
		{name: "keys", summary: "manage signing keys on this host's store", subs: []*command{
			{name: "rotate", summary: "make a new signing key current; the old one stays published until its tokens expire", run: runKeysRotate},
		}},
		{name: "admin", summary: "administer pairgate: codes, devices, printers, deployments, clients, API keys, accounts, audit log", subs: adminCommands()},
		{name: "health", summary: "exit 0 when a server's /readyz (or the given URL) answers 200", run: runHealth},
		{name: "device", summary: "the device side: pair, authorize, token, status, printers, logout", subs: deviceCommands()},
		{name: "version", summary: "print the version", run: func(ctx context.Context, env Env, args []string) int {
			fmt.Fprintln(env.Stdout, "pairgate", Version)
			return ExitOK
		}},
	}}
}

// Version is set at build time with -ldflags "-X ...cli.Version=…".
var Version = "dev"

// Main runs the command line and returns the exit status.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	cmd := commands()
	path := []string{cmd.name}
	for {
		if cmd.run != nil {
			return cmd.run(ctx, env, args)
		}
		if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			usage(env.Stderr, path, cmd)
			if len(args) == 0 {
				return ExitUsage
			}
			return ExitOK
		}
		var next *command
		for _, c := range cmd.subs {
			if c.name == args[0] {
				next = c
			}
		}
		if next == nil {
			fmt.Fprintf(env.Stderr, "%s: unknown command %q\n\n", strings.Join(path, " "), args[0])
			usage(env.Stderr, path, cmd)
			return ExitUsage
		}
		cmd, args = next, args[1:]
		path = append(path, cmd.name)
	}
}

func usage(w io.Writer, path []string, c *command) {
	fmt.Fprintf(w, "Usage: %s <command> [flags]\n\nCommands:\n", strings.Join(path, " "))
	subs := append([]*command(nil), c.subs...)
	sort.Slice(subs, func(i, j int) bool { return subs[i].name < subs[j].name })
	for _, s := range subs {
		summary := s.summary
		fmt.Fprintf(w, "  %-13s %s\n", s.name, summary)
	}
	fmt.Fprintf(w, "\nRun '%s <command> -h' for the flags of a command.\n", strings.Join(path, " "))
}

// parseFlags parses args into fs after applying PAIRGATE_<FLAG> variables,
// so that the command line wins over the environment. Positional
// arguments are refused.
func parseFlags(fs *flag.FlagSet, env Env, args []string) error {
	if err := parseFlagsAllowArgs(fs, env, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected argument %q", fs.Arg(0))
		fmt.Fprintln(env.Stderr, err)
		return err
	}
	return nil
}

// parseFlagsAllowArgs is parseFlags for commands that take positional
// arguments too.
func parseFlagsAllowArgs(fs *flag.FlagSet, env Env, args []string) error {
	fs.SetOutput(env.Stderr)
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := "PAIRGATE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := env.Getenv(name); v != "" && envErr == nil {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("%s=%q: %v", name, v, err)
			}
		}
	})
	if envErr != nil {
		fmt.Fprintln(env.Stderr, envErr)
		return envErr
	}
	return fs.Parse(args)
}

// flagStatus turns a flag parsing error into an exit status: -h is not a
// failure.
func flagStatus(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	return ExitUsage
}

// Stdio returns the process's environment.
func Stdio() Env {
	return Env{Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
}
