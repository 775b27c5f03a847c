// Package registry is regimport's lean path to Docker/OCI registries: it
// fetches manifests, config blobs, tag lists and catalogs over one shared,
// keep-alive HTTP transport for the whole run.
//
// containers/image (go.podman.io/image/v5) stays the source of truth for what
// only it knows: registries.conf (mirrors, blocked and insecure registries),
// auth files and credential helpers, reference parsing and manifest digests
// (schema1 included). Its docker transport is not used for fetching because
// it builds a new HTTP client, TLS transport, ping and token for every image,
// which costs several round trips per image in a whole-registry import.
// Here, a host is pinged once per run (to learn its scheme and auth
// challenge), a bearer token is fetched once per repository scope and reused
// until it expires, and every request shares the connection pool.
//
// Every body read is capped; manifests are checked against the digest they
// were asked by; retries are bounded and honour Retry-After. A Client is safe
// for concurrent use.
package registry
