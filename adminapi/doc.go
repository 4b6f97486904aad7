// Package adminapi is pairgate's admin JSON API as Go: the request and
// response types, defined once (the server encodes them, the command line
// and any Go program decode them), and a typed client.
//
// It depends on the standard library only, so that scripts and other
// programs can import it without the server:
//
//	c := adminapi.New("https://pairgate.example.com", os.Getenv("PAIRGATE_API_KEY"))
//	code, err := c.CreateCode(ctx, adminapi.NewCode{TTL: "24h"})
//
// Times are RFC 3339 in UTC; a time that does not exist (a code that
// never expires, a device never seen) is null, a nil pointer here.
package adminapi
