package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/pairgate/pairgate/internal/server"
)

// Serve serves on ln, and the metrics on the configured metrics address,
// until ctx ends; then it shuts down gracefully: in-flight requests finish
// (for up to 30 s), new connections are refused.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	hs := a.Server.HTTPServer(ln.Addr().String(), a.Server.Handler())
	if a.Config.TLSCert != "" {
		certs, err := server.NewCertReloader(a.Config.TLSCert, a.Config.TLSKey)
		if err != nil {
			return err
		}
		hs.TLSConfig = certs.TLSConfig()
	}
	var ms *http.Server
	var mln net.Listener
	if a.Config.MetricsAddr != "" {
		var err error
		if mln, err = net.Listen("tcp", a.Config.MetricsAddr); err != nil {
			return fmt.Errorf("metrics listener: %w", err)
		}
		addr := mln.Addr().String()
		a.metricsListener.Store(&addr)
		ms = a.Server.HTTPServer(addr, a.Server.MetricsHandler())
	}
	jobs, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer stopJobs()
	go a.Server.RunJobs(jobs)
	errc := make(chan error, 2)
	go func() {
		if hs.TLSConfig != nil {
			errc <- hs.ServeTLS(ln, "", "") // certificates come from TLSConfig.GetCertificate
			return
		}
		errc <- hs.Serve(ln)
	}()
	if ms != nil {
		go func() { errc <- ms.Serve(mln) }()
	}
	select {
	case err := <-errc:
		hs.Close()
		if ms != nil {
			ms.Close()
		}
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	if ms != nil {
		ms.Shutdown(sctx)
	}
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

// MetricsAddr is the address the metrics listener is bound to, once
// Serve has started it ("" before, or when there is none).
func (a *App) MetricsAddr() string {
	if p := a.metricsListener.Load(); p != nil {
		return *p
	}
	return ""
}
