package ratelimit

import (
	"net/netip"
	"strings"
	"time"
)

// The store-backed rules that limit guessing (docs/design.md 2.6). They are
// defined once, here, because several transports count against the same
// budget (the sign-in page and the admin API's Basic authentication share
// the sign-in rules) and an admin lifting a lock-out must find them all.
//
// Codes have 20^8 (user), 62^10 (pairing) or 2^80 (admin-issued) values and
// live minutes to days, so these limits leave guessing hopeless while a
// person mistyping never meets them.
var (
	// CodeEntryPerIP: user and pairing codes typed from one address.
	CodeEntryPerIP = Rule{Name: "code-ip", Limit: 60, Window: 10 * time.Minute, Shown: true}
	// CodeEntryPerCode: attempts at one code, from anywhere.
	CodeEntryPerCode = Rule{Name: "code", Limit: 10, Window: 10 * time.Minute}
	// SignInPerIP: sign-in attempts from one address.
	SignInPerIP = Rule{Name: "signin-ip", Limit: 30, Window: 10 * time.Minute, Shown: true}
	// UpstreamStartPerIP: sign-ins at an upstream provider started from
	// one address. Nothing is guessed there, but each start stores a row
	// until it expires: this bounds what one address can make the store
	// keep.
	UpstreamStartPerIP = Rule{Name: "upstream-start-ip", Limit: 60, Window: 10 * time.Minute, Shown: true}
	// SignInPerAccount: sign-in attempts at one username, from anywhere.
	SignInPerAccount = Rule{Name: "signin-account", Limit: 20, Window: 10 * time.Minute, Shown: true}
	// SignInKnownBrowser: sign-in attempts from a browser that proved it
	// signed in to the account before (or is the account's authorized
	// device). It replaces SignInPerAccount for that browser, so that
	// guessing from elsewhere never locks the owner out.
	SignInKnownBrowser = Rule{Name: "signin-known", Limit: 20, Window: 10 * time.Minute}
	// AuthCodeFailuresPerIP: wrong admin-issued codes from one address.
	// Only failures count: one right code legitimately enrolls hundreds of
	// devices from behind one NAT address.
	AuthCodeFailuresPerIP = Rule{Name: "authcode-failures-ip", Limit: 30, Window: 10 * time.Minute, Shown: true}
)

// PerIPRules are the rules whose subject is a source address.
var PerIPRules = []*Rule{&CodeEntryPerIP, &SignInPerIP, &AuthCodeFailuresPerIP, &UpstreamStartPerIP}

// AccountSubject is the subject of SignInPerAccount for a typed username:
// case and surrounding spaces do not make a new budget.
func AccountSubject(username string) string {
	s := strings.ToLower(strings.TrimSpace(username))
	if len(s) > 256 {
		s = s[:256]
	}
	return s
}

// Source is the subject of a per-address rule: the address itself for
// IPv4, and its /64 for IPv6, because one host is routinely given a whole
// /64 and could otherwise try from 2^64 addresses with a fresh budget each.
// Anything that is not an address is used as it is.
func Source(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
