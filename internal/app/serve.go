package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/pairgate/pairgate/internal/ipp"

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
	var is *http.Server
	var iln net.Listener
	if a.Config.IPPAddr != "" {
		var err error
		if iln, err = net.Listen("tcp", a.Config.IPPAddr); err != nil {
			if mln != nil {
				mln.Close()
			}
			return fmt.Errorf("IPP listener: %w", err)
		}
		addr := iln.Addr().String()
		a.ippListener.Store(&addr)
		is = a.Server.HTTPServer(addr, a.IPP)
		// A document may be large and the link slow: the attributes
		// must come within the header timeout, the document within
		// minutes.
		is.ReadTimeout, is.WriteTimeout = ReleaseSendTimeout, ReleaseSendTimeout
		if hs.TLSConfig != nil {
			// A copy: serving TLS sets up the config's protocols, and
			// two servers must not do so to one config at once. The
			// copy keeps the reloader, so a renewed certificate reaches
			// both listeners.
			is.TLSConfig = hs.TLSConfig.Clone()
		}
	}
	jobs, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	jobsDone := make(chan struct{})
	go func() { a.Server.RunJobs(jobs); close(jobsDone) }()
	// The background jobs end before Serve returns, so that the store
	// is not closed under a cleanup batch (Close follows Serve).
	defer func() { stopJobs(); <-jobsDone }()
	errc := make(chan error, 3)
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
	if is != nil {
		go func() {
			if is.TLSConfig != nil {
				errc <- is.ServeTLS(iln, "", "")
				return
			}
			errc <- is.Serve(iln)
		}()
	}
	select {
	case err := <-errc:
		hs.Close()
		if ms != nil {
			ms.Close()
		}
		if is != nil {
			is.Close()
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
	if is != nil {
		is.Shutdown(sctx)
	}
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

// IPPAddr is the address the held queue's IPP listener is bound to, once
// Serve has started it ("" before, or when there is none).
func (a *App) IPPAddr() string {
	if p := a.ippListener.Load(); p != nil {
		return *p
	}
	return ""
}

// HeldQueueURI is the held queue's IPP URI as devices reach it: the
// issuer's host with the IPP listener's port, ipps when TLS is on; ""
// when there is no IPP listener (yet).
func (a *App) HeldQueueURI() string {
	addr := a.IPPAddr()
	if addr == "" {
		return ""
	}
	_, port, err := net.SplitHostPort(addr)
	u, uerr := url.Parse(a.Config.IssuerURL())
	if err != nil || uerr != nil {
		return ""
	}
	scheme := "ipp"
	if a.Config.TLSCert != "" {
		scheme = "ipps"
	}
	return scheme + "://" + net.JoinHostPort(u.Hostname(), port) + ipp.Path
}

// MetricsAddr is the address the metrics listener is bound to, once
// Serve has started it ("" before, or when there is none).
func (a *App) MetricsAddr() string {
	if p := a.metricsListener.Load(); p != nil {
		return *p
	}
	return ""
}
