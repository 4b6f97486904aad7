package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/app"
)

// runKeysRotate rotates the signing key on the store of this host (or the
// one --db names). Every replica sees the new key within seconds; tokens
// signed with the old one keep verifying until they expire.
func runKeysRotate(ctx context.Context, env Env, args []string) int {
	cfg := app.Default()
	cfg.MetricsAddr = ""
	fs := flag.NewFlagSet("pairgate keys rotate", flag.ContinueOnError)
	cfg.StoreFlags(fs)
	fs.StringVar(&cfg.SigningAlg, "signing-alg", cfg.SigningAlg, "algorithm of the new key")
	fs.DurationVar(&cfg.AccessTokenTTL, "access-token-ttl", cfg.AccessTokenTTL, "the server's access token lifetime: the old key stays published this long")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	cfg.MasterKey = env.Getenv("PAIRGATE_MASTER_KEY")
	log := app.NewLogger(env.Stderr, "warn", "text")
	a, err := app.New(ctx, cfg, app.Options{Log: log, Out: env.Stderr})
	if err != nil {
		fmt.Fprintf(env.Stderr, "pairgate keys rotate: %v\n", err)
		return ExitFailure
	}
	defer a.Close()
	old := a.Keyring.Current()
	if err := a.Keyring.Rotate(ctx); err != nil {
		if pairgate.ErrorCode(err) == pairgate.ECONFLICT {
			fmt.Fprintln(env.Stderr, "pairgate keys rotate: another replica rotated at the same moment; nothing to do")
			return ExitOK
		}
		fmt.Fprintf(env.Stderr, "pairgate keys rotate: %v\n", err)
		return ExitFailure
	}
	a.Audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditKeyRotated, ActorType: pairgate.ActorSystem,
		ActorName: "pairgate keys rotate", Target: a.Keyring.Current(), Details: map[string]string{"previous_kid": old, "reason": "command"}})
	fmt.Fprintf(env.Stdout, "rotated signing key: %s -> %s\n", old, a.Keyring.Current())
	return ExitOK
}
