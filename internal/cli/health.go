package cli

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// runHealth checks a server's health endpoint and exits 0 when it answers
// 200: container images without curl use it as their health check.
func runHealth(ctx context.Context, env Env, args []string) int {
	u := "http://127.0.0.1:8080/readyz"
	switch len(args) {
	case 0:
	case 1:
		u = args[0]
	default:
		fmt.Fprintln(env.Stderr, "usage: pairgate health [URL]   (default "+u+")")
		return ExitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		fmt.Fprintf(env.Stderr, "pairgate health: %v\n", err)
		return ExitUsage
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(env.Stderr, "pairgate health: %v\n", err)
		return ExitFailure
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(env.Stderr, "pairgate health: %s answered %s\n", u, resp.Status)
		return ExitFailure
	}
	fmt.Fprintln(env.Stdout, "ok")
	return ExitOK
}
