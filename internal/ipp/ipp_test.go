package ipp_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// reply is an IPP answer as a test reads it.
type reply struct {
	http   int
	header http.Header
	msg    goipp.Message
	raw    []byte
}

func (r reply) status() goipp.Status { return goipp.Status(r.msg.Code) }

func (r reply) attr(name string) string {
	for _, g := range r.msg.AttrGroups() {
		for _, a := range g.Attrs {
			if a.Name == name && len(a.Values) > 0 {
				return a.Values[0].V.String()
			}
		}
	}
	return ""
}

// post sends raw IPP bytes (and a document) to the held queue.
func post(t *testing.T, uri, auth string, body []byte, header ...string) reply {
	t.Helper()
	req, err := http.NewRequest("POST", strings.Replace(uri, "ipp://", "http://", 1), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/ipp")
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{http: resp.StatusCode, header: resp.Header, raw: raw}
	if resp.Header.Get("Content-Type") == "application/ipp" {
		if err := r.msg.DecodeBytes(raw); err != nil {
			t.Fatalf("the answer is not well-formed IPP: %v\n%x", err, raw)
		}
	}
	return r
}

func send(t *testing.T, uri, token string, m *goipp.Message, doc []byte) reply {
	t.Helper()
	b, err := m.EncodeBytes()
	if err != nil {
		t.Fatal(err)
	}
	return post(t, uri, token, append(b, doc...))
}

// request is an IPP request to the queue, with the attributes every one
// needs.
func request(op goipp.Op, uri string, id uint32) *goipp.Message {
	m := goipp.NewRequest(goipp.MakeVersion(2, 0), op, id)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(uri)))
	return m
}

func printJob(uri, user, name, format string) *goipp.Message {
	m := request(goipp.OpPrintJob, uri, 7)
	if user != "" {
		m.Operation.Add(goipp.MakeAttribute("requesting-user-name", goipp.TagName, goipp.String(user)))
	}
	m.Operation.Add(goipp.MakeAttribute("job-name", goipp.TagName, goipp.String(name)))
	m.Operation.Add(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String(format)))
	return m
}

