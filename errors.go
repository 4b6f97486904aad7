package pairgate

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Each transport (OAuth JSON, HTML pages, admin API) maps them
// to its own wire format in exactly one function; only EINTERNAL and
// EUNAVAILABLE are logged as errors.
const (
	EINVALID       = "invalid"        // malformed or missing input
	ENOTFOUND      = "not_found"      // no such object
	ECONFLICT      = "conflict"       // uniqueness or state conflict
	EUNAUTHORIZED  = "unauthorized"   // caller could not be authenticated
	EFORBIDDEN     = "forbidden"      // authenticated but not allowed
	ERATELIMITED   = "rate_limited"   // too many attempts; see Error.RetryAfter
	EINTERNAL      = "internal"       // a bug or an unexpected failure
	EUNAVAILABLE   = "unavailable"    // the store cannot be reached; retry later
	ETOOLARGE      = "too_large"      // request body over the limit
	EPENDING       = "pending"        // RFC 8628 authorization_pending
	ESLOWDOWN      = "slow_down"      // RFC 8628 slow_down
	EDENIED        = "denied"         // RFC 8628 access_denied
	EEXPIRED       = "expired"        // RFC 8628 expired_token
	EINVALIDGRANT  = "invalid_grant"  // RFC 6749 §5.2: grant or refresh token is invalid
	EINVALIDSCOPE  = "invalid_scope"  // RFC 6749 §5.2
	EUNAUTHCLIENT  = "unauth_client"  // RFC 6749 unauthorized_client: grant not allowed for client
	EUNSUPPORTED   = "unsupported"    // RFC 6749 unsupported_grant_type
	EREUSEDETECTED = "reuse_detected" // a rotated-out refresh token was presented; the family is revoked
	EDPOPPROOF     = "dpop_proof"     // RFC 9449 invalid_dpop_proof: a DPoP proof is missing, malformed or wrong
	EDPOPNONCE     = "dpop_nonce"     // RFC 9449 §8 use_dpop_nonce: retry with the server's DPoP-Nonce
)

// Error is the one error type that crosses package boundaries. Message is
// safe to show to the caller; Err is the cause, for logs only.
type Error struct {
	Code       string
	Message    string
	Err        error
	RetryAfter time.Duration // for ERATELIMITED and ESLOWDOWN
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted public message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected failure. The message shown to callers is
// generic; the cause goes to the logs.
func Internal(err error, context string) *Error {
	return &Error{Code: EINTERNAL, Message: "internal error", Err: fmt.Errorf("%s: %w", context, err)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the public message of err; never the cause.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// RetryAfter returns how long a caller should wait, if err says so.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
