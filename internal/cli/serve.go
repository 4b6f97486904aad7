package cli

import (
	"context"
	"flag"
	"fmt"
	"net"

	"github.com/pairgate/pairgate/internal/app"
)

func runServe(ctx context.Context, env Env, args []string) int {
	cfg := app.Default()
	fs := flag.NewFlagSet("pairgate serve", flag.ContinueOnError)
	cfg.Flags(fs)
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	cfg.MasterKey = env.Getenv("PAIRGATE_MASTER_KEY")
	cfg.AdminPassword = env.Getenv("PAIRGATE_ADMIN_PASSWORD")
	cfg.OIDCClientSecret = env.Getenv("PAIRGATE_OIDC_CLIENT_SECRET")
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(env.Stderr, "pairgate serve: %v\n", err)
		return ExitUsage
	}
	log := app.NewLogger(env.Stderr, cfg.LogLevel, cfg.LogFormat)
	a, err := app.New(ctx, cfg, app.Options{Log: log, Out: env.Stderr, AuditLines: env.Stdout})
	if err != nil {
		log.Error("cannot start", "err", err)
		return ExitFailure
	}
	defer a.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		log.Error("cannot listen", "addr", cfg.Addr, "err", err)
		return ExitFailure
	}
	log.Info("pairgate serving", "addr", ln.Addr().String(), "metrics_addr", cfg.MetricsAddr, "ipp_addr", cfg.IPPAddr, "issuer", cfg.IssuerURL(),
		"store", app.RedactDSN(cfg.DBPath()), "signing_alg", cfg.SigningAlg, "kid", a.Keyring.Current(), "version", Version)
	if err := a.Serve(ctx, ln); err != nil {
		log.Error("server stopped", "err", err)
		return ExitFailure
	}
	log.Info("stopped")
	return ExitOK
}
