package registry

import (
	"context"
	"fmt"
	"net/http"

	digest "github.com/opencontainers/go-digest"
)

// BlobSize asks the source that served a manifest for a blob's size with
// one HEAD (no body is read), as OpenShift's importer stats schema1 layers
// whose v1Compatibility carries no size.
func (r *Repository) BlobSize(ctx context.Context, s *Source, d digest.Digest) (int64, error) {
	if err := d.Validate(); err != nil {
		return 0, fmt.Errorf("blob digest %q: %w", d, err)
	}
	h, err := r.c.hostFor(ctx, s.host, s.insecure)
	if err != nil {
		return 0, err
	}
	resp, err := r.c.do(ctx, h, request{
		method: http.MethodHead, url: h.scheme + "://" + s.host + "/v2/" + s.path + "/blobs/" + d.String(),
		scope: s.scope, creds: s.creds, maxBody: MaxManifestBytes,
	})
	if err != nil {
		return 0, err
	}
	n := int64FromHeader(resp.header.Get("Content-Length"))
	if n < 0 {
		return 0, fmt.Errorf("HEAD blob %s: no valid Content-Length", d)
	}
	return n, nil
}
