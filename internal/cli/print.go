package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pairgate/pairgate/client"
)

// `pairgate device print`: a document to the server's held queue, with
// the device's access token. Nothing is printed until its owner releases
// it in the Release Portal.

// formatsByExtension are the document formats the held queue takes, by
// file extension; anything else goes as application/octet-stream, which
// the printer recognizes.
var formatsByExtension = map[string]string{
	".pdf": "application/pdf", ".ps": "application/postscript", ".eps": "application/postscript",
	".pcl": "application/vnd.hp-pcl", ".pwg": "image/pwg-raster", ".urf": "image/urf",
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".txt": "text/plain", ".text": "text/plain",
}

func formatOf(path string) string {
	if f, ok := formatsByExtension[strings.ToLower(filepath.Ext(path))]; ok {
		return f
	}
	return "application/octet-stream"
}

// parseInterleaved parses flags that may come before and after
// positional arguments (`print FILE --printer NAME`), which flag alone
// stops at.
func parseInterleaved(fs *flag.FlagSet, env Env, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlagsAllowArgs(fs, env, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func runDevicePrint(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate device print"
	var df deviceFlags
	var printer, title, user, format, queue string
	var copies int
	fs := newDeviceFlagSet(env, "print", "FILE [--printer NAME] [flags]",
		"Sends FILE (- for standard input) to the server's held queue with this device's access\n"+
			"token. Nothing is printed yet: the job waits until its owner releases it at a printer in\n"+
			"the Release Portal ({server}/release). A user-mode device's jobs are its person's; a\n"+
			"device-mode device says whose a job is with --user (default: $USER), a claim the portal\n"+
			"marks as such. --printer names the printer (one deployed to this device) you mean to\n"+
			"release it at: the portal offers it first.", &df)
	fs.StringVar(&printer, "printer", "", "the printer you mean to release it at (pairgate device printers lists them)")
	fs.StringVar(&title, "title", "", "the job's name (default: the file's name)")
	fs.StringVar(&user, "user", "", "whose job it is, for a device-mode device (default: $USER)")
	fs.StringVar(&format, "format", "", "the document's MIME type (default: from the file's extension)")
	fs.IntVar(&copies, "copies", 1, "copies, 1 to 100")
	fs.StringVar(&queue, "queue", "", "the held queue's ipp:// URI (default: the one the server publishes)")
	pos, err := parseInterleaved(fs, env, args)
	if err != nil {
		return flagStatus(err)
	}
	if len(pos) != 1 {
		fmt.Fprintf(env.Stderr, "%s: give one FILE (or - for standard input)\n", cmd)
		return ExitUsage
	}
	if copies < 1 || copies > 100 {
		fmt.Fprintf(env.Stderr, "%s: --copies %d: from 1 to 100\n", cmd, copies)
		return ExitUsage
	}
	file := pos[0]
	var doc io.Reader = env.Stdin
	size := int64(-1)
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			fmt.Fprintf(env.Stderr, "%s: %v\n", cmd, err)
			return ExitUsage
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			fmt.Fprintf(env.Stderr, "%s: %s is not a regular file\n", cmd, file)
			return ExitUsage
		}
		doc, size = f, st.Size()
		if title == "" {
			title = filepath.Base(file)
		}
		if format == "" {
			format = formatOf(file)
		}
	}
	if format != "" {
		if _, _, err := mime.ParseMediaType(format); err != nil {
			fmt.Fprintf(env.Stderr, "%s: --format %q is not a MIME type\n", cmd, format)
			return ExitUsage
		}
	}
	if user == "" {
		user = env.Getenv("USER")
	}
	store, ok := df.store(env)
	if !ok {
		return ExitUsage
	}
	creds, err := (&client.TokenSource{Store: store}).Credentials(ctx)
	if err != nil {
		return deviceExit(env, cmd, err)
	}
	if printer != "" {
		list, _, err := client.Printers(ctx, nil, creds, "")
		if err != nil {
			return deviceExit(env, cmd, err)
		}
		found := ""
		for _, p := range list.Printers {
			if strings.EqualFold(p.Name, printer) {
				found = p.Name
			}
		}
		if found == "" {
			fmt.Fprintf(env.Stderr, "%s: no printer named %q is deployed to this device (pairgate device printers lists them)\n", cmd, printer)
			return ExitUsage
		}
		printer = found
	}
	if queue == "" {
		if queue, err = client.HeldQueue(ctx, nil, creds.Issuer); err != nil {
			return deviceExit(env, cmd, err)
		}
	}
	j, err := client.Print(ctx, nil, creds, queue, client.Job{Name: title, UserName: user, Format: format, Copies: copies,
		Printer: printer, Document: doc, Size: size})
	if err != nil {
		return deviceExit(env, cmd, err)
	}
	fmt.Fprintf(env.Stdout, "held as job %d: release it at %s/release\n", j.ID, strings.TrimRight(creds.Issuer, "/"))
	return ExitOK
}

