package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	digest "github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/registry"
)

// BuildKit (`docker buildx build --push`, by default since BuildKit 0.11)
// adds to every index one attestation manifest per platform image: platform
// unknown/unknown, these two annotations, and layers that are in-toto
// statements (SLSA provenance; SPDX SBOMs with --sbom), each annotated with
// its predicate type. No runtime pulls it (containers/image picks a platform
// instance, and unknown/unknown matches none), so it is not an image here:
// not imported as a child Image, no verdict, no platform. Its statements are
// kept as attestations of the image it references.
const (
	buildkitReferenceType   = "vnd.docker.reference.type"
	buildkitReferenceDigest = "vnd.docker.reference.digest"
	buildkitAttestationType = "attestation-manifest"
	inTotoPredicateType     = "in-toto.io/predicate-type"
	// InTotoMediaType is the media type of a BuildKit attestation layer.
	InTotoMediaType = "application/vnd.in-toto+json"
	// MaxInTotoBytes caps one in-toto statement read from an attestation
	// manifest: SBOMs of large images run to a few MiB.
	MaxInTotoBytes = 8 << 20
	// maxAttestationLayers caps the statements read of one attestation manifest.
	maxAttestationLayers = 64
)

// IsAttestationEntry reports whether an index entry is a BuildKit
// attestation manifest, by its annotations (its platform is only a hint).
func IsAttestationEntry(e imgspecv1.Descriptor) bool {
	return e.Annotations[buildkitReferenceType] == buildkitAttestationType
}

// imageEntries is an index's entries less its attestation manifests: what
// is imported, served in dockerImageManifests and listed as platforms.
func imageEntries(entries []imgspecv1.Descriptor) []imgspecv1.Descriptor {
	out := entries[:0:0]
	for _, e := range entries {
		if !IsAttestationEntry(e) {
			out = append(out, e)
		}
	}
	return out
}

// indexAttestations reads the BuildKit attestation manifests of a list.
// Nothing here fails the list: a manifest or statement that cannot be read
// is recorded as unreadable, with the reason, and the images are imported.
func (r *fetcher) indexAttestations(ctx context.Context, repo *registry.Repository, list *registry.Manifest, entries []imgspecv1.Descriptor) []catalog.IndexAttestation {
	images := map[digest.Digest]bool{}
	for _, e := range imageEntries(entries) {
		images[e.Digest] = true
	}
	var out []catalog.IndexAttestation
	for _, e := range entries {
		if !IsAttestationEntry(e) {
			continue
		}
		ref := e.Annotations[buildkitReferenceDigest]
		base := catalog.IndexAttestation{Manifest: e.Digest.String(), Image: ref, InIndex: images[digest.Digest(ref)]}
		if !base.InIndex {
			r.imp.log.Warn("attestation manifest names an image that is not in the index", "list", list.Digest.String(),
				"attestation", e.Digest.String(), "image", ref)
		}
		out = append(out, r.attestationStatements(ctx, repo, e.Digest, base)...)
	}
	return out
}

