package registry

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"

	digest "github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/types"
)

// MaxSignatureListBytes caps an extension API answer at what its parser
// (signatures.ParseExtensionResponse, MaxManifestSize) accepts: reading
// more only to refuse it would cost memory and time for nothing.
const MaxSignatureListBytes = 4 << 20

// SignaturesExtension reads the signatures of a manifest from the registry
// signature extension API (OpenShift's registry). supported is false, with
// no request made, when the host's /v2/ answer did not announce the API.
func (r *Repository) SignaturesExtension(ctx context.Context, s *Source, d digest.Digest) (body []byte, supported bool, err error) {
	h, err := r.c.hostFor(ctx, s.host, s.insecure)
	if err != nil {
		return nil, false, err
	}
	if !h.signatures {
		return nil, false, nil
	}
	resp, err := r.c.do(ctx, h, request{
		method: http.MethodGet, url: h.scheme + "://" + s.host + "/extensions/v2/" + s.path + "/signatures/" + d.String(),
		accept: []string{"application/json"}, scope: s.scope, creds: s.creds, maxBody: MaxSignatureListBytes,
	})
	if errors.Is(err, ErrNotFound) {
		return nil, true, nil
	}
	if err != nil {
		return nil, true, err
	}
	// OpenShift answers application/json; an HTML page is a proxy's or a
	// login page's answer, never a signature list.
	if mt, _, _ := mime.ParseMediaType(resp.header.Get("Content-Type")); mt == "text/html" {
		return nil, true, fmt.Errorf("signature extension API answered %s, not JSON", mt)
	}
	return resp.body, true, nil
}

// BlobClient is the HTTP client lookaside stores are read with: the shared
// transport without registry credentials (a lookaside is a plain web
// server), under the same per-host flow control, retries and request
// counting as registry requests (transport.go).
func (c *Client) BlobClient(insecure bool) *http.Client {
	insecure = insecure || c.opts.Sys.DockerInsecureSkipTLSVerify == types.OptionalBoolTrue
	base := c.secure
	if insecure {
		base = c.insecure
	}
	return &http.Client{Transport: &limitedTransport{c: c, base: base.Transport, insecure: insecure}, CheckRedirect: base.CheckRedirect}
}