// --- The CUPS backend ---

// CUPS runs a backend as /usr/lib/cups/backend/SCHEME for a queue whose
// device URI has that scheme: with no arguments to discover devices,
// and with job-id user title copies options [file] to send a job (its
// document on standard input when there is no file), the device URI in
// DEVICE_URI and argv[0]. Its exit status tells CUPS what to do with the
// job (cups/backend.h); what it writes to standard error, prefixed with
// INFO:, ERROR: or DEBUG:, goes to the job's log and state.
const (
	backendOK     = 0
	backendFailed = 1 // the queue's error policy decides
	backendStop   = 4 // stop the queue: nothing will work until someone acts
	backendCancel = 5 // cancel the job: it can never be taken
	backendRetry  = 6 // retry the job later
)

// BackendScheme is the device URI scheme of the pairgate backend:
// pairgate:/PATH/TO/device.json names the device's credentials file.
const BackendScheme = "pairgate"

// IsCUPSBackend reports whether the process was started by CUPS as the
// pairgate backend: for a job (DEVICE_URI of the pairgate scheme) or to
// discover devices (no arguments, under cupsd).
func IsCUPSBackend(args []string, getenv func(string) string) bool {
	if strings.HasPrefix(getenv("DEVICE_URI"), BackendScheme+":") {
		return true
	}
	return len(args) == 1 && filepath.Base(args[0]) == BackendScheme && getenv("CUPS_SERVERBIN") != ""
}

