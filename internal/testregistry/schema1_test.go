package testregistry

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/containers/libtrust"
	digest "github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/manifest"
)

func TestSchema1IsSignedAndServedWithItsPayloadDigest(t *testing.T) {
	r := start(t)
	p := push(t, r, ImageSpec{Repository: "legacy/app", Tags: []string{"v1", "v1.0"}, Format: Schema1, Seed: 5, Layers: 3,
		Labels: map[string]string{"maintainer": "ops"}})
	if p.MediaType != MediaTypeSchema1Signed || p.ConfigDigest != "" || p.Config != nil {
		t.Errorf("pushed %s with config %q", p.MediaType, p.ConfigDigest)
	}

	// A real JWS, and the digest is that of the payload without signatures.
	js, err := libtrust.ParsePrettySignature(p.Manifest, "signatures")
	if err != nil {
		t.Fatal(err)
	}
	if keys, err := js.Verify(); err != nil || len(keys) != 1 {
		t.Fatalf("signature: %v, %d keys", err, len(keys))
	}
	payload, err := js.Payload()
	if err != nil {
		t.Fatal(err)
	}
	if want := digest.FromBytes(payload); p.Digest != want || p.Digest == digest.FromBytes(p.Manifest) {
		t.Errorf("digest %s, payload digest %s", p.Digest, want)
	}
	if d, err := manifest.Digest(p.Manifest); err != nil || d != p.Digest {
		t.Errorf("containers/image digest %s (%v), want %s", d, err, p.Digest)
	}

	// Served by tag and digest whatever the client accepts, like registry 2.x did.
	for _, ref := range []string{"v1", "v1.0", p.Digest.String()} {
		checkManifest(t, r, p, ref)
		got := fetch(t, http.MethodGet, r.URL()+"/v2/legacy/app/manifests/"+ref, MediaTypeSchema2)
		if got.header.Get("Docker-Content-Digest") != p.Digest.String() || !bytes.Equal(got.body, p.Manifest) {
			t.Errorf("GET %s with Accept schema2: %d %s", ref, got.status, got.header.Get("Content-Type"))
		}
	}
	if got := fetch(t, http.MethodGet, r.URL()+"/v2/legacy/app/manifests/nope", acceptAll()...); got.status != http.StatusNotFound {
		t.Errorf("unknown tag: %d", got.status)
	}

	var m struct {
		SchemaVersion int
		Name, Tag     string
		Architecture  string
		FSLayers      []struct{ BlobSum digest.Digest }
		History       []struct{ V1Compatibility string }
	}
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatal(err)
	}
	if m.SchemaVersion != 1 || m.Name != "legacy/app" || m.Tag != "v1" || m.Architecture != "amd64" {
		t.Errorf("header fields: %+v", m)
	}
	// 3 layers and the throwaway CMD entry on top; Pushed lists them base first.
	if len(m.FSLayers) != 4 || len(m.History) != 4 || len(p.Layers) != 4 {
		t.Fatalf("%d fsLayers, %d history, %d pushed layers", len(m.FSLayers), len(m.History), len(p.Layers))
	}
	type v1 struct {
		ID, Parent      string
		Created         string
		Architecture    string
		Size            int64
		ThrowAway       bool
		ContainerConfig struct{ Cmd []string } `json:"container_config"`
		Config          *struct {
			Cmd, Env, Entrypoint []string
			User, WorkingDir     string
			Labels               map[string]string
		}
	}
	for i, h := range m.History {
		var e v1
		if err := json.Unmarshal([]byte(h.V1Compatibility), &e); err != nil {
			t.Fatal(err)
		}
		l := p.Layers[len(p.Layers)-1-i]
		if m.FSLayers[i].BlobSum != l.Digest || e.Size != l.Size || l.MediaType != MediaTypeSchema1Layer {
			t.Errorf("entry %d: blobSum %s size %d, pushed %+v", i, m.FSLayers[i].BlobSum, e.Size, l)
		}
		if len(e.ID) != 64 || e.Created == "" || len(e.ContainerConfig.Cmd) == 0 || e.ThrowAway != (i == 0) {
			t.Errorf("entry %d: %s", i, h.V1Compatibility)
		}
		if i < len(m.History)-1 {
			var next v1
			_ = json.Unmarshal([]byte(m.History[i+1].V1Compatibility), &next)
			if e.Parent != next.ID {
				t.Errorf("entry %d: parent %s, want %s", i, e.Parent, next.ID)
			}
		} else if e.Parent != "" {
			t.Errorf("base entry has parent %s", e.Parent)
		}
		if i == 0 && (e.Config == nil || e.Architecture != "amd64" || e.Config.Labels["maintainer"] != "ops" || len(e.Config.Cmd) == 0 || e.Config.User == "") {
			t.Errorf("top entry lacks the image config: %s", h.V1Compatibility)
		}
		blob := fetch(t, http.MethodGet, r.URL()+"/v2/legacy/app/blobs/"+l.Digest.String())
		if blob.status != http.StatusOK || int64(len(blob.body)) != l.Size {
			t.Errorf("blob %s: %d", l.Digest, blob.status)
		}
	}
}

func TestPushingOverASchema1TagReplacesIt(t *testing.T) {
	r := start(t)
	old := push(t, r, ImageSpec{Repository: "legacy/app", Tags: []string{"v1", "keep"}, Format: Schema1, Seed: 1})
	now := push(t, r, ImageSpec{Repository: "legacy/app", Tags: []string{"v1"}, Format: Schema2, Seed: 2})
	checkManifest(t, r, now, "v1")
	checkManifest(t, r, old, "keep")
	checkManifest(t, r, old, old.Digest.String())
}
