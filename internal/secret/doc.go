// Package secret makes and protects pairgate's secrets: random tokens and
// human-friendly codes, keyed hashes that let the store look secrets up
// without holding them, authenticated encryption with keys derived from the
// master key, and argon2id password hashes.
package secret
