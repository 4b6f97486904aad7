package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/pairgate/pairgate/adminapi"
)

// `pairgate admin printers …` and `pairgate admin deployments …`, over
// the admin API.

func printerCommands() []*command {
	return []*command{
		{name: "printers", summary: "printers that can be deployed to devices", subs: []*command{
			{name: "create", summary: "add a printer (--name, --uri ipp://|ipps://|socket://|lpd://, --location, --description, --model, --duplex, --color, --paper-size)", run: runPrintersCreate},
			{name: "list", summary: "list printers (--search)", run: runPrintersList},
			{name: "get", summary: "show one printer by ID", run: runPrintersGet},
			{name: "update", summary: "change a printer by ID: only the flags given change", run: runPrintersUpdate},
			{name: "delete", summary: "delete a printer by ID: it leaves every deployment", run: runPrintersDelete},
			{name: "check", summary: "ask an ipp:// or ipps:// printer by ID what it is and how it is", run: runPrintersCheck},
		}},
		{name: "deployments", summary: "which devices get which printers", subs: []*command{
			{name: "create", summary: "deploy printers (--printers ID,ID [--default ID]) to --all, --code CODE_ID, --name-pattern GLOB or --devices ID,ID", run: runDeploymentsCreate},
			{name: "list", summary: "list deployments, newest first", run: runDeploymentsList},
			{name: "delete", summary: "delete a deployment by ID", run: runDeploymentsDelete},
		}},
	}
}

const printerHeader = "ID\tNAME\tURI\tMODEL\tLOCATION\tOPTIONS\tSTATUS"

func printerRow(p adminapi.Printer) []string {
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
	status := "not checked"
	if p.Status != nil {
		status = p.Status.Summary
	}
	return []string{p.ID, oneLine(p.Name), oneLine(p.URI), oneLine(model), oneLine(p.Location), strings.Join(opts, " "), oneLine(status)}
}

// printerFlags are the fields of a printer as flags.
type printerFlags struct {
	name, uri, location, description, model, paperSize string
	duplex, color                                      bool
}

func (pf *printerFlags) define(fs *flag.FlagSet, create bool) {
	fs.StringVar(&pf.name, "name", "", "the printer's name; devices name their queue after it")
	fs.StringVar(&pf.uri, "uri", "", "where it is: ipp://HOST/ipp/print, ipps://…, socket://HOST:9100 or lpd://HOST/QUEUE")
	fs.StringVar(&pf.location, "location", "", "where people find it")
	fs.StringVar(&pf.description, "description", "", "what it is")
	model := "the make-and-model of its driver, or everywhere for an IPP Everywhere (driverless) printer"
	if create {
		fs.StringVar(&pf.model, "model", "everywhere", model)
	} else {
		fs.StringVar(&pf.model, "model", "", model)
	}
	fs.BoolVar(&pf.duplex, "duplex", false, "two-sided by default (--duplex=false: one-sided)")
	fs.BoolVar(&pf.color, "color", false, "colour by default (--color=false: monochrome)")
	fs.StringVar(&pf.paperSize, "paper-size", "", "default paper: A4, Letter, Legal, A3, A5 or Tabloid")
}

func runPrintersCreate(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin printers create"
	var af apiFlags
	var pf printerFlags
	fs := newAPIFlagSet(env, "printers create", "--name NAME --uri URI [flags]", &af)
	pf.define(fs, true)
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	if pf.name == "" || pf.uri == "" {
		return apiStatus(env, cmd, usageError{errors.New("--name and --uri are required")})
	}
	c, err := af.client(env, true)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	p, err := c.CreatePrinter(ctx, adminapi.NewPrinter{Name: pf.name, URI: pf.uri, Location: pf.location, Description: pf.description,
		Model: pf.model, Options: adminapi.PrinterOptions{Duplex: pf.duplex, Color: pf.color, PaperSize: pf.paperSize}})
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	if err := c.print(p, printerHeader, [][]string{printerRow(*p)}); err != nil {
		return apiStatus(env, cmd, err)
	}
	return ExitOK
}

func runPrintersList(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin printers list"
	var af apiFlags
	var search string
	fs := newAPIFlagSet(env, "printers list", "[--search TEXT]", &af)
	fs.StringVar(&search, "search", "", "only printers whose name, location, description or URI contains this")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	c, err := af.client(env, true)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	ps, err := c.ListPrinters(ctx, search)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	var rows [][]string
	for _, p := range ps {
		rows = append(rows, printerRow(p))
	}
	if err := c.print(adminapi.PrinterList{Printers: ps}, printerHeader, rows); err != nil {
		return apiStatus(env, cmd, err)
	}
	return ExitOK
}

// idCommand runs a `… COMMAND ID` that prints what it gets back.
func idCommand[V any](name, what, header string, do func(*apiClient, context.Context, string) (V, error), rows func(V) [][]string) func(context.Context, Env, []string) int {
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
		v, err := do(c, ctx, id)
		if err != nil {
			return apiStatus(env, cmd, err)
		}
		if err := c.print(v, header, rows(v)); err != nil {
			return apiStatus(env, cmd, err)
		}
		return ExitOK
	}
}

