// Package httpx is what every HTTP audience of pairgate shares: handlers
// that return errors to one writer, form-or-JSON parameter decoding with a
// body limit, JSON responses, security headers, and the client IP behind
// trusted proxies. It knows no OAuth, HTML or admin API specifics.
package httpx
