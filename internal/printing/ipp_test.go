package printing

import (
	"testing"

	"github.com/OpenPrinting/goipp"
)

func answer(t testing.TB, status goipp.Status, printer goipp.Attributes) []byte {
	m := goipp.NewResponse(goipp.MakeVersion(2, 0), status, 7)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Printer = printer
	b, err := m.EncodeBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecodePrinterAnswer: whatever a URI's host answers, reading it
// returns an answer or an error, never a panic.
func FuzzDecodePrinterAnswer(f *testing.F) {
	f.Add(answer(f, goipp.StatusOk, goipp.Attributes{
		goipp.MakeAttribute("printer-make-and-model", goipp.TagText, goipp.String("Acme 1")),
		goipp.MakeAttribute("printer-state", goipp.TagEnum, goipp.Integer(3))}))
	f.Add([]byte{1, 1, 0, 0, 0, 0, 0, 1, 3})
	f.Add([]byte{1, 1, 0, 0, 0, 0, 0, 1, 4, 0x23, 0, 1, 'x', 0, 4, 0, 0, 0, 3, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodePrinterAnswer(b)
		if err == nil {
			for _, vs := range r.attrs {
				for _, v := range vs {
					_ = text(v.V)
					integer(v.V)
				}
			}
		}
	})
}

func TestDecodePrinterAnswer(t *testing.T) {
	reasons := goipp.MakeAttribute("printer-state-reasons", goipp.TagKeyword, goipp.String("media-empty"))
	reasons.Values.Add(goipp.TagKeyword, goipp.String("toner-low"))
	b := answer(t, goipp.StatusOk, goipp.Attributes{
		goipp.MakeAttribute("printer-make-and-model", goipp.TagTextLang, goipp.TextWithLang{Lang: "en", Text: "Acme 1"}),
		goipp.MakeAttribute("printer-state", goipp.TagEnum, goipp.Integer(5)),
		reasons,
	})
	r, err := decodePrinterAnswer(b)
	if err != nil {
		t.Fatal(err)
	}
	if r.status != goipp.StatusOk || text(r.attrs["printer-make-and-model"][0].V) != "Acme 1" {
		t.Fatalf("decoded %+v", r)
	}
	if n, ok := integer(r.attrs["printer-state"][0].V); !ok || n != 5 {
		t.Fatalf("printer-state %v", r.attrs["printer-state"])
	}
	if rs := r.attrs["printer-state-reasons"]; len(rs) != 2 || text(rs[1].V) != "toner-low" {
		t.Fatalf("reasons %v", rs)
	}
	if _, err := decodePrinterAnswer(b[:len(b)-1]); err == nil {
		t.Fatal("a truncated answer decoded")
	}
}

// TestGetPrinterAttributesRequest: the request is one goipp reads back
// as Get-Printer-Attributes for the URI, with the attributes a check
// needs.
func TestGetPrinterAttributesRequest(t *testing.T) {
	b, err := getPrinterAttributes("ipp://printer.example/ipp/print")
	if err != nil {
		t.Fatal(err)
	}
	var m goipp.Message
	if err := m.DecodeBytes(b); err != nil {
		t.Fatal(err)
	}
	if goipp.Op(m.Code) != goipp.OpGetPrinterAttributes || len(m.Operation) != 5 || m.Operation[0].Name != "attributes-charset" ||
		m.Operation[2].Values[0].V.String() != "ipp://printer.example/ipp/print" || len(m.Operation[4].Values) != len(requested) {
		t.Fatalf("request %+v", m)
	}
}
