package testregistry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	digest "github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Push generates the image spec describes and pushes it over the registry's
// HTTP API: blobs by monolithic upload, children by digest, then the
// manifest under each tag (by digest alone when there is no tag).
func (r *Registry) Push(ctx context.Context, spec ImageSpec) (Pushed, error) {
	if spec.Repository == "" {
		return Pushed{}, fmt.Errorf("push: empty repository")
	}
	var out Pushed
	var err error
	switch spec.Format {
	case Schema2, OCI:
		out, err = r.pushImage(ctx, spec, spec.platform(), spec.Format == OCI, "", len(spec.Tags) == 0)
	case DockerList, OCIIndex:
		out, err = r.pushList(ctx, spec)
	case Schema1:
		out, err = r.pushSchema1(ctx, spec)
	default:
		err = fmt.Errorf("unknown format %d", int(spec.Format))
	}
	if err != nil {
		return Pushed{}, fmt.Errorf("push %s (%s): %w", spec.Repository, spec.Format, err)
	}
	out.Tags = append([]string(nil), spec.Tags...)
	if spec.Format == Schema1 {
		return out, nil // pushSchema1 tagged it in the shim
	}
	for _, tag := range spec.Tags {
		if err := r.putManifest(ctx, spec.Repository, tag, out.MediaType, out.Manifest); err != nil {
			return Pushed{}, fmt.Errorf("push %s:%s: %w", spec.Repository, tag, err)
		}
	}
	return out, nil
}

// pushImage pushes one single-platform image's blobs and, when byDigest,
// its manifest by digest (list children; untagged images).
func (r *Registry) pushImage(ctx context.Context, spec ImageSpec, p Platform, oci bool, salt string, byDigest bool) (Pushed, error) {
	layers := r.layersFor(spec, salt)
	config, err := makeConfig(spec, p, layers, !oci)
	if err != nil {
		return Pushed{}, err
	}
	out := Pushed{Repository: spec.Repository, Config: config, ConfigDigest: digest.FromBytes(config)}
	layerType := MediaTypeSchema2Layer
	if oci {
		layerType = imgspecv1.MediaTypeImageLayerGzip
	}
	for _, l := range layers {
		if err := r.ensureBlob(ctx, spec.Repository, l.compressed); err != nil {
			return Pushed{}, err
		}
		out.Layers = append(out.Layers, LayerInfo{Digest: l.digest(), Size: int64(len(l.compressed)), MediaType: layerType})
	}
	if err := r.ensureBlob(ctx, spec.Repository, config); err != nil {
		return Pushed{}, err
	}
	if oci {
		m := imgspecv1.Manifest{MediaType: imgspecv1.MediaTypeImageManifest,
			Config: ociDescriptor(imgspecv1.MediaTypeImageConfig, out.ConfigDigest, int64(len(config)), nil), Annotations: spec.Annotations}
		m.SchemaVersion = 2
		for _, l := range out.Layers {
			m.Layers = append(m.Layers, ociDescriptor(l.MediaType, l.Digest, l.Size, nil))
		}
		out.MediaType = imgspecv1.MediaTypeImageManifest
		out.Manifest, err = json.Marshal(m) // BuildKit writes OCI manifests compact
	} else {
		m := dockerManifest{SchemaVersion: 2, MediaType: MediaTypeSchema2,
			Config: &descriptor{MediaType: MediaTypeSchema2Config, Size: int64(len(config)), Digest: out.ConfigDigest}}
		for _, l := range out.Layers {
			m.Layers = append(m.Layers, descriptor{MediaType: l.MediaType, Size: l.Size, Digest: l.Digest})
		}
		out.MediaType = MediaTypeSchema2
		out.Manifest, err = json.MarshalIndent(m, "", "   ") // as the Docker daemon pushes them
	}
	if err != nil {
		return Pushed{}, fmt.Errorf("marshal manifest: %w", err)
	}
	out.Digest = digest.FromBytes(out.Manifest)
	if byDigest {
		if err := r.putManifest(ctx, spec.Repository, out.Digest.String(), out.MediaType, out.Manifest); err != nil {
			return Pushed{}, err
		}
	}
	return out, nil
}

// pushList pushes one child per platform by digest, then the list or index
// (by digest only if untagged).
func (r *Registry) pushList(ctx context.Context, spec ImageSpec) (Pushed, error) {
	platforms := spec.Platforms
	if len(platforms) == 0 {
		platforms = DefaultPlatforms()
	}
	oci := spec.Format == OCIIndex
	out := Pushed{Repository: spec.Repository, MediaType: MediaTypeDockerList}
	if oci {
		out.MediaType = imgspecv1.MediaTypeImageIndex
	}
	for _, p := range platforms {
		child, err := r.pushImage(ctx, spec, p, oci, p.String(), true)
		if err != nil {
			return Pushed{}, fmt.Errorf("child %s: %w", p, err)
		}
		child.Platform = &p
		out.Children = append(out.Children, child)
	}
	var err error
	if oci {
		idx := imgspecv1.Index{MediaType: imgspecv1.MediaTypeImageIndex}
		idx.SchemaVersion = 2
		for _, c := range out.Children {
			idx.Manifests = append(idx.Manifests, ociDescriptor(c.MediaType, c.Digest, int64(len(c.Manifest)), c.Platform))
		}
		out.Manifest, err = json.Marshal(idx)
	} else {
		list := dockerManifest{SchemaVersion: 2, MediaType: MediaTypeDockerList}
		for _, c := range out.Children {
			list.Manifests = append(list.Manifests, descriptor{MediaType: c.MediaType, Size: int64(len(c.Manifest)), Digest: c.Digest,
				Platform: &dockerPlatformRef{Architecture: c.Platform.Architecture, OS: c.Platform.OS, Variant: c.Platform.Variant}})
		}
		out.Manifest, err = json.MarshalIndent(list, "", "   ")
	}
	if err != nil {
		return Pushed{}, fmt.Errorf("marshal list: %w", err)
	}
	out.Digest = digest.FromBytes(out.Manifest)
	if len(spec.Tags) == 0 {
		if err := r.putManifest(ctx, spec.Repository, out.Digest.String(), out.MediaType, out.Manifest); err != nil {
			return Pushed{}, err
		}
	}
	return out, nil
}

