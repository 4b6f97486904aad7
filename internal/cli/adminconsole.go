package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/pairgate/pairgate/adminapi"
)

// The commands of issue 14: editing a client, rotating its secret, and
// the lock-outs listed and lifted one by one.

// runClientsUpdate changes what the flags given say; the others stay.
func runClientsUpdate(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin clients update"
	var af apiFlags
	var name, grants, scopes string
	fs := newAPIFlagSet(env, "clients update", "CLIENT_ID [--name NAME] [--grant-types A,B] [--scopes A,B]", &af)
	fs.StringVar(&name, "name", "", "a new name")
	fs.StringVar(&grants, "grant-types", "", "comma-separated grant types, replacing the client's")
	fs.StringVar(&scopes, "scopes", "", "comma-separated scopes, replacing the client's")
	id, err := oneArg(fs, env, args, "client ID")
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return apiStatus(env, cmd, err)
	}
	var p adminapi.ClientPatch
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "name":
			p.Name = &name
		case "grant-types":
			g := splitComma(grants)
			p.GrantTypes = &g
		case "scopes":
			s := splitComma(scopes)
			p.Scopes = &s
		}
	})
	if p.Name == nil && p.GrantTypes == nil && p.Scopes == nil {
		return apiStatus(env, cmd, usageError{errors.New("nothing to change: give --name, --grant-types or --scopes")})
	}
	c, err := af.client(env, true)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	out, err := c.UpdateClient(ctx, id, p)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	if err := c.print(out, clientHeader, [][]string{clientRow(*out)}); err != nil {
		return apiStatus(env, cmd, err)
	}
	return ExitOK
}

// runClientsRotateSecret gives a confidential client a new secret, shown
// this once; the old one stops working.
func runClientsRotateSecret(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin clients rotate-secret"
	var af apiFlags
	fs := newAPIFlagSet(env, "clients rotate-secret", "CLIENT_ID", &af)
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
	out, err := c.RotateClientSecret(ctx, id)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	if err := c.print(out, "CLIENT ID\tNAME\tNEW SECRET (shown only this once; the old one no longer works)",
		[][]string{{out.ClientID, out.Name, out.ClientSecret}}); err != nil {
		return apiStatus(env, cmd, err)
	}
	return ExitOK
}

const clientHeader = "CLIENT ID\tNAME\tTYPE\tSCOPES\tGRANT TYPES\tDPOP"

func clientRow(k adminapi.OAuthClient) []string {
	kind := "confidential"
	if k.Public {
		kind = "public"
	}
	dpop := "optional"
	if k.RequireDPoP {
		dpop = "required"
	}
	return []string{k.ClientID, k.Name, kind, strings.Join(k.Scopes, " "), strings.Join(k.GrantTypes, " "), dpop}
}

var runLockoutsList = listCommand("lockouts list", "ID\tRULE\tSUBJECT\tHITS\tLIMIT\tUNTIL",
	func(c *apiClient, ctx context.Context) (adminapi.LockoutList, error) {
		l, err := c.ListLockouts(ctx)
		return adminapi.LockoutList{Lockouts: l}, err
	},
	func(l adminapi.LockoutList) (rows [][]string) {
		for _, k := range l.Lockouts {
			rows = append(rows, []string{k.ID, k.Rule, lockoutSubject(k.Subject), fmt.Sprint(k.Hits), fmt.Sprint(k.Limit), fmtTime(&k.Until, "")})
		}
		return rows
	})

func lockoutSubject(s string) string {
	if s == "" {
		return "(secret)"
	}
	return s
}

func runLockoutsLift(ctx context.Context, env Env, args []string) int {
	const cmd = "pairgate admin lockouts lift"
	var af apiFlags
	fs := newAPIFlagSet(env, "lockouts lift", "ID", &af)
	id, err := oneArg(fs, env, args, "lock-out ID (from 'lockouts list')")
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
	out, err := c.LiftLockout(ctx, id)
	if err != nil {
		return apiStatus(env, cmd, err)
	}
	if af.json {
		if err := c.print(out, "", nil); err != nil {
			return apiStatus(env, cmd, err)
		}
		return ExitOK
	}
	fmt.Fprintf(env.Stdout, "lifted: %s %s\n", out.Rule, lockoutSubject(out.Subject))
	return ExitOK
}
