package printing

import (
	"fmt"

	"github.com/OpenPrinting/goipp"
)

// IPP messages (RFC 8010) are encoded and decoded by OpenPrinting's goipp;
// this file holds the one request the check sends and how its answer is
// read.

// maxIPPResponseLength bounds what a printer's answer may be.
const maxIPPResponseLength = 1 << 20

// requested are the printer attributes a check asks for.
var requested = []string{"printer-make-and-model", "printer-state", "printer-state-reasons"}

// getPrinterAttributes is the check's request to the printer at uri.
func getPrinterAttributes(uri string) ([]byte, error) {
	m := goipp.NewRequest(goipp.MakeVersion(1, 1), goipp.OpGetPrinterAttributes, 1)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(uri)))
	m.Operation.Add(goipp.MakeAttribute("requesting-user-name", goipp.TagName, goipp.String("pairgate")))
	req := goipp.MakeAttribute("requested-attributes", goipp.TagKeyword, goipp.String(requested[0]))
	for _, name := range requested[1:] {
		req.Values.Add(goipp.TagKeyword, goipp.String(name))
	}
	m.Operation.Add(req)
	return m.EncodeBytes()
}

// printerAnswer is a decoded answer: its status and its attributes by
// name, the first of a repeated name winning.
type printerAnswer struct {
	status goipp.Status
	attrs  map[string]goipp.Values
}

func decodePrinterAnswer(b []byte) (*printerAnswer, error) {
	var m goipp.Message
	// The workarounds read the answers of printers known to bend the
	// encoding; a check wants to hear what they say.
	if err := m.DecodeBytesEx(b, goipp.DecoderOptions{EnableWorkarounds: true}); err != nil {
		return nil, fmt.Errorf("its answer is not IPP: %v", err)
	}
	a := &printerAnswer{status: goipp.Status(m.Code), attrs: map[string]goipp.Values{}}
	for _, g := range m.AttrGroups() {
		for _, at := range g.Attrs {
			if _, ok := a.attrs[at.Name]; !ok {
				a.attrs[at.Name] = at.Values
			}
		}
	}
	return a, nil
}

// text is a value as text: the text of a text or name with a language,
// the string of any other.
func text(v goipp.Value) string {
	switch v := v.(type) {
	case goipp.TextWithLang:
		return v.Text
	case goipp.String:
		return string(v)
	}
	return v.String()
}

// integer is an integer or enum value.
func integer(v goipp.Value) (int, bool) {
	n, ok := v.(goipp.Integer)
	return int(n), ok
}
