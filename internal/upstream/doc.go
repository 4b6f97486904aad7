// Package upstream signs people in through the OpenID Connect providers an
// organisation already runs (Entra ID, Google, Keycloak, …): the
// authorization code flow with PKCE, state and nonce (OpenID Connect Core
// §3.1, RFC 7636, RFC 9700 §2.1.1), ID tokens verified against the
// provider's published keys with github.com/coreos/go-oidc. An account is
// created at a person's first sign-in and found after that by the
// provider's issuer and the person's subject alone; the provider's claims
// decide the account's role at every sign-in.
//
// config.go holds a provider's configuration and its role rules;
// upstream.go the sign-in itself. The store keeps the sign-ins in
// progress and the links between accounts and upstream identities
// (pairgate.Store's SignInUpstream, TakeUpstreamState).
package upstream