// blobUpload is one upload of a blob to a repository; pushes that need the
// same blob wait for it instead of racing ahead to a manifest PUT that the
// registry would refuse (BLOB_UNKNOWN).
type blobUpload struct {
	done chan struct{}
	err  error
}

// ensureBlob uploads data to repo unless this Registry already did.
func (r *Registry) ensureBlob(ctx context.Context, repo string, data []byte) error {
	d := digest.FromBytes(data)
	key := repo + "@" + d.String()
	u := &blobUpload{done: make(chan struct{})}
	if prev, loaded := r.blobs.LoadOrStore(key, u); loaded {
		p := prev.(*blobUpload)
		select {
		case <-p.done:
			return p.err
		case <-ctx.Done():
			return fmt.Errorf("wait for upload of %s to %s: %w", d, repo, ctx.Err())
		}
	}
	u.err = r.uploadBlob(ctx, repo, d, data)
	if u.err != nil {
		r.blobs.Delete(key) // a later push tries again
	}
	close(u.done)
	return u.err
}

// uploadBlob is a monolithic upload: POST opens a session, PUT with the
// digest sends the bytes and closes it.
func (r *Registry) uploadBlob(ctx context.Context, repo string, d digest.Digest, data []byte) error {
	status, hdr, msg, err := r.do(ctx, http.MethodPost, r.URL()+"/v2/"+repo+"/blobs/uploads/", "", nil)
	if err != nil {
		return fmt.Errorf("start upload to %s: %w", repo, err)
	}
	if status != http.StatusAccepted {
		return fmt.Errorf("start upload to %s: status %d: %s", repo, status, msg)
	}
	loc, err := url.Parse(hdr.Get("Location"))
	if err != nil {
		return fmt.Errorf("upload to %s: bad Location %q: %w", repo, hdr.Get("Location"), err)
	}
	base, _ := url.Parse(r.URL() + "/") // r.URL() is always a valid URL
	target := base.ResolveReference(loc)
	q := target.Query()
	q.Set("digest", d.String())
	target.RawQuery = q.Encode()
	status, _, msg, err = r.do(ctx, http.MethodPut, target.String(), "application/octet-stream", data)
	if err != nil {
		return fmt.Errorf("upload %s to %s: %w", d, repo, err)
	}
	if status != http.StatusCreated {
		return fmt.Errorf("upload %s to %s: status %d: %s", d, repo, status, msg)
	}
	return nil
}

// putManifest PUTs a manifest and checks the registry computed the digest we did.
func (r *Registry) putManifest(ctx context.Context, repo, ref, mediaType string, raw []byte) error {
	status, hdr, msg, err := r.do(ctx, http.MethodPut, r.URL()+"/v2/"+repo+"/manifests/"+ref, mediaType, raw)
	if err != nil {
		return fmt.Errorf("put manifest %s:%s: %w", repo, ref, err)
	}
	if status != http.StatusCreated {
		return fmt.Errorf("put manifest %s:%s: status %d: %s", repo, ref, status, msg)
	}
	if got, want := hdr.Get("Docker-Content-Digest"), digest.FromBytes(raw).String(); got != want {
		return fmt.Errorf("put manifest %s:%s: registry says digest %s, want %s", repo, ref, got, want)
	}
	return nil
}

// seederAgent marks the Registry's own requests, which are not counted and
// which middleware can recognize with IsSeedRequest.
const seederAgent = "regimport-testregistry-seeder/1"

// IsSeedRequest reports whether a request is one of the Registry's own
// (seeding) requests, so that an auth or fault-injection middleware can let
// it through.
func IsSeedRequest(req *http.Request) bool { return req.Header.Get("User-Agent") == seederAgent }

// do sends one request and reads the whole (small) answer, so that the
// keep-alive connection is reused.
func (r *Registry) do(ctx context.Context, method, u, contentType string, body []byte) (int, http.Header, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, "", fmt.Errorf("%s %s: %w", method, u, err)
	}
	req.Header.Set("User-Agent", seederAgent)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	msg, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, "", fmt.Errorf("%s %s: read answer: %w", method, u, err)
	}
	return resp.StatusCode, resp.Header, string(bytes.TrimSpace(msg)), nil
}
