package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

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

// ParseParams decodes a body as Params does.
func ParseParams(body []byte, jsonOK bool) (url.Values, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if jsonOK && len(trimmed) > 0 && trimmed[0] == '{' {
		return parseJSONParams(trimmed)
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, pairgate.Errorf(pairgate.EINVALID, "the request body is not valid form encoding")
	}
	out := make(url.Values, len(vals))
	for k, vs := range vals {
		v := ""
		for _, x := range vs {
			if x == "" {
				continue
			}
			if v != "" && x != v {
				return nil, pairgate.Errorf(pairgate.EINVALID, "parameter %q is given more than once", k)
			}
			v = x
		}
		if v != "" {
			out.Set(k, v)
		}
	}
	return out, nil
}

func parseJSONParams(body []byte) (url.Values, error) {
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
					return nil, pairgate.Errorf(pairgate.EINVALID, "parameter %q must be a string or an array of strings", k)
				}
				parts = append(parts, es)
			}
			s = strings.Join(parts, " ")
		default:
			return nil, pairgate.Errorf(pairgate.EINVALID, "parameter %q must be a string", k)
		}
		if s != "" {
			out.Set(k, s)
		}
	}
	return out, nil
}

// DecodeJSON reads a JSON object body into v. Unknown fields are refused,
// so that a typo in a field name is an error rather than a silent default.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := ReadBody(w, r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return pairgate.Errorf(pairgate.EINVALID, "the request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return pairgate.Errorf(pairgate.EINVALID, "field %q must be a %s", te.Field, te.Type.String())
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return pairgate.Errorf(pairgate.EINVALID, "%s", strings.TrimPrefix(err.Error(), "json: "))
		default:
			return pairgate.Errorf(pairgate.EINVALID, "the request body is not valid JSON")
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return pairgate.Errorf(pairgate.EINVALID, "unexpected data after the JSON object")
	}
	return nil
}
