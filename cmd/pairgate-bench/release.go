package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/release"
)

// The held queue (the Release Portal): how many 100 KB jobs a second its
// IPP endpoint holds (each read, sealed in chunks, stored with its quota
// in one transaction, and audited), beside a bare handler reading the
// same bodies; and how long a release takes to reach a real printer
// (ippeveprinter), from the click to the printer's acceptance and to its
// "completed".

// heldQueueSteps are the held queue's runs, after the others.
func heldQueueSteps(b *bench) []struct {
	name string
	fn   func() (result, error)
} {
	return []struct {
		name string
		fn   func() (result, error)
	}{{"held_submit", b.heldSubmit}, {"release_latency", b.releaseLatency}}
}

// heldJobSize is the document of every submitted job: a few pages of a
// PDF, or a page of a scanned image.
const heldJobSize = 100 << 10

// document is heldJobSize bytes of random text: sealed, it is as large as
// any document, and a printer takes it as text/plain (ippeveprinter
// refuses bytes it cannot recognize as octet-stream, as printers do).
func document() []byte {
	doc := make([]byte, heldJobSize)
	rand.Read(doc)
	for i := range doc {
		doc[i] = 'a' + doc[i]%26
		if i%80 == 79 {
			doc[i] = '\n'
		}
	}
	return doc
}

// ippHeldQueue is the held queue's http URL on this run's server.
func (b *bench) ippHeldQueue() (string, error) {
	q := b.app.HeldQueueURI()
	if q == "" {
		return "", fmt.Errorf("the server has no IPP listener")
	}
	return "http://" + strings.TrimPrefix(q, "ipp://"), nil
}

// printJob is the attributes of a Print-Job to the held queue.
func printJob(queue, user string) []byte {
	m := goipp.NewRequest(goipp.MakeVersion(2, 0), goipp.OpPrintJob, 1)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(queue)))
	m.Operation.Add(goipp.MakeAttribute("requesting-user-name", goipp.TagName, goipp.String(user)))
	m.Operation.Add(goipp.MakeAttribute("job-name", goipp.TagName, goipp.String("bench.txt")))
	m.Operation.Add(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String("text/plain")))
	b, _ := m.EncodeBytes()
	return b
}

// ippOK reports whether an IPP answer says successful-ok.
func ippOK(status int, body []byte) bool {
	return status == 200 && len(body) >= 8 && binary.BigEndian.Uint16(body[2:4]) == uint16(goipp.StatusOk)
}

// heldSubmit drives Print-Job of 100 KB documents, each worker as a
// device of its own (device-mode, Bearer), and measures a bare handler
// taking the same request bodies in the same run.
func (b *bench) heldSubmit() (result, error) {
	queue, err := b.ippHeldQueue()
	if err != nil {
		return result{}, err
	}
	toks, err := b.authorize(b.conc)
	if err != nil {
		return result{}, err
	}
	body := append(printJob(b.app.HeldQueueURI(), "bench"), document()...)
	mk := func(target string, auth func(w int) string) request {
		return func(w int) (*http.Request, func(int, []byte) bool) {
			req, _ := http.NewRequest("POST", target, bytes.NewReader(body))
			req.Header.Set("Content-Type", goipp.ContentType)
			if auth != nil {
				req.Header.Set("Authorization", auth(w))
			}
			return req, ippOK
		}
	}
	r, err := b.drive("held job submit (100 KB)", mk(queue, func(w int) string { return "Bearer " + toks[w]["access_token"].(string) }))
	if err != nil {
		return r, err
	}
	// The bare handler answers a fixed IPP success after reading the body.
	bare, err := startBareIPP()
	if err != nil {
		return r, err
	}
	defer bare.Close()
	br, err := b.drive("bare, 100 KB bodies", mk("http://"+bare.Addr().String()+"/ipp/print", nil))
	if err != nil {
		return r, err
	}
	r.note = fmt.Sprintf("%.2f MB/s held; a bare handler reading the same bodies: %.0f req/s, p50 %s (%.2f of it)",
		r.rps()*heldJobSize/1e6, br.rps(), ms(br.p50), r.rps()/br.rps())
	return r, nil
}

func startBareIPP() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m := goipp.NewResponse(goipp.MakeVersion(2, 0), goipp.StatusOk, 1)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	answer, _ := m.EncodeBytes()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", goipp.ContentType)
		w.Write(answer)
	})}
	go srv.Serve(ln)
	return ln, nil
}

// releaseJobs is how many jobs the release run releases, one at a time.
const releaseJobs = 30

