package printing_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pairgate/pairgate/internal/printing"
	"github.com/pairgate/pairgate/internal/testenv"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// TestProbeRealPrinter asks a real IPP Everywhere printer (ippeveprinter)
// what it is, and a port where nothing answers, and one that answers
// something that is not IPP.
func TestProbeRealPrinter(t *testing.T) {
	p := testenv.StartIPPPrinter(t, "Probe Test")
	pr := printing.NewProber(3*time.Second, time.Now)
	st := pr.Check(ctx(t), "prn_1", p.URI)
	if !st.Reachable || st.MakeAndModel != testenv.IPPPrinterMakeAndModel || st.State != "idle" {
		t.Fatalf("probe of %s: %+v\n%s", p.URI, st, p.Output())
	}
	if got := st.Summary(); got != "reachable: "+testenv.IPPPrinterMakeAndModel+", idle" {
		t.Errorf("summary %q", got)
	}
	if last, ok := pr.Last("prn_1", p.URI); !ok || last.MakeAndModel != st.MakeAndModel {
		t.Errorf("last status not remembered: %+v %v", last, ok)
	}
	if _, ok := pr.Last("prn_1", "ipp://elsewhere/ipp/print"); ok {
		t.Error("a status is remembered for a URI the printer no longer has")
	}

	// Nothing listens: refused at once.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	st = pr.Probe(ctx(t), "ipp://"+addr+"/ipp/print")
	if st.Reachable || !strings.Contains(st.Summary(), "not reachable: connection refused") {
		t.Errorf("closed port: %+v", st)
	}
	// Something that is not a printer: an HTTP server that says 404.
	ln, _ = net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, 4096)
				c.Read(buf)
				c.Write([]byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
				c.Close()
			}()
		}
	}()
	st = pr.Probe(ctx(t), "ipp://"+ln.Addr().String()+"/ipp/print")
	if st.Reachable || !strings.Contains(st.Error, "HTTP 404") {
		t.Errorf("HTTP server: %+v", st)
	}
	// A socket printer cannot be asked; neither can a link-local address
	// (cloud metadata services live there).
	if st := pr.Probe(ctx(t), "socket://127.0.0.1:9100"); st.Reachable || !strings.Contains(st.Error, "only ipp") {
		t.Errorf("socket: %+v", st)
	}
	if st := pr.Probe(ctx(t), "ipp://169.254.169.254/ipp/print"); st.Reachable || !strings.Contains(st.Error, "not one a printer can have") {
		t.Errorf("link-local: %+v", st)
	}
}
