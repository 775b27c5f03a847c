package testregistry

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	digest "github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/manifest"
)

func get(t *testing.T, url string, accept ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for _, a := range accept {
		req.Header.Add("Accept", a)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestPushEveryFormatAndReadItBack(t *testing.T) {
	ctx := context.Background()
	r, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	accept := []string{MediaTypeSchema2, MediaTypeDockerList, "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json", MediaTypeSchema1Signed}
	for _, f := range []Format{Schema2, OCI, DockerList, OCIIndex, Schema1} {
		t.Run(f.String(), func(t *testing.T) {
			p, err := r.Push(ctx, ImageSpec{Repository: "t/" + f.String(), Tags: []string{"v1", "latest"}, Format: f, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			for _, ref := range []string{"v1", "latest", p.Digest.String()} {
				resp, body := get(t, r.URL()+"/v2/t/"+f.String()+"/manifests/"+ref, accept...)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s: %s", ref, resp.Status)
				}
				got, err := manifest.Digest(body)
				if err != nil || got != p.Digest || resp.Header.Get("Docker-Content-Digest") != p.Digest.String() {
					t.Errorf("GET %s: digest %s, header %s, want %s", ref, got, resp.Header.Get("Docker-Content-Digest"), p.Digest)
				}
				if resp.Header.Get("Content-Type") != p.MediaType {
					t.Errorf("GET %s: content type %s, want %s", ref, resp.Header.Get("Content-Type"), p.MediaType)
				}
			}
			if p.ConfigDigest != "" {
				resp, body := get(t, r.URL()+"/v2/t/"+f.String()+"/blobs/"+p.ConfigDigest.String())
				if resp.StatusCode != http.StatusOK || digest.FromBytes(body) != p.ConfigDigest {
					t.Errorf("config blob: %s", resp.Status)
				}
			}
			for _, l := range append(p.Layers, func() []LayerInfo {
				if len(p.Children) > 0 {
					return p.Children[0].Layers
				}
				return nil
			}()...) {
				resp, body := get(t, r.URL()+"/v2/t/"+f.String()+"/blobs/"+l.Digest.String())
				if resp.StatusCode != http.StatusOK || int64(len(body)) != l.Size {
					t.Errorf("layer %s: %s, %d bytes, want %d", l.Digest, resp.Status, len(body), l.Size)
				}
			}
			if (f == DockerList || f == OCIIndex) && len(p.Children) != 2 {
				t.Errorf("%d children", len(p.Children))
			}
			_, body := get(t, r.URL()+"/v2/t/"+f.String()+"/tags/list")
			var tags struct{ Tags []string }
			json.Unmarshal(body, &tags)
			if len(tags.Tags) != 2 {
				t.Errorf("tags/list: %s", body)
			}
		})
	}
	_, body := get(t, r.URL()+"/v2/_catalog")
	var cat struct{ Repositories []string }
	json.Unmarshal(body, &cat)
	if len(cat.Repositories) != 5 {
		t.Errorf("catalog: %s", body)
	}
}

func TestSeedMixedAndCounts(t *testing.T) {
	ctx := context.Background()
	r, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pushed, err := r.SeedMixed(ctx, 5, 200)
	if err != nil {
		t.Fatal(err)
	}
	formats := map[string]int{}
	seen := map[digest.Digest]bool{}
	for _, p := range pushed {
		formats[p.MediaType]++
		if seen[p.Digest] {
			t.Errorf("digest %s pushed twice", p.Digest)
		}
		seen[p.Digest] = true
	}
	if len(pushed) != 200 || formats[MediaTypeSchema2] != 90 || formats["application/vnd.oci.image.manifest.v1+json"] != 90 ||
		formats[MediaTypeDockerList] != 10 || formats["application/vnd.oci.image.index.v1+json"] != 10 {
		t.Errorf("mix: %v", formats)
	}
	r.ResetRequests()
	get(t, r.URL()+"/v2/")
	get(t, r.URL()+"/v2/seed/repo-00/manifests/t00000", MediaTypeDockerList)
	c := r.Requests()
	if c.Get("ping") != 1 || c.Get("manifest-get") != 1 || c.Total() != 2 {
		t.Errorf("counts %v", c)
	}
}
