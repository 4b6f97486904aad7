package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/pairgate/pairgate/internal/audit"
	"github.com/pairgate/pairgate/internal/httpx"
)

type ctxKey int

const requestIDKey ctxKey = 0

// RequestID returns the id of the request ctx belongs to, for logs.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// middleware wraps every request: security headers, a request id, metrics,
// and a recovered panic turned into a 500 instead of a dropped connection.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		w = sw
		defer func() {
			// r.Pattern is the route the mux chose: bounded cardinality,
			// whatever paths clients invent.
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			s.metrics.Request(route, r.Method, sw.code, time.Since(start))
		}()
		httpx.SecurityHeaders(w.Header())
		// HSTS when served over TLS, or behind a TLS-terminating proxy
		// (an https issuer); browsers ignore it over plain HTTP.
		if r.TLS != nil || s.cfg.HTTPS {
			w.Header().Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		var b [9]byte
		rand.Read(b[:])
		id := base64.RawURLEncoding.EncodeToString(b[:])
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		r = r.WithContext(audit.WithIP(ctx, s.ip.Of(r)))
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic serving request", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				http.Error(w, `{"error":"server_error","error_description":"internal error"}`, http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status code a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// LogHandler adds the request id to every record logged with a request's
// context.
type LogHandler struct{ slog.Handler }

func (h LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h LogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return LogHandler{h.Handler.WithAttrs(as)}
}
func (h LogHandler) WithGroup(n string) slog.Handler { return LogHandler{h.Handler.WithGroup(n)} }
