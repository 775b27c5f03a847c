package testregistry

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	digest "github.com/opencontainers/go-digest"
)

// uploadBlob pushes a blob with a monolithic upload (POST, then PUT with the
// digest), skipping blobs this registry already has in that repository.
func (r *Registry) uploadBlob(ctx context.Context, repo string, data []byte) error {
	d := digest.FromBytes(data)
	key := repo + "@" + d.String()
	if _, loaded := r.uploaded.LoadOrStore(key, true); loaded {
		return nil
	}
	resp, err := r.do(ctx, http.MethodPost, r.URL()+"/v2/"+repo+"/blobs/uploads/", "", nil)
	if err != nil {
		r.uploaded.Delete(key)
		return err
	}
	if resp.StatusCode != http.StatusAccepted {
		r.uploaded.Delete(key)
		return fmt.Errorf("start upload to %s: %s", repo, resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return err
	}
	target := (&url.URL{Scheme: "http", Host: r.Host()}).ResolveReference(loc)
	q := target.Query()
	q.Set("digest", d.String())
	target.RawQuery = q.Encode()
	resp, err = r.do(ctx, http.MethodPut, target.String(), "application/octet-stream", data)
	if err != nil {
		r.uploaded.Delete(key)
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		r.uploaded.Delete(key)
		return fmt.Errorf("finish upload of %s to %s: %s", d, repo, resp.Status)
	}
	return nil
}

func (r *Registry) putManifest(ctx context.Context, repo, ref, mediaType string, raw []byte) error {
	resp, err := r.do(ctx, http.MethodPut, r.URL()+"/v2/"+repo+"/manifests/"+ref, mediaType, raw)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("put manifest %s:%s: %s: %s", repo, ref, resp.Status, resp.Header.Get("X-Error"))
	}
	return nil
}

// do sends a request and drains the body (keep-alive), keeping status and headers.
func (r *Registry) do(ctx context.Context, method, u, contentType string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		resp.Header.Set("X-Error", string(msg))
	}
	return resp, nil
}