// attestationStatements reads the in-toto layers of one attestation manifest.
func (r *fetcher) attestationStatements(ctx context.Context, repo *registry.Repository, d digest.Digest, base catalog.IndexAttestation) []catalog.IndexAttestation {
	unreadable := func(pos int, predicate, why string) catalog.IndexAttestation {
		a := base
		a.Position, a.PredicateType, a.Reason = pos, predicate, why
		r.imp.log.Warn("unreadable BuildKit attestation", "attestation", d.String(), "layer", pos, "reason", why)
		return a
	}
	m, err := r.childManifest(ctx, repo, d.String())
	if err != nil {
		return []catalog.IndexAttestation{unreadable(0, "", fmt.Sprintf("attestation manifest: %v", err))}
	}
	var mf imgspecv1.Manifest
	if err := json.Unmarshal(m.Bytes, &mf); err != nil {
		return []catalog.IndexAttestation{unreadable(0, "", fmt.Sprintf("attestation manifest is not valid JSON: %v", err))}
	}
	var out []catalog.IndexAttestation
	for i, l := range mf.Layers {
		if i == maxAttestationLayers {
			out = append(out, unreadable(i, "", fmt.Sprintf("%d more layers beyond the cap of %d were not read", len(mf.Layers)-i, maxAttestationLayers)))
			break
		}
		predicate := l.Annotations[inTotoPredicateType]
		if l.MediaType != InTotoMediaType {
			out = append(out, unreadable(i, predicate, fmt.Sprintf("layer media type %q is not %s", l.MediaType, InTotoMediaType)))
			continue
		}
		if l.Size < 0 || l.Size > MaxInTotoBytes {
			out = append(out, unreadable(i, predicate, fmt.Sprintf("in-toto statement of %d bytes, over the cap of %d", l.Size, MaxInTotoBytes)))
			continue
		}
		blob, err := repo.GetBlob(ctx, m.Source, l.Digest, MaxInTotoBytes)
		if err != nil {
			out = append(out, unreadable(i, predicate, fmt.Sprintf("in-toto statement %s: %v", l.Digest, err)))
			continue
		}
		a, err := parseStatement(blob, predicate)
		if err != nil {
			u := unreadable(i, predicate, err.Error())
			u.Content = blob
			out = append(out, u)
			continue
		}
		a.Manifest, a.Position, a.Image, a.InIndex = base.Manifest, i, base.Image, base.InIndex
		out = append(out, a)
	}
	return out
}

// inTotoStatement is what is read of an in-toto statement: the predicate
// type and, for SLSA provenance, the builder and materials (v0.2 and v1).
type inTotoStatement struct {
	Type          string `json:"_type"`
	PredicateType string `json:"predicateType"`
	Predicate     struct {
		Builder struct {
			ID string `json:"id"`
		} `json:"builder"`
		Materials []struct {
			URI string `json:"uri"`
		} `json:"materials"`
		RunDetails struct {
			Builder struct {
				ID string `json:"id"`
			} `json:"builder"`
		} `json:"runDetails"`
		BuildDefinition struct {
			ResolvedDependencies []struct {
				URI string `json:"uri"`
			} `json:"resolvedDependencies"`
		} `json:"buildDefinition"`
	} `json:"predicate"`
}

// parseStatement reads an in-toto statement; annotated is the layer's
// predicate-type annotation, which the statement's own field overrides.
func parseStatement(blob []byte, annotated string) (catalog.IndexAttestation, error) {
	var st inTotoStatement
	dec := json.NewDecoder(bytes.NewReader(blob))
	if err := dec.Decode(&st); err != nil {
		return catalog.IndexAttestation{}, fmt.Errorf("in-toto statement is not valid JSON: %w", err)
	}
	if dec.More() {
		return catalog.IndexAttestation{}, fmt.Errorf("in-toto statement is not valid JSON: data after the object")
	}
	a := catalog.IndexAttestation{Readable: true, PredicateType: st.PredicateType, Content: blob}
	if a.PredicateType == "" {
		a.PredicateType = annotated
	}
	p := st.Predicate
	a.BuilderID = p.RunDetails.Builder.ID
	if a.BuilderID == "" {
		a.BuilderID = p.Builder.ID
	}
	for _, m := range p.Materials {
		a.Materials = append(a.Materials, m.URI)
	}
	for _, m := range p.BuildDefinition.ResolvedDependencies {
		a.Materials = append(a.Materials, m.URI)
	}
	return a, nil
}

// listAttestations reads the BuildKit attestations of a list being stored.
func (r *fetcher) listAttestations(ctx context.Context, repo *registry.Repository, list *registry.Manifest) ([]catalog.IndexAttestation, error) {
	entries, err := r.listEntries(list)
	if err != nil {
		return nil, err
	}
	return r.indexAttestations(ctx, repo, list, entries), nil
}
