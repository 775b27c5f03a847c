package signatures

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/directory"
	"go.podman.io/image/v5/image"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
)

// This file hands already-fetched data to containers/image's policy evaluation.
//
// Simple signatures go through memSource, an in-memory types.ImageSource. The
// public ImageSource interface can only carry simple signatures, and the richer
// internal one cannot be implemented outside containers/image, so an image with
// sigstore signatures is written to a short-lived "dir:" transport directory
// (manifest.json, signature-N in the format containers/image persists signatures in)
// and read back by the dir transport, then presented under the image's docker
// reference with image.UnparsedInstanceWithReference.

// memSource is a types.ImageSource over one manifest and its simple signatures.
type memSource struct {
	ref        types.ImageReference
	manifest   []byte
	mimeType   string
	digest     digest.Digest
	signatures [][]byte
}

func (s *memSource) Reference() types.ImageReference { return s.ref }
func (s *memSource) Close() error                    { return nil }
func (s *memSource) HasThreadSafeGetBlob() bool      { return true }

func (s *memSource) GetManifest(_ context.Context, instanceDigest *digest.Digest) ([]byte, string, error) {
	if instanceDigest != nil && *instanceDigest != s.digest {
		return nil, "", fmt.Errorf("manifest %s is not available offline (only %s is)", *instanceDigest, s.digest)
	}
	return s.manifest, s.mimeType, nil
}

func (s *memSource) GetBlob(context.Context, types.BlobInfo, types.BlobInfoCache) (io.ReadCloser, int64, error) {
	return nil, -1, errors.New("blobs are not available to offline signature verification")
}

func (s *memSource) GetSignatures(context.Context, *digest.Digest) ([][]byte, error) {
	return s.signatures, nil
}

func (s *memSource) LayerInfosForCopy(context.Context, *digest.Digest) ([]types.BlobInfo, error) {
	return nil, nil
}

// evaluation holds what one Verify call shares between its policy evaluations.
type evaluation struct {
	ref      types.ImageReference
	img      Image
	tempRoot string // parent for the dir: images; "" = os.TempDir()
	dir      string // created on first use
	next     int
	closers  []types.ImageSource
	images   map[string]types.UnparsedImage // by signature list: a one-signature image is evaluated twice
	contexts int                            // PolicyContext evaluations, for Verifier.policyContexts
}

// close releases the sources and removes the directory; errors only matter for logs.
func (e *evaluation) close() error {
	var errs []error
	for _, c := range e.closers {
		errs = append(errs, c.Close())
	}
	if e.dir != "" {
		errs = append(errs, os.RemoveAll(e.dir))
	}
	return errors.Join(errs...)
}

// allowed asks containers/image whether policy allows the image carrying sigs.
// Rejection is (false, message, nil); err is for a failure of the call itself.
func (e *evaluation) allowed(ctx context.Context, policy *signature.Policy, sigs []Signature) (bool, string, error) {
	unparsed, err := e.unparsed(ctx, sigs)
	if err != nil {
		return false, "", err
	}
	e.contexts++
	pc, err := signature.NewPolicyContext(policy)
	if err != nil {
		return false, "", fmt.Errorf("creating a policy context: %w", err)
	}
	defer func() { _ = pc.Destroy() }()
	ok, err := pc.IsRunningImageAllowed(ctx, unparsed)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return false, "", ctxErr
	}
	if ok {
		return true, "", nil
	}
	if err == nil { // containers/image promises an error with false; be defensive
		err = errors.New("rejected without a reason")
	}
	return false, err.Error(), nil
}

