package httpx

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/pairgate/pairgate"
)

// HandlerFunc is an HTTP handler that returns its error instead of writing
// it, so that exactly one function per audience turns errors into responses.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// ErrorWriter writes err as a response in an audience's format.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, err error)

// Handle adapts h. If h fails after it has started writing, the error can
// only be logged: a handler never writes two responses.
func Handle(h HandlerFunc, onErr ErrorWriter, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &trackingWriter{ResponseWriter: w}
		err := h(tw, r)
		if err == nil {
			return
		}
		if tw.wrote {
			log.ErrorContext(r.Context(), "handler failed after writing a response", "path", r.URL.Path, "err", err)
			return
		}
		LogError(r, log, err)
		onErr(w, r, err)
	})
}

// LogError logs err at the level its code deserves: internal errors and an
// unreachable store are errors; a caller's mistake is only debug, because a
// fleet makes plenty of them (a pending poll is an "error" too).
func LogError(r *http.Request, log *slog.Logger, err error) {
	switch pairgate.ErrorCode(err) {
	case pairgate.EINTERNAL:
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case pairgate.EUNAVAILABLE:
		if pairgate.RetryAfter(err) > 0 {
			// Shed on purpose (admission control), and counted in the
			// metrics: a herd after an outage would otherwise write a
			// warning per refused request, tens of thousands a minute.
			if log.Enabled(r.Context(), slog.LevelDebug) {
				log.DebugContext(r.Context(), "request shed", "method", r.Method, "path", r.URL.Path, "retry_after", pairgate.RetryAfter(err))
			}
			return
		}
		log.WarnContext(r.Context(), "store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
	default:
		if log.Enabled(r.Context(), slog.LevelDebug) {
			log.DebugContext(r.Context(), "request refused", "method", r.Method, "path", r.URL.Path, "code", pairgate.ErrorCode(err), "message", pairgate.ErrorMessage(err))
		}
	}
}

type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) WriteHeader(code int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(b)
}

func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// StatusOf is the HTTP status that matches an error code, for the
// audiences that use plain statuses.
func StatusOf(err error) int {
	switch pairgate.ErrorCode(err) {
	case pairgate.EINVALID, pairgate.EINVALIDGRANT, pairgate.EINVALIDSCOPE, pairgate.EUNAUTHCLIENT, pairgate.EUNSUPPORTED,
		pairgate.EPENDING, pairgate.ESLOWDOWN, pairgate.EDENIED, pairgate.EEXPIRED, pairgate.EREUSEDETECTED:
		return http.StatusBadRequest
	case pairgate.ENOTFOUND:
		return http.StatusNotFound
	case pairgate.ECONFLICT:
		return http.StatusConflict
	case pairgate.EUNAUTHORIZED, pairgate.EDPOPPROOF, pairgate.EDPOPNONCE:
		// At a resource (RFC 9449 §7.1), a bad proof or a missing nonce
		// is a 401 with a DPoP challenge; the token endpoint's 400s are
		// written by its own error writer.
		return http.StatusUnauthorized
	case pairgate.EFORBIDDEN:
		return http.StatusForbidden
	case pairgate.ERATELIMITED:
		return http.StatusTooManyRequests
	case pairgate.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case pairgate.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// IsCode reports whether err carries code.
func IsCode(err error, code string) bool {
	var e *pairgate.Error
	return errors.As(err, &e) && e.Code == code
}
