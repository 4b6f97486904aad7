package printing

import (
	"encoding/binary"
	"testing"
)

// FuzzDecodeResponse: whatever a URI's host answers, decoding it returns
// an answer or an error, never a panic.
func FuzzDecodeResponse(f *testing.F) {
	ok := []byte{2, 0, 0, 0, 0, 0, 0, 1, tagOperationGroup}
	ok = append(ok, encodeRequest(0, 1, []ippAttr{{tagTextWithoutLang, "printer-make-and-model", []string{"Acme 1"}},
		{tagKeyword, "printer-state-reasons", []string{"none", "toner-low"}}})[9:]...)
	f.Add(ok)
	f.Add([]byte{1, 1, 0, 0, 0, 0, 0, 1, 3})
	f.Add([]byte{1, 1, 0, 0, 0, 0, 0, 1, 4, tagEnum, 0, 1, 'x', 0, 4, 0, 0, 0, 3, 3})
	f.Add([]byte{1, 1, 0, 0, 0, 0, 0, 1, 4, tagTextWithLanguage, 0, 1, 'x', 0, 9, 0, 2, 'e', 'n', 0, 3, 'a', 'b', 'c', 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeResponse(b)
		if err == nil {
			for _, vs := range r.attrs {
				for _, v := range vs {
					_ = v.String()
					v.Int()
				}
			}
		}
	})
}

func TestDecodeResponse(t *testing.T) {
	b := []byte{2, 0, 0, 0}
	b = binary.BigEndian.AppendUint32(b, 7)
	b = append(b, 4) // printer attributes
	add := func(tag byte, name string, v []byte) {
		b = append(b, tag)
		b = binary.BigEndian.AppendUint16(b, uint16(len(name)))
		b = append(b, name...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
		b = append(b, v...)
	}
	add(tagTextWithLanguage, "printer-make-and-model", []byte{0, 2, 'e', 'n', 0, 6, 'A', 'c', 'm', 'e', ' ', '1'})
	add(tagEnum, "printer-state", []byte{0, 0, 0, 5})
	add(tagKeyword, "printer-state-reasons", []byte("media-empty"))
	add(tagKeyword, "", []byte("toner-low"))
	b = append(b, 5) // another group repeating a name: the first wins
	add(tagEnum, "printer-state", []byte{0, 0, 0, 3})
	add(tagKeyword, "", []byte("x"))
	b = append(b, tagEndOfAttrs)
	r, err := decodeResponse(b)
	if err != nil {
		t.Fatal(err)
	}
	if r.requestID != 7 || r.attrs["printer-make-and-model"][0].String() != "Acme 1" {
		t.Fatalf("decoded %+v", r)
	}
	if n, ok := r.attrs["printer-state"][0].Int(); !ok || n != 5 || len(r.attrs["printer-state"]) != 1 {
		t.Fatalf("printer-state %v", r.attrs["printer-state"])
	}
	if rs := r.attrs["printer-state-reasons"]; len(rs) != 2 || rs[1].String() != "toner-low" {
		t.Fatalf("reasons %v", rs)
	}
	if _, err := decodeResponse(b[:len(b)-1]); err == nil {
		t.Fatal("a truncated answer decoded")
	}
}
