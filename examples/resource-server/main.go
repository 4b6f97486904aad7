// Command resource-server is a service that accepts pairgate's access
// tokens with the verify package: it checks each token's signature,
// issuer, audience, expiry, scope and — through pairgate's token status
// list — whether its device was deleted, signed out or revoked since.
//
//	go run ./examples/resource-server --issuer https://pairgate.example.com --addr :9000
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/pairgate/pairgate/verify"
)

func main() {
	issuer := flag.String("issuer", "http://localhost:8080", "pairgate's issuer URL")
	addr := flag.String("addr", ":9000", "address to listen on")
	scope := flag.String("scope", "printing", "scope every token must have")
	stale := flag.Duration("max-staleness", 10*time.Minute, "refuse tokens once pairgate's status list is this old and cannot be fetched")
	flag.Parse()

	v, err := verify.New(verify.Config{Issuer: *issuer, Scopes: []string{*scope}, MaxStaleness: *stale})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("GET /hello", v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := verify.FromContext(r.Context())
		fmt.Fprintf(w, "hello, device %s\n", tok.DeviceID)
	})))
	log.Printf("resource server on %s, trusting %s", *addr, *issuer)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
