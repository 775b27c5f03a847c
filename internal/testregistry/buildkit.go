package testregistry

import (
	"context"
	"encoding/json"
	"fmt"

	digest "github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Predicate types BuildKit writes.
const (
	PredicateSLSAProvenance02 = "https://slsa.dev/provenance/v0.2"
	PredicateSPDX             = "https://spdx.dev/Document"
	MediaTypeInToto           = "application/vnd.in-toto+json"
)

// BuildKitOptions shape PushBuildKitIndex's attestation manifests.
type BuildKitOptions struct {
	// SBOM adds an SPDX statement after the provenance (buildx --sbom=true).
	SBOM bool
	// Statement, when set, replaces the provenance statement's bytes for
	// the platform it names (the index of the platform): bad input.
	Statement map[int][]byte
	// Reference, when set, replaces the vnd.docker.reference.digest of the
	// attestation of the platform it names.
	Reference map[int]digest.Digest
}

// BuildKitPushed is an index as `docker buildx build --push` writes it:
// the platform images, then one attestation manifest per image.
type BuildKitPushed struct {
	Pushed
	Attestations []Pushed // one per platform image, in the same order
}

// PushBuildKitIndex pushes spec (an OCIIndex) the way BuildKit 0.11 and
// later push it: after the platform images, one attestation manifest each
// (platform unknown/unknown, annotations vnd.docker.reference.type =
// attestation-manifest and vnd.docker.reference.digest = the image), whose
// layers are in-toto statements annotated with in-toto.io/predicate-type.
func (r *Registry) PushBuildKitIndex(ctx context.Context, spec ImageSpec, opts BuildKitOptions) (BuildKitPushed, error) {
	spec.Format = OCIIndex
	tags := spec.Tags
	spec.Tags = nil
	images, err := r.pushList(ctx, spec) // children by digest; the index is rebuilt below
	if err != nil {
		return BuildKitPushed{}, err
	}
	out := BuildKitPushed{Pushed: Pushed{Repository: spec.Repository, MediaType: imgspecv1.MediaTypeImageIndex, Children: images.Children}}
	idx := imgspecv1.Index{MediaType: imgspecv1.MediaTypeImageIndex}
	idx.SchemaVersion = 2
	for _, c := range images.Children {
		idx.Manifests = append(idx.Manifests, ociDescriptor(c.MediaType, c.Digest, int64(len(c.Manifest)), c.Platform))
	}
	for i, c := range images.Children {
		ref := c.Digest
		if d, ok := opts.Reference[i]; ok {
			ref = d
		}
		att, err := r.pushAttestation(ctx, spec.Repository, c, ref, opts.SBOM, opts.Statement[i])
		if err != nil {
			return BuildKitPushed{}, fmt.Errorf("attestation of %s: %w", c.Digest, err)
		}
		out.Attestations = append(out.Attestations, att)
		d := ociDescriptor(att.MediaType, att.Digest, int64(len(att.Manifest)), &Platform{Architecture: "unknown", OS: "unknown"})
		d.Annotations = map[string]string{"vnd.docker.reference.digest": ref.String(), "vnd.docker.reference.type": "attestation-manifest"}
		idx.Manifests = append(idx.Manifests, d)
	}
	if out.Manifest, err = json.Marshal(idx); err != nil {
		return BuildKitPushed{}, err
	}
	out.Digest = digest.FromBytes(out.Manifest)
	out.Tags = tags
	ref := []string{out.Digest.String()}
	if len(tags) > 0 {
		ref = tags
	}
	for _, t := range ref {
		if err := r.putManifest(ctx, spec.Repository, t, out.MediaType, out.Manifest); err != nil {
			return BuildKitPushed{}, err
		}
	}
	return out, nil
}

// ProvenanceStatement is the SLSA v0.2 provenance BuildKit writes for an
// image (mode=min), naming the image as its subject.
func ProvenanceStatement(image Pushed) []byte {
	st := map[string]any{
		"_type":         "https://in-toto.io/Statement/v0.1",
		"predicateType": PredicateSLSAProvenance02,
		"subject":       []any{map[string]any{"name": "pkg:docker/" + image.Repository + "@latest", "digest": map[string]string{"sha256": image.Digest.Encoded()}}},
		"predicate": map[string]any{
			"builder":   map[string]string{"id": "https://github.com/regimport/regimport/actions/runs/1"},
			"buildType": "https://mobyproject.org/buildkit@v1",
			"materials": []any{
				map[string]any{"uri": "pkg:docker/docker/dockerfile@1", "digest": map[string]string{"sha256": digest.FromString("frontend").Encoded()}},
				map[string]any{"uri": "pkg:docker/alpine@3.20?platform=linux%2Famd64", "digest": map[string]string{"sha256": digest.FromString("base").Encoded()}},
			},
			"invocation": map[string]any{"configSource": map[string]string{"entryPoint": "Dockerfile"}},
			"metadata":   map[string]any{"buildInvocationID": "regimport-test", "completeness": map[string]bool{"parameters": false}},
		},
	}
	b, _ := json.Marshal(st)
	return b
}

// sbomStatement is the SPDX statement of buildx --sbom.
func sbomStatement(image Pushed) []byte {
	st := map[string]any{
		"_type":         "https://in-toto.io/Statement/v0.1",
		"predicateType": PredicateSPDX,
		"subject":       []any{map[string]any{"name": "pkg:docker/" + image.Repository + "@latest", "digest": map[string]string{"sha256": image.Digest.Encoded()}}},
		"predicate":     map[string]any{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "sbom", "packages": []any{}},
	}
	b, _ := json.Marshal(st)
	return b
}

func (r *Registry) pushAttestation(ctx context.Context, repo string, image Pushed, ref digest.Digest, sbom bool, provenance []byte) (Pushed, error) {
	if provenance == nil {
		provenance = ProvenanceStatement(image)
	}
	type stmt struct {
		predicate string
		body      []byte
	}
	stmts := []stmt{{PredicateSLSAProvenance02, provenance}}
	if sbom {
		stmts = append([]stmt{{PredicateSPDX, sbomStatement(image)}}, stmts...) // BuildKit writes the SBOM first
	}
	var diffIDs []digest.Digest
	m := imgspecv1.Manifest{MediaType: imgspecv1.MediaTypeImageManifest}
	m.SchemaVersion = 2
	for _, s := range stmts {
		if err := r.ensureBlob(ctx, repo, s.body); err != nil {
			return Pushed{}, err
		}
		d := ociDescriptor(MediaTypeInToto, digest.FromBytes(s.body), int64(len(s.body)), nil)
		d.Annotations = map[string]string{"in-toto.io/predicate-type": s.predicate}
		m.Layers = append(m.Layers, d)
		diffIDs = append(diffIDs, d.Digest)
	}
	config, err := json.Marshal(map[string]any{"architecture": "unknown", "os": "unknown", "config": map[string]any{},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}})
	if err != nil {
		return Pushed{}, err
	}
	if err := r.ensureBlob(ctx, repo, config); err != nil {
		return Pushed{}, err
	}
	m.Config = ociDescriptor(imgspecv1.MediaTypeImageConfig, digest.FromBytes(config), int64(len(config)), nil)
	out := Pushed{Repository: repo, MediaType: imgspecv1.MediaTypeImageManifest, Config: config, ConfigDigest: m.Config.Digest}
	if out.Manifest, err = json.Marshal(m); err != nil {
		return Pushed{}, err
	}
	out.Digest = digest.FromBytes(out.Manifest)
	if err := r.putManifest(ctx, repo, out.Digest.String(), out.MediaType, out.Manifest); err != nil {
		return Pushed{}, err
	}
	return out, nil
}
