// Command pairgate is the device authorization server and its command line:
// `pairgate serve` runs the server, `pairgate admin` manages it,
// `pairgate device` is the device side.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/pairgate/pairgate/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var code int
	if cli.IsCUPSBackend(os.Args, os.Getenv) {
		// cupsd runs this program as the pairgate backend.
		code = cli.CUPSBackend(ctx, os.Args, cli.Stdio())
	} else {
		code = cli.Main(ctx, os.Args[1:], cli.Stdio())
	}
	stop()
	os.Exit(code)
}
