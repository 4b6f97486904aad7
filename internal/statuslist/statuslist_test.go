package statuslist

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"io"
	"testing"
)

// TestEncodeFollowsTheDraft: draft-ietf-oauth-status-list §4.1 puts
// status i in bit i%8 of byte i/8, least significant bit first: indexes
// 1, 4, 5, 6 and 9, 11, 15 are the bytes 0x72 and 0x8a, compressed in the
// ZLIB format.
func TestEncodeFollowsTheDraft(t *testing.T) {
	set := []int64{1, 4, 5, 6, 9, 11, 15}
	lst, err := Encode(16, set)
	if err != nil {
		t.Fatal(err)
	}
	b, err := base64.RawURLEncoding.DecodeString(lst)
	if err != nil {
		t.Fatal(err)
	}
	r, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not ZLIB: %v", err)
	}
	raw, _ := io.ReadAll(r)
	if len(raw) != 2 || raw[0] != 0x72 || raw[1] != 0x8a {
		t.Fatalf("bits %x, want 728a", raw)
	}
	if _, err := Encode(16, []int64{16}); err == nil {
		t.Fatal("an index outside the list was encoded")
	}
}

func TestURIAndListNumber(t *testing.T) {
	if got := URI("https://p.example", Size+3); got != "https://p.example/statuslists/1" {
		t.Fatalf("URI %q", got)
	}
	for in, ok := range map[string]bool{"0": true, "12": true, "": false, "01": false, "-1": false, "1e3": false, "9999999999999": false} {
		if _, got := ListNumber(in); got != ok {
			t.Errorf("ListNumber(%q) ok = %v", in, got)
		}
	}
}