// CUPSBackend runs the pairgate backend: it takes the device's
// credentials (refreshing the access token through them as needed) and
// forwards the job to the held queue. args are the process's, argv[0]
// included.
func CUPSBackend(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if len(args) == 1 {
		// Discovery: a line lpinfo -v shows, to say the backend is here.
		fmt.Fprintln(env.Stdout, `network pairgate "pairgate" "pairgate held queue (Release Portal)"`)
		return backendOK
	}
	if len(args) != 6 && len(args) != 7 {
		fmt.Fprintln(env.Stderr, "Usage: pairgate job-id user title copies options [file]")
		return backendFailed
	}
	fail := func(status int, format string, a ...any) int {
		fmt.Fprintf(env.Stderr, "ERROR: pairgate: "+format+"\n", a...)
		return status
	}
	uri := env.Getenv("DEVICE_URI")
	if uri == "" {
		uri = args[0]
	}
	path, queue, err := parseBackendURI(uri)
	if err != nil {
		return fail(backendStop, "%v", err)
	}
	user, title := args[2], args[3]
	copies := 1
	fmt.Sscan(args[4], &copies)
	var doc io.Reader = env.Stdin
	size := int64(-1)
	if len(args) == 7 {
		f, err := os.Open(args[6])
		if err != nil {
			return fail(backendFailed, "%v", err)
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
		doc = f
	}
	store := &client.FileStore{Path: path}
	creds, err := (&client.TokenSource{Store: store}).Credentials(ctx)
	if err != nil {
		return backendStatus(env, err)
	}
	if queue == "" {
		if queue, err = client.HeldQueue(ctx, nil, creds.Issuer); err != nil {
			return backendStatus(env, err)
		}
	}
	fmt.Fprintf(env.Stderr, "INFO: pairgate: sending the job to the held queue\n")
	j, err := client.Print(ctx, nil, creds, queue, client.Job{Name: title, UserName: user, Format: backendFormat(env.Getenv("CONTENT_TYPE")),
		Copies: copies, Document: doc, Size: size})
	if err != nil {
		return backendStatus(env, err)
	}
	fmt.Fprintf(env.Stderr, "INFO: pairgate: held as job %d: release it at %s/release\n", j.ID, strings.TrimRight(creds.Issuer, "/"))
	return backendOK
}

// parseBackendURI reads pairgate:/PATH/TO/device.json[?queue=ipp://…].
func parseBackendURI(uri string) (path, queue string, err error) {
	rest, ok := strings.CutPrefix(uri, BackendScheme+":")
	if !ok {
		return "", "", fmt.Errorf("device URI %q is not a %s: URI", uri, BackendScheme)
	}
	rest = strings.TrimPrefix(rest, "//")
	path, query, _ := strings.Cut(rest, "?")
	if !filepath.IsAbs(path) {
		return "", "", fmt.Errorf("device URI %q: give the credentials file's absolute path: %s:/etc/pairgate/device.json", uri, BackendScheme)
	}
	if query != "" {
		q, ok := strings.CutPrefix(query, "queue=")
		if !ok {
			return "", "", fmt.Errorf("device URI %q: the only parameter is queue=ipp://…", uri)
		}
		queue = q
	}
	return filepath.Clean(path), queue, nil
}

// backendFormat is the held queue's name for the type CUPS gave the
// document (CONTENT_TYPE): its own types for PDF and PostScript have
// names of CUPS's.
func backendFormat(ct string) string {
	ct, _, _ = strings.Cut(ct, ";")
	switch ct = strings.TrimSpace(strings.ToLower(ct)); ct {
	case "application/pdf", "application/vnd.cups-pdf":
		return "application/pdf"
	case "application/postscript", "application/vnd.cups-postscript":
		return "application/postscript"
	case "text/plain", "image/jpeg", "image/pwg-raster", "image/urf", "application/vnd.hp-pcl":
		return ct
	}
	return "application/octet-stream"
}

// backendStatus tells CUPS what a failure means for the job and queue.
func backendStatus(env Env, err error) int {
	status := backendFailed
	var ie *client.IPPError
	switch {
	case errors.Is(err, client.ErrUnavailable):
		status = backendRetry
	case errors.Is(err, client.ErrNoCredentials), errors.Is(err, client.ErrNotAuthorized):
		// Every job would fail the same way until the device is
		// authorized again: stop the queue, which says why.
		status = backendStop
	case errors.As(err, &ie) && ie.Status >= 0x0400 && ie.Status < 0x0500:
		// Too large, a format the queue does not hold: never takeable.
		status = backendCancel
	case errors.Is(err, client.ErrRejected):
		status = backendStop
	}
	fmt.Fprintf(env.Stderr, "ERROR: pairgate: %v\n", err)
	return status
}

// --- Installing the backend ---

func runDeviceInstallCUPSBackend(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate device install-cups-backend"
	var df deviceFlags
	var dir, queue, self string
	fs := newDeviceFlagSet(env, "install-cups-backend", "[--queue NAME] [flags]",
		"Installs this program as the CUPS backend \"pairgate\" (DIR/pairgate, mode 0700, so that\n"+
			"cupsd runs it as root, which reads the credentials file), and with --queue makes a\n"+
			"CUPS queue that sends every job to the held queue with this device's credentials:\n"+
			"  sudo pairgate device install-cups-backend --token-file /etc/pairgate/device.json --queue Held\n"+
			"  lp -d Held report.pdf\n"+
			"Every application prints to it as to any printer; the jobs wait in the Release Portal.\n"+
			"CUPS_SERVER selects another cupsd.", &df)
	fs.StringVar(&dir, "backend-dir", "/usr/lib/cups/backend", "CUPS's backend directory (ServerBin/backend)")
	fs.StringVar(&queue, "queue", "", "also make (or update) this CUPS queue with lpadmin")
	fs.StringVar(&self, "binary", "", "the program to install (default: this one)")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	store, ok := df.store(env)
	if !ok {
		return ExitUsage
	}
	path, err := filepath.Abs(store.Path)
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", cmd, err)
		return ExitUsage
	}
	if _, err := store.Load(ctx); err != nil {
		return deviceExit(env, cmd, err)
	}
	if self == "" {
		if self, err = os.Executable(); err != nil {
			fmt.Fprintf(env.Stderr, "%s: %v\n", cmd, err)
			return ExitFailure
		}
	}
	dst := filepath.Join(dir, BackendScheme)
	if err := installFile(self, dst, 0o700); err != nil {
		fmt.Fprintf(env.Stderr, "%s: %v\n", cmd, err)
		return ExitFailure
	}
	uri := BackendScheme + ":" + path
	fmt.Fprintf(env.Stdout, "installed the CUPS backend %s\ndevice URI: %s\n", dst, uri)
	if queue == "" {
		fmt.Fprintf(env.Stdout, "make a queue with: lpadmin -p Held -E -v %s\n", uri)
		return ExitOK
	}
	if !validQueueName(queue) {
		fmt.Fprintf(env.Stderr, "%s: --queue %q: use letters, digits, '_' and '-'\n", cmd, queue)
		return ExitUsage
	}
	out, err := runCommand(ctx, env, "lpadmin", "-p", queue, "-E", "-v", uri, "-D", "pairgate held queue: release jobs in the Release Portal")
	if err != nil {
		fmt.Fprintf(env.Stderr, "%s: lpadmin: %v\n%s", cmd, err, out)
		return ExitFailure
	}
	fmt.Fprintf(env.Stdout, "made the CUPS queue %s: lp -d %s FILE\n", queue, queue)
	return ExitOK
}

func validQueueName(s string) bool {
	if s == "" || len(s) > 127 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// installFile copies src to dst with mode, atomically: a cupsd starting
// a job meanwhile runs the old program or the new one, never half of it.
func installFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".pairgate-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// runCommand runs a program with the process's environment and the
// CUPS_SERVER of env (which CUPS's commands read), and returns what it
// wrote.
func runCommand(ctx context.Context, env Env, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = os.Environ()
	if v := env.Getenv("CUPS_SERVER"); v != "" {
		cmd.Env = append(cmd.Env, "CUPS_SERVER="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}