func heldJobs(t *testing.T, s *testenv.Server) []*pairgate.HeldJob {
	t.Helper()
	js, err := s.App.Store.ListHeldJobs(context.Background(), pairgate.HeldJobFilter{All: true})
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// TestPrintJobIsHeld: a job printed to the queue is held, owned by the
// person behind a user-mode token, or by the name a device-mode client
// claims (marked as a claim); the device sees it with Get-Jobs and
// Get-Job-Attributes and can cancel it; nothing is printed.
func TestPrintJobIsHeld(t *testing.T) {
	s := testenv.StartServer(t)
	shared := s.EnrollDevice(t, "Shared-PC")
	alice := s.CreateUser(t, "alice", pairgate.RoleUser)
	laptop := s.PairUserDevice(t, "Alice's laptop", alice)

	doc := []byte("Quarterly report\n")
	r := send(t, s.IPP, shared.Token, printJob(s.IPP, "bob", "report.txt", "text/plain"), doc)
	if r.http != 200 || r.status() != goipp.StatusOk || r.msg.RequestID != 7 || r.attr("job-state") != "4" {
		t.Fatalf("Print-Job: HTTP %d %v %s", r.http, r.status(), r.attr("status-message"))
	}
	bobJob := r.attr("job-id")
	if !strings.HasPrefix(r.attr("job-uri"), s.IPP+"/jobs/") || !strings.Contains(r.attr("status-message"), s.URL+"/release") {
		t.Fatalf("job-uri %q, message %q", r.attr("job-uri"), r.attr("status-message"))
	}
	// The user-mode token says whose job it is; the name sent is ignored.
	r = send(t, s.IPP, laptop.Token, printJob(s.IPP, "mallory", "notes.pdf", "application/pdf"), []byte("%PDF-1.7 notes"))
	if r.status() != goipp.StatusOk {
		t.Fatalf("Print-Job (user mode): %v %s", r.status(), r.attr("status-message"))
	}
	js := heldJobs(t, s)
	if len(js) != 2 {
		t.Fatalf("%d jobs held", len(js))
	}
	b, a := js[0], js[1]
	if b.OwnerName != "bob" || b.Verified() || b.DeviceID != shared.DeviceID || b.DeviceName != "Shared-PC" || b.Name != "report.txt" ||
		b.Format != "text/plain" || b.Size != int64(len(doc)) || b.State != pairgate.JobHeld {
		t.Errorf("device-mode job: %+v", b)
	}
	if a.OwnerUserID != alice.ID || a.OwnerName != "alice" || !a.Verified() || a.DeviceID != laptop.DeviceID {
		t.Errorf("user-mode job: %+v", a)
	}

	// Validate-Job holds nothing.
	v := printJob(s.IPP, "bob", "x", "application/pdf")
	v.Code = goipp.Code(goipp.OpValidateJob)
	if r := send(t, s.IPP, shared.Token, v, nil); r.status() != goipp.StatusOk {
		t.Fatalf("Validate-Job: %v %s", r.status(), r.attr("status-message"))
	}
	// Get-Jobs: each device sees its own.
	g := request(goipp.OpGetJobs, s.IPP, 8)
	g.Operation.Add(goipp.MakeAttribute("requested-attributes", goipp.TagKeyword, goipp.String("job-name")))
	r = send(t, s.IPP, shared.Token, g, nil)
	if r.status() != goipp.StatusOk || r.attr("job-id") != bobJob || r.attr("job-name") != "report.txt" || strings.Contains(string(r.raw), "notes.pdf") {
		t.Fatalf("Get-Jobs: %v %q", r.status(), r.raw)
	}
	ga := request(goipp.OpGetJobAttributes, s.IPP, 9)
	ga.Operation.Add(goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(a.ID)))
	if r := send(t, s.IPP, shared.Token, ga, nil); r.status() != goipp.StatusErrorNotFound {
		t.Fatalf("another's job: %v", r.status())
	}
	if r := send(t, s.IPP, laptop.Token, ga, nil); r.status() != goipp.StatusOk || r.attr("job-originating-user-name") != "alice" {
		t.Fatalf("Get-Job-Attributes: %v %s", r.status(), r.attr("job-originating-user-name"))
	}
	// Get-Printer-Attributes says what the queue takes.
	r = send(t, s.IPP, shared.Token, request(goipp.OpGetPrinterAttributes, s.IPP, 10), nil)
	if r.status() != goipp.StatusOk || r.attr("printer-uri-supported") != s.IPP || r.attr("queued-job-count") != "1" ||
		!strings.Contains(string(r.raw), "application/pdf") {
		t.Fatalf("Get-Printer-Attributes: %v %s %s", r.status(), r.attr("printer-uri-supported"), r.attr("queued-job-count"))
	}
	// Cancel-Job by job-uri deletes it.
	c := request(goipp.OpCancelJob, s.IPP, 11)
	c.Operation.Add(goipp.MakeAttribute("job-uri", goipp.TagURI, goipp.String(s.IPP+"/jobs/"+bobJob)))
	if r := send(t, s.IPP, laptop.Token, c, nil); r.status() != goipp.StatusErrorNotFound {
		t.Fatalf("cancel another's job: %v", r.status())
	}
	if r := send(t, s.IPP, shared.Token, c, nil); r.status() != goipp.StatusOk {
		t.Fatalf("Cancel-Job: %v %s", r.status(), r.attr("status-message"))
	}
	if js := heldJobs(t, s); len(js) != 1 || js[0].ID != a.ID {
		t.Fatalf("after cancel: %v", js)
	}
	if got := strings.Join(s.AuditActions(t, "job."), ","); got != "job.submitted,job.submitted,job.deleted" {
		t.Fatalf("audit: %s", got)
	}
	// A deleted device submits no more; its person's held job stays hers.
	if err := s.App.Admin.DeleteDevice(context.Background(), s.AdminActor(t), laptop.DeviceID); err != nil {
		t.Fatal(err)
	}
	if r := send(t, s.IPP, laptop.Token, printJob(s.IPP, "", "more.pdf", "application/pdf"), []byte("%PDF")); r.http != 401 ||
		r.status() != goipp.StatusErrorNotAuthenticated {
		t.Fatalf("a deleted device's Print-Job: HTTP %d %v", r.http, r.status())
	}
	if js := heldJobs(t, s); len(js) != 1 || js[0].ID != a.ID || js[0].OwnerUserID != alice.ID {
		t.Fatalf("after the device was deleted: %+v", js)
	}
	// The document is kept sealed: its bytes are nowhere in the database.
	if db, err := testenv.ReadDatabaseFiles(s); err != nil || bytes.Contains(db, []byte("%PDF-1.7 notes")) {
		t.Fatalf("the document is readable in the database (%v)", err)
	}
}

