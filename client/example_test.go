package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"testing"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/client"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/app"
)

// In the examples, exampleServer is the pairgate server's URL and
// exampleCode an authorization code its administrator generated. TestMain
// runs a real server on loopback for them, so that the examples run as
// tests.
var exampleServer, exampleCode string

func TestMain(m *testing.M) {
	stop, err := startExampleServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, "example server:", err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

func startExampleServer() (func(), error) {
	dir, err := os.MkdirTemp("", "pairgate-example")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cfg := app.Default()
	cfg.Addr = ln.Addr().String()
	cfg.Issuer = "http://" + cfg.Addr
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.AdminPassword = "example admin password"
	cfg.MetricsAddr = ""
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, app.Options{})
	if err != nil {
		cancel()
		return nil, err
	}
	done := make(chan struct{})
	go func() { a.Serve(ctx, ln); close(done) }()
	code, _, err := a.Admin.CreateCode(ctx, admin.HostActor("example"), pairgate.TTL24Hours)
	if err != nil {
		cancel()
		return nil, err
	}
	exampleServer, exampleCode = cfg.Issuer, code
	return func() {
		cancel()
		<-done
		a.Close()
		os.RemoveAll(dir)
	}, nil
}

// An install script's device: redeem the code an administrator handed
// out, keep the credentials, and from then on make authorized requests
// whose tokens refresh (and rotate, crash-safely) on their own.
func ExampleClient_Authorize() {
	ctx := context.Background()
	c, err := client.New(ctx, client.Config{Server: exampleServer})
	if err != nil {
		log.Fatal(err)
	}
	creds, err := c.Authorize(ctx, exampleCode, client.AuthorizeOptions{DeviceName: "Printer 7", HardwareID: "SN-0007"})
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "device")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store := &client.FileStore{Path: filepath.Join(dir, "device.json")}
	if err := store.Save(ctx, creds); err != nil {
		log.Fatal(err)
	}

	// Any later run of the program needs only the store. The HTTP client
	// signs each request with the device's key (DPoP).
	hc := (&client.TokenSource{Store: store}).Client(nil)
	resp, err := hc.Get(exampleServer + "/api/v1/device")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var me struct {
		Name       string `json:"name"`
		HardwareID string `json:"hardware_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&me); err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status, me.Name, me.HardwareID)
	// Output: 200 OK Printer 7 SN-0007
}

// A device with a display pairs with a person's approval (RFC 8628). This
// example needs a person, so it is compiled but not run.
func ExampleClient_Pair() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c, err := client.New(ctx, client.Config{Server: "https://pairgate.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	hwid, err := client.MachineHardwareID(client.DefaultClientID)
	if err != nil {
		log.Fatal(err)
	}
	creds, err := c.Pair(ctx, client.PairOptions{DeviceName: "Lobby printer", HardwareID: hwid, Show: func(p client.Prompt) error {
		fmt.Printf("Open %s and enter %s\n", p.VerificationURI, p.UserCode)
		return nil
	}})
	if err != nil {
		log.Fatal(err)
	}
	path, err := client.DefaultFile()
	if err != nil {
		log.Fatal(err)
	}
	if err := (&client.FileStore{Path: path}).Save(ctx, creds); err != nil {
		log.Fatal(err)
	}
}
