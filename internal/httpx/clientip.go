package httpx

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP finds the address of the party that sent a request. Only
// proxies listed as trusted may speak for others through X-Forwarded-For;
// the default trusts none, so the header cannot be used to dodge limits.
type ClientIP struct {
	Trusted []netip.Prefix
}

// Of returns the client address of r as a string.
func (c ClientIP) Of(r *http.Request) string {
	peer := remoteAddr(r)
	if len(c.Trusted) == 0 || !peer.IsValid() || !c.trusted(peer) {
		if !peer.IsValid() {
			return ""
		}
		return peer.String()
	}
	// Walk X-Forwarded-For from the right: the rightmost address that is
	// not a trusted proxy is the client.
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !c.trusted(a) {
			return a.String()
		}
		peer = a
	}
	return peer.String()
}

func (c ClientIP) trusted(a netip.Addr) bool {
	for _, p := range c.Trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// ParseTrusted parses a comma-separated list of addresses and CIDR prefixes.
func ParseTrusted(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, err
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