// TestBadInputGetsAClearIPPError: every request the queue cannot take is
// answered with the HTTP status and the IPP status that say why, in a
// well-formed IPP answer wherever the request could be read, and holds
// nothing.
func TestBadInputGetsAClearIPPError(t *testing.T) {
	s := testenv.StartServer(t, testenv.WithConfig(func(c *app.Config) { c.JobMaxMB, c.JobQuotaMB = 1, 2 }))
	dev := s.EnrollDevice(t, "PC-1")
	gone := s.EnrollDevice(t, "PC-2")
	if err := s.App.Admin.DeleteDevice(context.Background(), s.AdminActor(t), gone.DeviceID); err != nil {
		t.Fatal(err)
	}
	enc := func(m *goipp.Message) []byte {
		b, err := m.EncodeBytes()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := func() *goipp.Message { return printJob(s.IPP, "bob", "x", "text/plain") }
	oneMiB := bytes.Repeat([]byte("x"), 1<<20)
	noCharset := goipp.NewRequest(goipp.MakeVersion(2, 0), goipp.OpPrintJob, 3)
	noCharset.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(s.IPP)))
	badVersion := good()
	badVersion.Version = goipp.MakeVersion(9, 0)
	unknownOp := request(goipp.OpPausePrinter, s.IPP, 4)
	vendorOp := request(goipp.Op(0x4027), s.IPP, 5)
	noUser := printJob(s.IPP, "", "x", "text/plain")
	word := printJob(s.IPP, "bob", "x", "application/msword")
	compressed := good()
	compressed.Operation.Add(goipp.MakeAttribute("compression", goipp.TagKeyword, goipp.String("gzip")))
	copies := good()
	copies.Job.Add(goipp.MakeAttribute("copies", goipp.TagInteger, goipp.Integer(1000)))
	noURI := goipp.NewRequest(goipp.MakeVersion(2, 0), goipp.OpPrintJob, 6)
	noURI.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	noURI.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	header := enc(good())

	for _, tc := range []struct {
		name   string
		token  string
		body   []byte
		http   int
		status goipp.Status
	}{
		{"no token", "", append(enc(good()), 'x'), 401, goipp.StatusErrorNotAuthenticated},
		{"a token that is not one", "not-a-token", append(enc(good()), 'x'), 401, goipp.StatusErrorNotAuthenticated},
		{"a token of a deleted device", gone.Token, append(enc(good()), 'x'), 401, goipp.StatusErrorNotAuthenticated},
		{"not IPP at all", dev.Token, []byte("GET / HTTP/1.1\r\n\r\n"), 400, goipp.StatusErrorBadRequest},
		{"cut short", dev.Token, header[:len(header)-5], 400, goipp.StatusErrorBadRequest},
		{"empty", dev.Token, nil, 400, goipp.StatusErrorBadRequest},
		{"attributes of more than 64 KiB", dev.Token, nil, 400, goipp.StatusErrorBadRequest},
		{"no charset", dev.Token, enc(noCharset), 200, goipp.StatusErrorBadRequest},
		{"no printer-uri", dev.Token, append(enc(noURI), 'x'), 200, goipp.StatusErrorBadRequest},
		{"IPP 9.0", dev.Token, append(enc(badVersion), 'x'), 200, goipp.StatusErrorVersionNotSupported},
		{"Pause-Printer", dev.Token, enc(unknownOp), 200, goipp.StatusErrorOperationNotSupported},
		{"a vendor operation", dev.Token, enc(vendorOp), 200, goipp.StatusErrorOperationNotSupported},
		{"no document", dev.Token, enc(good()), 200, goipp.StatusErrorBadRequest},
		{"a device-mode job without a user name", dev.Token, append(enc(noUser), 'x'), 200, goipp.StatusErrorBadRequest},
		{"a format not held", dev.Token, append(enc(word), 'x'), 200, goipp.StatusErrorDocumentFormatNotSupported},
		{"compressed", dev.Token, append(enc(compressed), 'x'), 200, goipp.StatusErrorCompressionNotSupported},
		{"1000 copies", dev.Token, append(enc(copies), 'x'), 200, goipp.StatusErrorAttributesOrValues},
		{"over the size limit", dev.Token, append(append(enc(good()), oneMiB...), 'x'), 200, goipp.StatusErrorRequestEntity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if tc.name == "attributes of more than 64 KiB" {
				m := good()
				m.Operation.Add(goipp.MakeAttribute("job-name", goipp.TagName, goipp.String(strings.Repeat("n", 30000))))
				m.Operation.Add(goipp.MakeAttribute("document-name", goipp.TagName, goipp.String(strings.Repeat("n", 30000))))
				m.Operation.Add(goipp.MakeAttribute("x-long", goipp.TagText, goipp.String(strings.Repeat("n", 30000))))
				body = append(enc(m), 'x')
			}
			r := post(t, s.IPP, tc.token, body)
			if r.http != tc.http || r.header.Get("Content-Type") != "application/ipp" || r.status() != tc.status {
				t.Fatalf("HTTP %d %s, IPP %v (%s); want HTTP %d, IPP %v", r.http, r.header.Get("Content-Type"), r.status(),
					r.attr("status-message"), tc.http, tc.status)
			}
			if r.attr("status-message") == "" || r.attr("attributes-charset") != "utf-8" {
				t.Errorf("no status-message or charset: %q", r.raw)
			}
			if tc.http == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate: %q", r.header.Get("WWW-Authenticate"))
			}
			t.Logf("%v: %s", r.status(), r.attr("status-message"))
		})
	}
	if js := heldJobs(t, s); len(js) != 0 {
		t.Fatalf("bad requests held %d jobs", len(js))
	}

	// Not IPP over HTTP at all: the HTTP status says it.
	for _, tc := range []struct {
		method, path, ct string
		want             int
	}{
		{"GET", "/ipp/print", "application/ipp", 405},
		{"POST", "/ipp/print", "text/plain", 415},
		{"POST", "/", "application/ipp", 404},
		{"POST", "/admin", "application/ipp", 404},
	} {
		req, _ := http.NewRequest(tc.method, "http://"+s.App.IPPAddr()+tc.path, nil)
		req.Header.Set("Content-Type", tc.ct)
		req.Header.Set("Authorization", "Bearer "+dev.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s (%s): %d, want %d", tc.method, tc.path, tc.ct, resp.StatusCode, tc.want)
		}
	}

	// The quota: two jobs of 1 MiB fill it; a third is refused and not held.
	for i := range 3 {
		r := send(t, s.IPP, dev.Token, good(), oneMiB[:1<<20-1])
		want := goipp.StatusOk
		if i == 2 {
			want = goipp.StatusErrorRequestEntity
		}
		if r.status() != want {
			t.Fatalf("job %d: %v (%s), want %v", i, r.status(), r.attr("status-message"), want)
		}
	}
	if js := heldJobs(t, s); len(js) != 2 {
		t.Fatalf("%d jobs held over the quota", len(js))
	}
	if got := strings.Join(s.AuditActions(t, "job."), ","); got != "job.submitted,job.submitted" {
		t.Fatalf("audit: %s", got)
	}
}
