package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pairgate/pairgate"
)

// MaxBody is the largest request body any endpoint reads. OAuth requests
// are a few hundred bytes.
const MaxBody = 64 << 10

// ReadBody reads the request body up to MaxBody; a longer body is ETOOLARGE.
func ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBody {
		return nil, pairgate.Errorf(pairgate.ETOOLARGE, "request body larger than %d bytes", MaxBody)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, pairgate.Errorf(pairgate.ETOOLARGE, "request body larger than %d bytes", MaxBody)
	}
	if err != nil {
		return nil, pairgate.Errorf(pairgate.EINVALID, "could not read the request body")
	}
	return body, nil
}

// Params reads a request's parameters from its body:
// application/x-www-form-urlencoded, or, when jsonOK and the body starts with
// '{', a JSON object, whatever the Content-Type says (real clients send JSON
// under curl's default form content type). A parameter given twice with
// different values is refused (RFC 6749 §3.2); an empty one is as good as
// absent (§3.1).
func Params(w http.ResponseWriter, r *http.Request, jsonOK bool) (url.Values, error) {
	body, err := ReadBody(w, r)
	if err != nil {
		return nil, err
	}
	return ParseParams(body, jsonOK)
}

// errNotUTF8 refuses text that is not UTF-8: stored, it would break
// PostgreSQL (which refuses it) and pages (which cannot show it).
var errNotUTF8 = pairgate.Errorf(pairgate.EINVALID, "the request contains text that is not valid UTF-8")

// ParseParams decodes a body as Params does.
func ParseParams(body []byte, jsonOK bool) (url.Values, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if jsonOK && len(trimmed) > 0 && trimmed[0] == '{' {
		if !utf8.Valid(trimmed) {
			return nil, errNotUTF8
		}
		return parseJSONParams(trimmed)
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, pairgate.Errorf(pairgate.EINVALID, "the request body is not valid form encoding")
	}
	if err := ValidUTF8(vals); err != nil {
		return nil, err
	}
	out := make(url.Values, len(vals))
	for k, vs := range vals {
		v := ""
		for _, x := range vs {
			if x == "" {
				continue
			}
			if v != "" && x != v {
				return nil, pairgate.Errorf(pairgate.EINVALID, "parameter '%s' is given more than once", pairgate.Printable(k, 64))
			}
			v = x
		}
		if v != "" {
			out.Set(k, v)
		}
	}
	return out, nil
}

// ValidUTF8 refuses parameters (form fields, query values) whose names or
// values are not valid UTF-8: percent-encoding can carry any byte.
func ValidUTF8(vals url.Values) error {
	for k, vs := range vals {
		if !utf8.ValidString(k) {
			return errNotUTF8
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return errNotUTF8
			}
		}
	}
	return nil
}

// Query returns the URL's query parameters, refusing invalid UTF-8.
func Query(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, pairgate.Errorf(pairgate.EINVALID, "the query string is not valid URL encoding")
	}
	return q, ValidUTF8(q)
}

// PathValue returns a wildcard of the route (an ID), refusing invalid
// UTF-8 and anything longer than an ID can be.
func PathValue(r *http.Request, name string) (string, error) {
	v := r.PathValue(name)
	if !utf8.ValidString(v) || len(v) > 256 {
		return "", pairgate.Errorf(pairgate.ENOTFOUND, "no such %s", name)
	}
	return v, nil
}

func parseJSONParams(body []byte) (url.Values, error) {
	if err := checkKeys(body, false); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, pairgate.Errorf(pairgate.EINVALID, "the request body is not a valid JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, pairgate.Errorf(pairgate.EINVALID, "unexpected data after the JSON object")
	}
	out := make(url.Values, len(m))
	for k, v := range m {
		var s string
		switch x := v.(type) {
		case nil:
			continue
		case string:
			s = x
		case json.Number:
			s = x.String()
		case bool:
			s = strconv.FormatBool(x)
		case []any:
			// A scope list as a JSON array; anything else nested is refused.
			parts := make([]string, 0, len(x))
			for _, e := range x {
				es, ok := e.(string)
				if !ok {
					return nil, pairgate.Errorf(pairgate.EINVALID, "parameter '%s' must be a string or an array of strings", pairgate.Printable(k, 64))
				}
				parts = append(parts, es)
			}
			s = strings.Join(parts, " ")
		default:
			return nil, pairgate.Errorf(pairgate.EINVALID, "parameter '%s' must be a string", pairgate.Printable(k, 64))
		}
		if s != "" {
			out.Set(k, s)
		}
	}
	return out, nil
}

// DecodeJSON reads a JSON object body into v. Unknown fields are refused,
// so that a typo in a field name is an error rather than a silent default;
// so are a key given twice and a key in other letter case than the field's
// ({"ttl":"6h","TTL":"never"} must not quietly mean one of the two), and
// text that is not UTF-8 (which the decoder would silently replace).
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := ReadBody(w, r)
	if err != nil {
		return err
	}
	return UnmarshalStrict(body, v)
}

// UnmarshalStrict decodes body into v as DecodeJSON does.
func UnmarshalStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return pairgate.Errorf(pairgate.EINVALID, "the request body must be a JSON object")
	}
	if !utf8.Valid(body) {
		return errNotUTF8
	}
	if err := checkKeys(body, true); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return pairgate.Errorf(pairgate.EINVALID, "field '%s' must be %s", pairgate.Printable(te.Field, 64), jsonKind(te.Type))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return pairgate.Errorf(pairgate.EINVALID, "unknown field '%s'", pairgate.Printable(name, 64))
		default:
			return pairgate.Errorf(pairgate.EINVALID, "the request body is not valid JSON")
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return pairgate.Errorf(pairgate.EINVALID, "unexpected data after the JSON object")
	}
	return nil
}

// jsonKind names a Go type the way a JSON document's author knows it.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16,
		reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	default:
		return "an object"
	}
}

// checkKeys walks a JSON document and refuses an object that has a key
// twice; with lowerOnly, also a key with upper-case letters (every field of
// pairgate's JSON is lower case, and Go's decoder would otherwise match
// "TTL" to "ttl").
func checkKeys(body []byte, lowerOnly bool) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		object bool
		keys   map[string]bool
		want   bool // the next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return nil // the decoder proper reports malformed JSON
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if top != nil && top.object {
					top.want = true
				}
				stack = append(stack, &frame{object: d == '{', keys: map[string]bool{}, want: d == '{'})
			case '}', ']':
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					stack[len(stack)-1].want = true
				}
			}
			continue
		}
		if top == nil || !top.object {
			continue
		}
		if top.want {
			k, _ := tok.(string)
			fold := strings.ToLower(k)
			if top.keys[fold] {
				return pairgate.Errorf(pairgate.EINVALID, "key '%s' is given more than once", pairgate.Printable(k, 64))
			}
			if lowerOnly && fold != k {
				return pairgate.Errorf(pairgate.EINVALID, "key '%s' is not a field: fields are lower case", pairgate.Printable(k, 64))
			}
			top.keys[fold] = true
			top.want = false
			continue
		}
		top.want = true // a scalar value; the next token is a key again
	}
}