func (e *evaluation) unparsed(ctx context.Context, sigs []Signature) (types.UnparsedImage, error) {
	sigstore := false
	for _, s := range sigs {
		if normalizeType(s.Type) == TypeSigstore {
			sigstore = true
			break
		}
	}
	if !sigstore {
		blobs := make([][]byte, len(sigs))
		for i, s := range sigs {
			blobs[i] = s.Content
		}
		// The type is guessed here, not for every image: the fast path
		// (fastpath.go) accepts most images without a PolicyContext.
		src := &memSource{ref: e.ref, manifest: e.img.Manifest, mimeType: manifestMIMEType(e.img.Manifest), digest: e.img.ManifestDigest, signatures: blobs}
		return image.UnparsedInstance(src, &e.img.ManifestDigest), nil
	}

	blobs := make([][]byte, len(sigs))
	keyHash := sha256.New()
	for i, s := range sigs {
		blob, err := storedBlob(s)
		if err != nil {
			return nil, err
		}
		blobs[i] = blob
		sum := sha256.Sum256(blob)
		keyHash.Write(sum[:])
	}
	key := string(keyHash.Sum(nil))
	if img, ok := e.images[key]; ok {
		return img, nil
	}
	if e.dir == "" {
		dir, err := os.MkdirTemp(e.tempRoot, "regimport-signatures-")
		if err != nil {
			return nil, fmt.Errorf("creating a directory to evaluate sigstore signatures: %w", err)
		}
		e.dir = dir
	}
	sub := filepath.Join(e.dir, strconv.Itoa(e.next))
	e.next++
	if err := writeDirImage(sub, e.img.Manifest, blobs); err != nil {
		return nil, err
	}
	dirRef, err := directory.NewReference(sub)
	if err != nil {
		return nil, fmt.Errorf("dir: reference %s: %w", sub, err)
	}
	src, err := dirRef.NewImageSource(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", sub, err)
	}
	e.closers = append(e.closers, src)
	img := image.UnparsedInstanceWithReference(image.UnparsedInstance(src, nil), e.ref)
	if e.images == nil {
		e.images = map[string]types.UnparsedImage{}
	}
	e.images[key] = img
	return img, nil
}

// writeDirImage lays out manifest and signature blobs as the dir: transport reads them.
func writeDirImage(dir string, manifestBlob []byte, blobs [][]byte) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), manifestBlob, 0o600); err != nil {
		return fmt.Errorf("writing manifest for evaluation: %w", err)
	}
	for i, blob := range blobs {
		if err := os.WriteFile(filepath.Join(dir, "signature-"+strconv.Itoa(i+1)), blob, 0o600); err != nil {
			return fmt.Errorf("writing signature for evaluation: %w", err)
		}
	}
	return nil
}

// Prefixes of the persisted signature format of containers/image (a zero byte, the
// format name, a newline, then the data); see its docs/containers-signature.5.md
// and the dir transport. Explicitly marking simple signatures keeps a blob that is not
// OpenPGP at all a rejected signature instead of an unreadable directory.
const (
	storedSimplePrefix   = "\x00simple-signing\n"
	storedSigstorePrefix = "\x00sigstore-json\n"
)

// storedSigstore is the JSON of a persisted sigstore signature; it is also what a
// sigstore ImageSignature stores as Content.
type storedSigstore struct {
	MIMEType    string            `json:"mimeType"`
	Payload     []byte            `json:"payload"`
	Annotations map[string]string `json:"annotations"`
}

func sigstoreEnvelope(s Signature) ([]byte, error) {
	ann := map[string]string{SigstoreSignatureAnnotation: s.SigstoreSignature}
	for k, v := range map[string]string{
		SigstoreCertificateAnnotation: s.Certificate,
		SigstoreChainAnnotation:       s.Chain,
		SigstoreBundleAnnotation:      s.Bundle,
	} {
		if v != "" {
			ann[k] = v
		}
	}
	b, err := json.Marshal(storedSigstore{MIMEType: SigstoreSignatureMIMEType, Payload: s.Content, Annotations: ann})
	if err != nil {
		return nil, fmt.Errorf("encoding sigstore signature: %w", err)
	}
	return b, nil
}

func storedBlob(s Signature) ([]byte, error) {
	if normalizeType(s.Type) != TypeSigstore {
		return append([]byte(storedSimplePrefix), s.Content...), nil
	}
	env, err := sigstoreEnvelope(s)
	if err != nil {
		return nil, err
	}
	return append([]byte(storedSigstorePrefix), env...), nil
}

// manifestMIMEType guesses the manifest type as containers/image would.
func manifestMIMEType(m []byte) string {
	return manifest.GuessMIMEType(m)
}
