package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/pairgate/pairgate"
)

// runKeysRotate rotates the signing key on the store of this host (or the
// one --db names). Every replica sees the new key within seconds; tokens
// signed with the old one keep verifying until they expire.
func runKeysRotate(ctx context.Context, env Env, args []string) int {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("pairgate keys rotate", flag.ContinueOnError)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "the server's data directory")
	fs.StringVar(&cfg.DB, "db", cfg.DB, "database (default: the SQLite file in the data dir)")
	fs.StringVar(&cfg.MasterKeyFile, "master-key-file", cfg.MasterKeyFile, "master key file (default: in the data dir)")
	fs.StringVar(&cfg.SigningAlg, "signing-alg", cfg.SigningAlg, "algorithm of the new key")
	fs.DurationVar(&cfg.AccessTokenTTL, "access-token-ttl", cfg.AccessTokenTTL, "the server's access token lifetime: the old key stays published this long")
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	cfg.MasterKey = env.Getenv("PAIRGATE_MASTER_KEY")
	log := NewLogger(env.Stderr, "warn", "text")
	app, err := NewApp(ctx, cfg, log, env.Stderr)
	if err != nil {
		fmt.Fprintf(env.Stderr, "pairgate keys rotate: %v\n", err)
		return ExitFailure
	}
	defer app.Close()
	old := app.Keyring.Current()
	if err := app.Keyring.Rotate(ctx); err != nil {
		if pairgate.ErrorCode(err) == pairgate.ECONFLICT {
			fmt.Fprintln(env.Stderr, "pairgate keys rotate: another replica rotated at the same moment; nothing to do")
			return ExitOK
		}
		fmt.Fprintf(env.Stderr, "pairgate keys rotate: %v\n", err)
		return ExitFailure
	}
	app.Audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditKeyRotated, ActorType: pairgate.ActorSystem,
		ActorName: "pairgate keys rotate", Target: app.Keyring.Current(), Details: map[string]string{"previous_kid": old, "reason": "command"}})
	fmt.Fprintf(env.Stdout, "rotated signing key: %s -> %s\n", old, app.Keyring.Current())
	return ExitOK
}
