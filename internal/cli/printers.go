package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/pairgate/pairgate/client"
	"github.com/pairgate/pairgate/internal/printing"
)

// `pairgate device printers`: the printers deployed to this device, and
// the commands that install them. pairgate never runs those commands
// itself: an administrator's script or a person does, as root.

func runDevicePrinters(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate device printers"
	var df deviceFlags
	var format, cache string
	var asJSON, noCache bool
	fs := newDeviceFlagSet(env, "printers", "[--format table|json|lpadmin|powershell] [flags]",
		"Shows the printers deployed to this device. --format lpadmin prints the CUPS commands\n"+
			"that install them (Linux, macOS; IPP Everywhere printers driverless with -m everywhere),\n"+
			"--format powershell the commands for Windows; pairgate never runs them itself:\n"+
			"  pairgate device printers --format lpadmin | sudo sh\n"+
			"The list and its ETag are kept in a cache file, so that a device polling from cron\n"+
			"asks the server only whether something changed (304 Not Modified).", &df)
	fs.StringVar(&format, "format", "table", "table, json, lpadmin or powershell")
	fs.BoolVar(&asJSON, "json", false, "the same as --format json")
	fs.StringVar(&cache, "cache", "", "where the last list and its ETag are kept (default: printers.json beside the token file)")
	fs.BoolVar(&noCache, "no-cache", false, "always fetch the whole list, and keep nothing")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	if asJSON {
		format = "json"
	}
	switch format {
	case "table", "json", "lpadmin", "powershell":
	default:
		fmt.Fprintf(env.Stderr, "%s: --format %q: want table, json, lpadmin or powershell\n", cmd, format)
		return ExitUsage
	}
	store, ok := df.store(env)
	if !ok {
		return ExitUsage
	}
	if cache == "" && !noCache {
		cache = filepath.Join(filepath.Dir(store.Path), "printers.json")
	}
	creds, err := (&client.TokenSource{Store: store}).Credentials(ctx)
	if err != nil {
		return deviceExit(env, cmd, err)
	}
	var cached *client.PrinterList
	if !noCache {
		cached = readPrinterCache(cache, creds.DeviceID)
	}
	etag := ""
	if cached != nil {
		etag = cached.ETag
	}
	list, changed, err := client.Printers(ctx, nil, creds, etag)
	if err != nil {
		return deviceExit(env, cmd, err)
	}
	if !changed {
		list = cached
	} else if !noCache {
		if err := writePrinterCache(cache, list); err != nil {
			fmt.Fprintf(env.Stderr, "%s: note: the list could not be cached: %v\n", cmd, err)
		}
	}
	return deviceExit(env, cmd, printPrinters(env, format, list))
}

func printPrinters(env Env, format string, l *client.PrinterList) error {
	switch format {
	case "json":
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(l)
	case "lpadmin":
		_, err := fmt.Fprint(env.Stdout, printing.Lpadmin(queues(l)))
		return err
	case "powershell":
		_, err := fmt.Fprint(env.Stdout, printing.PowerShell(queues(l)))
		return err
	}
	if len(l.Printers) == 0 {
		_, err := fmt.Fprintln(env.Stdout, "No printers are deployed to this device.")
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDEFAULT\tURI\tMODEL\tLOCATION\tOPTIONS")
	for _, p := range l.Printers {
		def := ""
		if p.Default {
			def = "yes"
		}
		var opts []string
		if p.Options.Duplex {
			opts = append(opts, "duplex")
		}
		if p.Options.Color {
			opts = append(opts, "color")
		}
		if p.Options.PaperSize != "" {
			opts = append(opts, p.Options.PaperSize)
		}
		model := p.Model
		if p.Driverless {
			model = "IPP Everywhere"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", oneLine(p.Name), def, oneLine(p.URI), oneLine(model), oneLine(p.Location), strings.Join(opts, " "))
	}
	return tw.Flush()
}

// oneLine keeps a table row on one line, whatever a field holds.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func queues(l *client.PrinterList) []printing.Queue {
	out := make([]printing.Queue, 0, len(l.Printers))
	for _, p := range l.Printers {
		out = append(out, printing.Queue{Name: p.Name, URI: p.URI, Location: p.Location, Description: p.Description, Model: p.Model,
			Duplex: p.Options.Duplex, Color: p.Options.Color, PaperSize: p.Options.PaperSize, Default: p.Default})
	}
	return out
}

// readPrinterCache returns the cached list of this device, or nil.
func readPrinterCache(path, deviceID string) *client.PrinterList {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var l client.PrinterList
	if json.Unmarshal(b, &l) != nil || l.ETag == "" || (deviceID != "" && l.DeviceID != deviceID) {
		return nil
	}
	return &l
}

func writePrinterCache(path string, l *client.PrinterList) error {
	if l.ETag == "" {
		return errors.New("the server sent no ETag")
	}
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'))
}
