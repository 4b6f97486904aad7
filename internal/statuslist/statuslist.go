// Package statuslist encodes the token status lists of
// draft-ietf-oauth-status-list: a bit per authorization, set when it was
// revoked, compressed with DEFLATE in the ZLIB format and published as a
// signed JWT, so that resource servers that verify pairgate's access
// tokens themselves learn of a revocation within the list's ttl, without
// asking pairgate about every token.
//
// An access token carries its authorization's index and the URI of the
// list that holds it: {"status": {"status_list": {"idx": 7, "uri":
// "https://…/statuslists/0"}}}. Lists are shards of Size indexes each, so
// that a million authorizations fit in one list and any number in a few.
package statuslist

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// Size is how many indexes one list holds: 2^20, 128 KiB of bits, which
// compresses to a few KiB while most authorizations are live.
const Size = 1 << 20

// Bits is the number of bits per status: 1 (valid or invalid).
const Bits = 1

// Path is where the server publishes list n.
func Path(n int64) string { return "/statuslists/" + strconv.FormatInt(n, 10) }

// URI is the list that holds index idx, under issuer.
func URI(issuer string, idx int64) string { return issuer + Path(idx/Size) }

// Ref is the status claim of a referenced token.
type Ref struct {
	StatusList struct {
		Idx int64  `json:"idx"`
		URI string `json:"uri"`
	} `json:"status_list"`
}

// NewRef is the status claim for index idx.
func NewRef(issuer string, idx int64) *Ref {
	r := &Ref{}
	r.StatusList.Idx = idx
	r.StatusList.URI = URI(issuer, idx)
	return r
}

// Encode returns the "lst" of a list of size bits in which the given
// indexes (relative to the list's first) are set: status i is bit i%8
// (least significant first) of byte i/8, compressed with DEFLATE in the
// ZLIB format and base64url-encoded without padding.
func Encode(size int64, set []int64) (string, error) {
	raw := make([]byte, (size+7)/8)
	for _, i := range set {
		if i < 0 || i >= size {
			return "", fmt.Errorf("status index %d outside a list of %d", i, size)
		}
		raw[i/8] |= 1 << (i % 8)
	}
	var buf bytes.Buffer
	w, err := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	if err != nil {
		return "", err
	}
	if _, err := w.Write(raw); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(buf.Bytes()), nil
}

// ListNumber parses the n of /statuslists/{n}.
func ListNumber(s string) (int64, bool) {
	if s == "" || len(s) > 12 || strings.TrimLeft(s, "0123456789") != "" || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
