// Package ratelimit limits how often something may be tried: entering a
// user code, a pairing code or an authorization code, signing in. The
// counters live in the store (pairgate.Store.HitRateLimit), so that a limit
// holds across every replica behind a load balancer (docs/design.md 2.6 and 5);
// an in-memory limiter would multiply the allowance by the number of
// replicas. What is counted (an address, a code, a username) reaches the
// store only as a keyed hash.
package ratelimit
