// Package registry is regimport's lean path to Docker/OCI registries: it
// fetches manifests, config blobs, tag lists and catalogs over one shared,
// keep-alive HTTP transport for the whole run.
//
// containers/image (go.podman.io/image/v5) stays the source of truth for what
// only it knows: registries.conf (mirrors, blocked and insecure registries),
// auth.json and its credential helpers, reference parsing and manifest
// digests (schema1 included); Docker's config.json (credsStore, credHelpers,
// identity and registry tokens) is read through go-containerregistry's authn
// keychain. Its docker transport is not used for fetching because it builds a
// new HTTP client, TLS transport, ping and token for every image.
//
// A request passes through small layers, each with one job, outermost first:
//
//   - retry (retry.go): bounded retries with back-off and jitter of 429, 5xx
//     and network errors, honouring Retry-After; one fresh token after a 401;
//   - flow (flow.go): per-host concurrency that halves after a 429 and comes
//     back, an optional request rate, pauses for Retry-After and RateLimit
//     headers, and a stop when a pull limit is used up;
//   - auth (auth.go, tokens.go): Basic, Bearer or a registry token, with a
//     token cache keyed by scope and one fetch per scope at a time
//     (singleflight), different scopes in parallel;
//   - ping (ping.go): once per host and run, to learn the scheme and the
//     challenge; a failed ping is an error or a retry, never "no auth";
//   - capped reads (attempt.go) and error mapping (errors.go).
//
// Docker Hub's names (docker.io, index.docker.io, registry-1.docker.io) are
// one host for settings, certs.d and credentials (CanonicalHost).
// A Client is safe for concurrent use.
package registry