var (
	runPrintersGet = idCommand("printers get", "printer", printerHeader,
		func(c *apiClient, ctx context.Context, id string) (*adminapi.Printer, error) {
			return c.GetPrinter(ctx, id)
		},
		func(p *adminapi.Printer) [][]string { return [][]string{printerRow(*p)} })
	runPrintersCheck = idCommand("printers check", "printer", "REACHABLE\tSTATUS",
		func(c *apiClient, ctx context.Context, id string) (*adminapi.PrinterStatus, error) {
			return c.CheckPrinter(ctx, id)
		},
		func(s *adminapi.PrinterStatus) [][]string {
			return [][]string{{fmt.Sprint(s.Reachable), oneLine(s.Summary)}}
		})
	runPrintersDelete    = deleteCommand("printers delete", "printer", func(c *apiClient, ctx context.Context, id string) error { return c.DeletePrinter(ctx, id) })
	runDeploymentsDelete = deleteCommand("deployments delete", "deployment", func(c *apiClient, ctx context.Context, id string) error { return c.DeleteDeployment(ctx, id) })
)

func runPrintersUpdate(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin printers update"
	var af apiFlags
	var pf printerFlags
	fs := newAPIFlagSet(env, "printers update", "ID [--name …] [--uri …] [--location …] [--description …] [--model …] [--duplex=true|false] [--color=true|false] [--paper-size …]", &af)
	pf.define(fs, false)
	id, err := oneArg(fs, env, args, "printer ID")
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return apiStatus(env, cmd, err)
	}
	var patch adminapi.PrinterPatch
	var opts adminapi.PrinterOptionsPatch
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "name":
			patch.Name = &pf.name
		case "uri":
			patch.URI = &pf.uri
		case "location":
			patch.Location = &pf.location
		case "description":
			patch.Description = &pf.description
		case "model":
			patch.Model = &pf.model
		case "duplex":
			opts.Duplex = &pf.duplex
		case "color":
			opts.Color = &pf.color
		case "paper-size":
			opts.PaperSize = &pf.paperSize
		}
	})
	if opts != (adminapi.PrinterOptionsPatch{}) {
		patch.Options = &opts
	}
	if patch == (adminapi.PrinterPatch{}) {
		return apiStatus(env, cmd, usageError{errors.New("nothing to change: give --name, --uri, --location, --description, --model, --duplex, --color or --paper-size")})
	}
	c, err := af.client(env, true)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	p, err := c.UpdatePrinter(ctx, id, patch)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	if err := c.print(p, printerHeader, [][]string{printerRow(*p)}); err != nil {
		return apiStatus(env, cmd, err)
	}
	return ExitOK
}

const deploymentHeader = "ID\tTARGET\tPRINTERS\tDEFAULT\tCREATED"

func deploymentRow(d adminapi.Deployment) []string {
	target := "all devices"
	switch {
	case d.Target.AuthorizationCode != "":
		target = "code " + d.Target.AuthorizationCode
	case d.Target.NamePattern != "":
		target = "names " + oneLine(d.Target.NamePattern)
	case len(d.Target.Devices) > 0:
		target = "devices " + strings.Join(d.Target.Devices, ",")
	}
	return []string{d.ID, target, strings.Join(d.Printers, ","), d.Default, fmtTime(&d.CreatedAt, "")}
}

func runDeploymentsCreate(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin deployments create"
	var af apiFlags
	var printers, def, code, pattern, devices string
	var all bool
	fs := newAPIFlagSet(env, "deployments create", "--printers ID,ID [--default ID] (--all | --code CODE_ID | --name-pattern GLOB | --devices ID,ID)", &af)
	fs.StringVar(&printers, "printers", "", "comma-separated printer IDs (required)")
	fs.StringVar(&def, "default", "", "the printer, one of --printers, that becomes the devices' default")
	fs.BoolVar(&all, "all", false, "every device")
	fs.StringVar(&code, "code", "", "the devices installed with this authorization code (its ID, as 'codes list' shows)")
	fs.StringVar(&pattern, "name-pattern", "", "the devices whose name matches this glob (*, ?, [a-z]), ignoring case")
	fs.StringVar(&devices, "devices", "", "comma-separated device IDs")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	if printers == "" {
		return apiStatus(env, cmd, usageError{errors.New("--printers is required")})
	}
	n := 0
	for _, set := range []bool{all, code != "", pattern != "", devices != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return apiStatus(env, cmd, usageError{errors.New("give exactly one target: --all, --code, --name-pattern or --devices")})
	}
	c, err := af.client(env, true)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	d, err := c.CreateDeployment(ctx, adminapi.NewDeployment{Printers: splitComma(printers), Default: def,
		Target: adminapi.DeploymentTarget{All: all, AuthorizationCode: code, NamePattern: pattern, Devices: splitComma(devices)}})
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	if err := c.print(d, deploymentHeader, [][]string{deploymentRow(*d)}); err != nil {
		return apiStatus(env, cmd, err)
	}
	return ExitOK
}

var runDeploymentsList = listCommand("deployments list", deploymentHeader,
	func(c *apiClient, ctx context.Context) (adminapi.DeploymentList, error) {
		l, err := c.ListDeployments(ctx)
		return adminapi.DeploymentList{Deployments: l}, err
	},
	func(l adminapi.DeploymentList) (rows [][]string) {
		for _, d := range l.Deployments {
			rows = append(rows, deploymentRow(d))
		}
		return rows
	})
