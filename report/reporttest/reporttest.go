// Package reporttest builds catalogs for the report's tests and benchmark
// through the real catalog writer: runs begun and finished, images with
// layers, verdicts and signatures, tags that move between runs. Nothing here
// is faked below the catalog's public API.
package reporttest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	digest "github.com/opencontainers/go-digest"
	"github.com/openshift/api/image/docker10"
	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Media types used by the fixtures.
const (
	OCIManifest = "application/vnd.oci.image.manifest.v1+json"
	OCIIndex    = "application/vnd.oci.image.index.v1+json"
	OCILayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

// Clock is a deterministic clock for catalog.Options.Now: every reading is
// one millisecond after the previous one, so runs and events are ordered.
type Clock struct{ ms atomic.Int64 }

// NewClock starts a clock at t.
func NewClock(t time.Time) *Clock {
	c := &Clock{}
	c.ms.Store(t.UnixMilli())
	return c
}

// Now reads the clock and moves it on by a millisecond.
func (c *Clock) Now() time.Time { return time.UnixMilli(c.ms.Add(1)).UTC() }

// Skip moves the clock on.
func (c *Clock) Skip(d time.Duration) { c.ms.Add(d.Milliseconds()) }

// Layer is a layer by the seed of its digest.
type Layer struct {
	Seed string
	Size int64
}

// Sig is one signature of an image.
type Sig struct {
	Type    string // atomic (default) or sigstore
	Trusted bool
	Reason  string // condition reason; Verified when trusted and empty
	KeyID   string // issuedTo.publicKeyID (trusted only)
	CN, Org string // issuedTo names (trusted only)
	Issuer  string // issuedBy.commonName (trusted only)
	Signed  time.Time
	// Evidence is stored as it is (zero: unknown, as before schema 13).
	Evidence catalog.SignatureEvidence
}

// Image describes one single-platform image.
type Image struct {
	Seed       string // makes the manifest, hence the digest, unique
	Repository string // for dockerImageReference
	Arch, OS   string
	Created    time.Time
	Layers     []Layer
	// Verdict "" leaves the image never evaluated (no signatures looked at).
	Verdict, Reason string
	Sigs            []Sig
	// Annotations are the manifest's (org.opencontainers.image.base.name ...).
	Annotations map[string]string
}

// Digest is the image's name.
func (im Image) Digest() string { return digest.FromString(im.manifest()).String() }

func (im Image) manifest() string {
	if len(im.Annotations) == 0 {
		return fmt.Sprintf(`{"schemaVersion":2,"seed":%q}`, im.Seed)
	}
	ann, _ := json.Marshal(im.Annotations) // a map of strings always marshals
	return fmt.Sprintf(`{"schemaVersion":2,"seed":%q,"annotations":%s}`, im.Seed, ann)
}

// Record builds the catalog record.
func (im Image) Record() catalog.ImageRecord {
	arch, os := im.Arch, im.OS
	if arch == "" {
		arch = "amd64"
	}
	if os == "" {
		os = "linux"
	}
	config := fmt.Sprintf(`{"architecture":%q,"os":%q,"seed":%q}`, arch, os, im.Seed)
	size := int64(len(config))
	var layers []imagev1.ImageLayer
	seen := map[string]bool{}
	for _, l := range im.Layers {
		d := digest.FromString(l.Seed).String()
		layers = append(layers, imagev1.ImageLayer{Name: d, LayerSize: l.Size, MediaType: OCILayer})
		if !seen[d] {
			seen[d] = true
			size += l.Size
		}
	}
	meta, _ := json.Marshal(docker10.DockerImage{TypeMeta: metav1.TypeMeta{Kind: "DockerImage", APIVersion: "image.openshift.io/1.0"},
		ID: digest.FromString(config).String(), Architecture: arch, Size: size, Created: metav1.NewTime(im.Created)})
	name := im.Digest()
	rec := catalog.ImageRecord{
		Image: &imagev1.Image{
			ObjectMeta:                   metav1.ObjectMeta{Name: name, Annotations: map[string]string{imagev1.DockerImageLayersOrderAnnotation: "ascending"}},
			DockerImageReference:         im.Repository + "@" + name,
			DockerImageMetadata:          runtime.RawExtension{Raw: meta},
			DockerImageMetadataVersion:   "1.0",
			DockerImageManifest:          im.manifest(),
			DockerImageConfig:            config,
			DockerImageManifestMediaType: OCIManifest,
			DockerImageLayers:            layers,
		},
		ConfigMediaType: "application/vnd.oci.image.config.v1+json", OS: os,
	}
	if im.Verdict != "" {
		rec.Verification = &catalog.Verification{Verdict: catalog.Verdict(im.Verdict), Reason: im.Reason, Signatures: Signatures(name, im.Sigs)}
	}
	return rec
}

// Signatures builds signature records as the verifier would.
func Signatures(image string, sigs []Sig) []catalog.SignatureRecord {
	var out []catalog.SignatureRecord
	for i, s := range sigs {
		typ := s.Type
		if typ == "" {
			typ = "atomic"
		}
		status, reason := corev1.ConditionFalse, s.Reason
		if s.Trusted {
			status = corev1.ConditionTrue
			if reason == "" {
				reason = "Verified"
			}
		}
		obj := imagev1.ImageSignature{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s@sig-%d", image, i)}, Type: typ,
			Content:    []byte(fmt.Sprintf("signature %d of %s", i, image)),
			Conditions: []imagev1.SignatureCondition{{Type: "Trusted", Status: status, Reason: reason}, {Type: "ForImage", Status: status, Reason: reason}}}
		if s.Trusted {
			obj.IssuedTo = &imagev1.SignatureSubject{PublicKeyID: s.KeyID, SignatureGenericEntity: imagev1.SignatureGenericEntity{CommonName: s.CN, Organization: s.Org}}
			if s.Issuer != "" {
				obj.IssuedBy = &imagev1.SignatureIssuer{SignatureGenericEntity: imagev1.SignatureGenericEntity{CommonName: s.Issuer}}
			}
			if !s.Signed.IsZero() {
				t := metav1.NewTime(s.Signed)
				obj.Created = &t
			}
			obj.ImageIdentity = "signed"
		}
		out = append(out, catalog.SignatureRecord{Source: "lookaside", Type: typ, Content: obj.Content, Object: obj, Evidence: s.Evidence})
	}
	return out
}

// List is a manifest list (OCI index) of images, which must be put too.
func List(seed, repository string, children ...Image) catalog.ImageRecord {
	raw := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"seed":%q}`, OCIIndex, seed)
	name := digest.FromString(raw).String()
	meta, _ := json.Marshal(docker10.DockerImage{TypeMeta: metav1.TypeMeta{Kind: "DockerImage", APIVersion: "image.openshift.io/1.0"}, ID: name})
	img := &imagev1.Image{
		ObjectMeta: metav1.ObjectMeta{Name: name}, DockerImageReference: repository + "@" + name,
		DockerImageMetadata: runtime.RawExtension{Raw: meta}, DockerImageMetadataVersion: "1.0",
		DockerImageManifest: raw, DockerImageManifestMediaType: OCIIndex,
	}
	for _, c := range children {
		arch := c.Arch
		if arch == "" {
			arch = "amd64"
		}
		img.DockerImageManifests = append(img.DockerImageManifests, imagev1.ImageManifest{Digest: c.Digest(), MediaType: OCIManifest,
			ManifestSize: int64(len(c.manifest())), Architecture: arch, OS: "linux"})
	}
	return catalog.ImageRecord{Image: img}
}

// Tag points repository:tag at an image.
func Tag(repository, tag, image string) catalog.TagRecord {
	return catalog.TagRecord{Repository: repository, Tag: tag, Image: image, DockerImageReference: repository + "@" + image}
}

// RepositoryRemoval is an op that marks a repository removed with its tags.
type RepositoryRemoval string

// Run records one import run that writes ops (ImageRecord, TagRecord,
// TagRemoval or RepositoryRemoval)
// and ends with the given failures; it returns the run id.
func Run(ctx context.Context, cat catalog.Catalog, command string, ops []any, failures ...catalog.Failure) (int64, error) {
	id, err := cat.BeginRun(ctx, command, catalog.Shard{})
	if err != nil {
		return 0, err
	}
	if err := Write(ctx, cat, id, ops); err != nil {
		return id, err
	}
	status := catalog.RunSucceeded
	if len(failures) > 0 {
		status = catalog.RunPartial
	}
	return id, cat.FinishRun(ctx, id, status, catalog.RunCounts{Imported: len(ops), Failed: len(failures)}, failures)
}

// Write puts ops through one Writer tied to run id (0: none) and returns
// the first error any of them met.
func Write(ctx context.Context, cat catalog.Catalog, run int64, ops []any) error {
	w, err := cat.NewWriter(ctx, catalog.WriterOptions{RunID: run, BatchSize: 512})
	if err != nil {
		return err
	}
	var first atomic.Pointer[error]
	done := func(_ catalog.Outcome, err error) {
		if err != nil {
			first.CompareAndSwap(nil, &err)
		}
	}
	for _, op := range ops {
		switch rec := op.(type) {
		case catalog.ImageRecord:
			err = w.PutImage(ctx, rec, done)
		case catalog.TagRecord:
			err = w.PutTag(ctx, rec, done)
		case catalog.TagRemoval:
			err = w.RemoveTags(ctx, rec, func(_ []catalog.RemovedTag, err error) { done(catalog.Unchanged, err) })
		case RepositoryRemoval:
			err = w.RemoveRepository(ctx, string(rec), nil, func(_ []catalog.RemovedTag, err error) { done(catalog.Unchanged, err) })
		default:
			err = fmt.Errorf("reporttest: cannot write %T", op)
		}
		if err != nil {
			w.Close()
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	if p := first.Load(); p != nil {
		return *p
	}
	return nil
}
