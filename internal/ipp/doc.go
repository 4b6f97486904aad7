// Package ipp is the held queue's IPP endpoint (RFC 8010, RFC 8011):
// IPP over HTTP on a listener of its own (--ipp-addr), at /ipp/print, for
// devices that print with their access token — `pairgate device print`,
// the pairgate CUPS backend, ipptool, any IPP client that can send a
// Bearer token. It is an audience of its own, like the OAuth endpoints,
// the pages and the admin API: it authenticates devices by their tokens
// (Bearer, or DPoP for a key-bound device) and answers every error as an
// IPP status in a well-formed IPP response. Messages are encoded and
// decoded by OpenPrinting's goipp; what a job is and who owns it is
// internal/release's.
package ipp
