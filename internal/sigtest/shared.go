package sigtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	digest "github.com/opencontainers/go-digest"
	"github.com/regimport/regimport/internal/testregistry"
)

// Shared is a registry where the same images are in repositories with
// different signature policies, as an auditor meets them: seed/repo000
// needs no signature; signed/gpg needs the release GPG key (its signatures
// are in a file:// lookaside); signed/cosign and signed/broken need the
// cosign key (sigstore attachments). Image (tag v1) is in all four
// repositories, List (an OCI index, tag list) in seed/repo000 and
// signed/gpg; every instance is signed there.
type Shared struct {
	Dir         string // policy, keys, registries.d and the lookaside live here
	Policy      string // containers-policy.json
	RegistriesD string
	Lookaside   string
	GPG         *GPGKey
	Cosign      *CosignKey
	Image, List testregistry.Pushed
}

// Repositories of a Shared registry.
const (
	SharedSeed   = "seed/repo000"
	SharedGPG    = "signed/gpg"
	SharedCosign = "signed/cosign"
	SharedBroken = "signed/broken"
)

// NewShared pushes and signs the images into reg and writes the policy
// files into dir.
func NewShared(ctx context.Context, reg *testregistry.Registry, dir string) (*Shared, error) {
	s := &Shared{Dir: dir, Policy: filepath.Join(dir, "policy.json"), RegistriesD: filepath.Join(dir, "registries.d"), Lookaside: filepath.Join(dir, "lookaside")}
	var err error
	if s.GPG, err = NewGPGKey("Release Team", "release@example.com"); err != nil {
		return nil, err
	}
	if s.Cosign, err = NewCosignKey(); err != nil {
		return nil, err
	}
	host := reg.Host()
	if s.Image, err = reg.Push(ctx, testregistry.ImageSpec{Repository: SharedSeed, Tags: []string{"v1"}, Format: testregistry.Schema2, Seed: 7}); err != nil {
		return nil, err
	}
	if s.List, err = reg.Push(ctx, testregistry.ImageSpec{Repository: SharedSeed, Tags: []string{"list"}, Format: testregistry.OCIIndex, Seed: 8}); err != nil {
		return nil, err
	}
	for _, repo := range []string{SharedGPG, SharedCosign, SharedBroken} {
		if err := CopyImage(ctx, reg, s.Image, repo, "v1"); err != nil {
			return nil, err
		}
	}
	if err := CopyImage(ctx, reg, s.List, SharedGPG, "list"); err != nil {
		return nil, err
	}
	sign := func(tag string, p testregistry.Pushed) error {
		blob, err := s.GPG.SignSimple(host+"/"+SharedGPG+":"+tag, p.Digest)
		if err != nil {
			return err
		}
		return WriteLookaside(s.Lookaside, SharedGPG, p.Digest, blob)
	}
	if err := sign("v1", s.Image); err != nil {
		return nil, err
	}
	for _, p := range append([]testregistry.Pushed{s.List}, s.List.Children...) {
		if err := sign("list", p); err != nil {
			return nil, err
		}
	}
	for _, repo := range []string{SharedCosign, SharedBroken} {
		payload, sig, err := s.Cosign.Sign(host+"/"+repo, s.Image.Digest)
		if err != nil {
			return nil, err
		}
		tag := "sha256-" + s.Image.Digest.Encoded() + ".sig"
		if err := reg.PushRaw(ctx, repo, tag, "application/vnd.oci.image.manifest.v1+json",
			AttachmentManifest([][]byte{payload}, []string{sig}), AttachmentConfig(), payload); err != nil {
			return nil, err
		}
	}
	if err := s.GPG.WritePublicKey(filepath.Join(dir, "release.gpg")); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "cosign.pub"), s.Cosign.PEM, 0o644); err != nil {
		return nil, err
	}
	cosign := fmt.Sprintf(`[{"type":"sigstoreSigned","keyPath":%q,"signedIdentity":{"type":"matchRepository"}}]`, filepath.Join(dir, "cosign.pub"))
	policy := fmt.Sprintf(`{"default":[{"type":"reject"}],"transports":{"docker":{
		%q: [{"type":"insecureAcceptAnything"}],
		%q: [{"type":"signedBy","keyType":"GPGKeys","keyPath":%q}],
		%q: %s, %q: %s}}}`,
		host+"/seed", host+"/"+SharedGPG, filepath.Join(dir, "release.gpg"),
		host+"/"+SharedCosign, cosign, host+"/"+SharedBroken, cosign)
	if err := os.WriteFile(s.Policy, []byte(policy), 0o644); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.RegistriesD, 0o755); err != nil {
		return nil, err
	}
	return s, os.WriteFile(filepath.Join(s.RegistriesD, "default.yaml"), []byte("default-docker:\n  lookaside: file://"+s.Lookaside+"\n"), 0o644)
}

// CopyImage pushes an image (a list with its children) byte for byte into
// another repository of the same registry under tag, as `skopeo copy`
// does: the same digest in both.
func CopyImage(ctx context.Context, reg *testregistry.Registry, p testregistry.Pushed, repo, tag string) error {
	for _, c := range p.Children {
		if err := CopyImage(ctx, reg, c, repo, c.Digest.String()); err != nil {
			return err
		}
	}
	var blobs [][]byte
	for _, d := range append([]digest.Digest{p.ConfigDigest}, layerDigests(p)...) {
		if d == "" {
			continue
		}
		b, err := getBlob(ctx, reg.URL()+"/v2/"+p.Repository+"/blobs/"+d.String())
		if err != nil {
			return err
		}
		blobs = append(blobs, b)
	}
	return reg.PushRaw(ctx, repo, tag, p.MediaType, p.Manifest, blobs...)
}

func layerDigests(p testregistry.Pushed) []digest.Digest {
	out := make([]digest.Digest, len(p.Layers))
	for i, l := range p.Layers {
		out[i] = l.Digest
	}
	return out
}

func getBlob(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}