// releaseLatency releases held 100 KB jobs one at a time to a real
// ippeveprinter (which finishes each at once: its print command is
// true(1)) and measures, per job, the time from Release to the printer's
// acceptance (sent: pairgate read, opened and streamed the document,
// Print-Job answered) and to done (the printer said completed, learnt by
// polling Get-Job-Attributes after 0.1 s, then less and less often).
func (b *bench) releaseLatency() (result, error) {
	ctx := context.Background()
	printer, stop, err := startIPPEvePrinter()
	if err != nil {
		return result{}, err
	}
	defer stop()
	host := b.app.Admin
	actor := admin.HostActor("pairgate-bench")
	name, uri := "Bench Printer", printer
	p, err := host.CreatePrinter(ctx, actor, admin.PrinterChange{Name: &name, URI: &uri})
	if err != nil {
		return result{}, err
	}
	if _, err := host.CreateDeployment(ctx, actor, admin.NewDeployment{PrinterIDs: []string{p.ID}, Target: pairgate.DeploymentTarget{All: true}}); err != nil {
		return result{}, err
	}
	owner, err := b.app.Store.GetUserByUsername(ctx, "admin")
	if err != nil {
		return result{}, err
	}
	toks, err := b.authorize(1)
	if err != nil {
		return result{}, err
	}
	queue, err := b.ippHeldQueue()
	if err != nil {
		return result{}, err
	}
	doc := document()
	// The jobs are the admin's: a device-mode device sends them in the
	// admin's name, which the Release Portal shows the admin.
	body := append(printJob(b.app.HeldQueueURI(), owner.Username), doc...)
	var ids []int64
	for range releaseJobs {
		req, _ := http.NewRequest("POST", queue, bytes.NewReader(body))
		req.Header.Set("Content-Type", goipp.ContentType)
		req.Header.Set("Authorization", "Bearer "+toks[0]["access_token"].(string))
		resp, err := b.client.Do(req)
		if err != nil {
			return result{}, err
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var m goipp.Message
		if !ippOK(resp.StatusCode, raw) || m.DecodeBytes(raw) != nil {
			return result{}, fmt.Errorf("hold a job: HTTP %d %x", resp.StatusCode, raw)
		}
		for _, a := range m.Job {
			if a.Name == "job-id" {
				n, _ := strconv.Atoi(a.Values[0].V.String())
				ids = append(ids, int64(n))
			}
		}
	}
	v := release.Viewer{User: owner, IP: "127.0.0.1"}
	var toSent, toDone []time.Duration
	errs := 0
	start := time.Now()
	for _, id := range ids {
		t0 := time.Now()
		out, err := b.app.Jobs.Release(ctx, v, []int64{id}, p.ID)
		if err != nil || out[0].Err != nil {
			return result{}, fmt.Errorf("release job %d: %v %v", id, err, out)
		}
		sent := false
		for deadline := t0.Add(time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
			j, err := b.app.Store.GetHeldJob(ctx, id)
			if err != nil {
				return result{}, err
			}
			if !sent && (j.State == pairgate.JobSent || j.State == pairgate.JobPrinting || j.State == pairgate.JobDone) {
				sent = true
				toSent = append(toSent, time.Since(t0))
			}
			if j.State == pairgate.JobDone {
				toDone = append(toDone, time.Since(t0))
				break
			}
			if j.State == pairgate.JobFailed {
				errs++
				fmt.Fprintf(os.Stderr, "  job %d failed: %s\n", id, j.Reason)
				break
			}
		}
	}
	elapsed := time.Since(start)
	if len(toSent) == 0 || len(toDone) == 0 {
		return result{}, fmt.Errorf("no job reached the printer")
	}
	slices.Sort(toSent)
	slices.Sort(toDone)
	return result{name: "release to ippeveprinter (100 KB)", n: len(toSent), errors: errs, elapsed: elapsed,
		p50: toSent[len(toSent)/2], p99: toSent[len(toSent)*99/100],
		note: fmt.Sprintf("one at a time; p50/p99 to the printer's acceptance; to its \"completed\" (asked after 0.1 s, then less often): p50 %s, p99 %s",
			ms(toDone[len(toDone)/2]), ms(toDone[len(toDone)*99/100]))}, nil
}

// startIPPEvePrinter starts CUPS's ippeveprinter on a loopback port
// (it needs DNS-SD: a running avahi-daemon, see shared/PRINTING.md) and
// returns its ipp:// URI.
func startIPPEvePrinter() (string, func(), error) {
	if _, err := exec.LookPath("ippeveprinter"); err != nil {
		return "", nil, fmt.Errorf("ippeveprinter is not installed (Debian's cups-ipp-utils): %w", err)
	}
	if exec.Command("avahi-daemon", "--check").Run() != nil {
		return "", nil, fmt.Errorf("ippeveprinter needs DNS-SD: start D-Bus and Avahi first (mkdir -p /run/dbus && dbus-daemon --system --fork && avahi-daemon -D --no-chroot)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	spool, err := os.MkdirTemp("", "pairgate-bench-ipp-")
	if err != nil {
		return "", nil, err
	}
	truePath, err := exec.LookPath("true")
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command("ippeveprinter", "-p", strconv.Itoa(port), "-n", "localhost", "-d", spool, "-c", truePath,
		"-f", "application/pdf,text/plain,application/octet-stream", "Bench Printer")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		cmd.Process.Kill()
		cmd.Wait()
		os.RemoveAll(spool)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if i > 150 {
			stop()
			return "", nil, fmt.Errorf("ippeveprinter did not start: %s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "ipp://" + addr + "/ipp/print", stop, nil
}
