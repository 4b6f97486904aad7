package printing

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The few parts of IPP/1.1's encoding (RFC 8010) that a Get-Printer-
// Attributes request and its answer need. The maintained Go IPP
// libraries (OpenPrinting's goipp, phin1x's go-ipp) are not served by the
// module proxy this project builds with, and the encoding is small: a
// request is a header and a list of tag-name-value triples, and an answer
// is read the same way, whatever attribute syntaxes it holds, because
// every value (collections included) carries its own length.

// IPP tags (RFC 8010 §3.5).
const (
	tagOperationGroup = 0x01
	tagEndOfAttrs     = 0x03

	tagInteger           = 0x21
	tagBoolean           = 0x22
	tagEnum              = 0x23
	tagTextWithLanguage  = 0x35
	tagNameWithLanguage  = 0x36
	tagTextWithoutLang   = 0x41
	tagNameWithoutLang   = 0x42
	tagKeyword           = 0x44
	tagURI               = 0x45
	tagCharset           = 0x47
	tagNaturalLanguage   = 0x48
	opGetPrinterAttrs    = 0x000B
	maxIPPResponseLength = 1 << 20
)

// ippAttr is an attribute of a request.
type ippAttr struct {
	tag    byte
	name   string
	values []string
}

// encodeRequest encodes an IPP/1.1 request with operation attributes only.
func encodeRequest(op uint16, requestID uint32, attrs []ippAttr) []byte {
	b := []byte{1, 1}
	b = binary.BigEndian.AppendUint16(b, op)
	b = binary.BigEndian.AppendUint32(b, requestID)
	b = append(b, tagOperationGroup)
	for _, a := range attrs {
		for i, v := range a.values {
			name := a.name
			if i > 0 {
				name = "" // an additional value of the same attribute
			}
			b = append(b, a.tag)
			b = binary.BigEndian.AppendUint16(b, uint16(len(name)))
			b = append(b, name...)
			b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
			b = append(b, v...)
		}
	}
	return append(b, tagEndOfAttrs)
}

// ippValue is one value of an answer's attribute.
type ippValue struct {
	tag byte
	raw []byte
}

// String is a value of a text, name, keyword, URI or similar syntax as
// text; a text or name with a language is its text.
func (v ippValue) String() string {
	if v.tag == tagTextWithLanguage || v.tag == tagNameWithLanguage {
		if len(v.raw) >= 2 {
			n := int(binary.BigEndian.Uint16(v.raw))
			if 2+n+2 <= len(v.raw) {
				rest := v.raw[2+n:]
				m := int(binary.BigEndian.Uint16(rest))
				if 2+m <= len(rest) {
					return string(rest[2 : 2+m])
				}
			}
		}
		return ""
	}
	return string(v.raw)
}

// Int is an integer or enum value; ok is false for other syntaxes.
func (v ippValue) Int() (int32, bool) {
	if (v.tag == tagInteger || v.tag == tagEnum) && len(v.raw) == 4 {
		return int32(binary.BigEndian.Uint32(v.raw)), true
	}
	return 0, false
}

// ippResponse is a decoded answer: its status and the attributes of every
// group, by name (the first occurrence of a name wins).
type ippResponse struct {
	status    uint16
	requestID uint32
	attrs     map[string][]ippValue
}

var errShortIPP = errors.New("the answer is not IPP: it ends in the middle of an attribute")

// decodeResponse reads an IPP answer. Anything malformed is an error,
// never a panic: the bytes come from whatever the URI points at.
func decodeResponse(b []byte) (*ippResponse, error) {
	if len(b) < 9 {
		return nil, errors.New("the answer is not IPP: it is too short")
	}
	if b[0] < 1 || b[0] > 2 {
		return nil, fmt.Errorf("the answer is not IPP/1.x or 2.x (version %d.%d)", b[0], b[1])
	}
	r := &ippResponse{status: binary.BigEndian.Uint16(b[2:4]), requestID: binary.BigEndian.Uint32(b[4:8]), attrs: map[string][]ippValue{}}
	i := 8
	var last string
	seen := map[string]bool{}
	for {
		if i >= len(b) {
			return nil, errShortIPP
		}
		tag := b[i]
		i++
		if tag == tagEndOfAttrs {
			return r, nil
		}
		if tag < 0x10 {
			// A delimiter: the next group begins.
			last = ""
			continue
		}
		if i+2 > len(b) {
			return nil, errShortIPP
		}
		n := int(binary.BigEndian.Uint16(b[i:]))
		i += 2
		if i+n+2 > len(b) {
			return nil, errShortIPP
		}
		name := string(b[i : i+n])
		i += n
		m := int(binary.BigEndian.Uint16(b[i:]))
		i += 2
		if i+m > len(b) {
			return nil, errShortIPP
		}
		v := ippValue{tag: tag, raw: b[i : i+m]}
		i += m
		switch {
		case name != "":
			last = name
			if seen[name] {
				// The same name in another group (or a collection's
				// member): keep the first.
				last = ""
				continue
			}
			seen[name] = true
			r.attrs[name] = []ippValue{v}
		case last != "":
			r.attrs[last] = append(r.attrs[last], v)
		}
	}
}

// statusText names the IPP status codes a printer is likely to answer
// with (RFC 8011 §5.4.15).
func statusText(s uint16) string {
	switch s {
	case 0x0400:
		return "client-error-bad-request"
	case 0x0401:
		return "client-error-forbidden"
	case 0x0402:
		return "client-error-not-authenticated"
	case 0x0403:
		return "client-error-not-authorized"
	case 0x0406:
		return "client-error-not-found"
	case 0x0500:
		return "server-error-internal-error"
	case 0x0501:
		return "server-error-operation-not-supported"
	case 0x0503:
		return "server-error-version-not-supported"
	}
	return "status"
}
