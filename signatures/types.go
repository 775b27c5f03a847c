package signatures

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"github.com/opencontainers/go-digest"
	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	"go.podman.io/image/v5/docker/reference"
)

// Where a signature was found.
const (
	SourceLookaside = "lookaside" // a registries.d lookaside store
	SourceExtension = "extension" // the registry signature extension API
	SourceSigstore  = "sigstore"  // a sigstore attachment (tag sha256-<hex>.sig)
)

// Signature types, as stored in ImageSignature.Type.
const (
	// TypeAtomic is simple signing (an OpenPGP message over an "atomic container
	// signature" payload), the type OpenShift's own importer stores.
	TypeAtomic = "atomic"
	// TypeSimple is accepted on input as a synonym of TypeAtomic; records use TypeAtomic.
	TypeSimple = "simple"
	// TypeSigstore is a cosign signature: payload JSON plus a base64 signature annotation.
	TypeSigstore = "sigstore"
)

// Caps on untrusted input, the values containers/image uses.
const (
	MaxSignatureSize = 4 << 20 // bytes of one signature blob or sigstore payload
	MaxSignatures    = 128     // signatures per image and source
	// MaxManifestSize caps a sigstore attachment manifest and an extension API body.
	MaxManifestSize = 4 << 20
)

// Sigstore media type and annotations (as written by cosign).
const (
	SigstoreSignatureMIMEType     = "application/vnd.dev.cosign.simplesigning.v1+json"
	SigstoreSignatureAnnotation   = "dev.cosignproject.cosign/signature"
	SigstoreCertificateAnnotation = "dev.sigstore.cosign/certificate"
	SigstoreChainAnnotation       = "dev.sigstore.cosign/chain"
	SigstoreBundleAnnotation      = "dev.sigstore.cosign/bundle"

	simpleSigningSignatureType   = "atomic container signature"
	sigstoreSigningSignatureType = "cosign container image signature"
)

// Condition types set on every record.
const (
	ConditionTrusted  imagev1.SignatureConditionType = "Trusted"
	ConditionForImage imagev1.SignatureConditionType = "ForImage"
)

// Condition reasons (ImageSignature.Conditions[].Reason).
const (
	ReasonVerified               = "Verified"               // Trusted and ForImage True
	ReasonNoPolicy               = "NoPolicy"               // no policy configured: nothing evaluated (Unknown)
	ReasonTooManySignatures      = "TooManySignatures"      // beyond MaxSignatures: not evaluated (Unknown)
	ReasonNoPolicyRequirement    = "NoPolicyRequirement"    // no requirement in scope verifies this type of signature
	ReasonRejectedByPolicy       = "RejectedByPolicy"       // the scope has a "reject" requirement
	ReasonUnsupportedType        = "UnsupportedType"        // Signature.Type is neither atomic nor sigstore
	ReasonUnsupportedRequirement = "UnsupportedRequirement" // e.g. signedBy with keyType X509Certificates
	ReasonTooLarge               = "SignatureTooLarge"      // blob above MaxSignatureSize
	ReasonCorruptSignature       = "CorruptSignature"       // does not parse as a signature of its type
	ReasonUnknownKey             = "UnknownKey"             // not made by any key the policy trusts here
	ReasonInvalidSignature       = "InvalidSignature"       // a trusted key, but the signature does not verify
	ReasonKeyExpired             = "KeyExpired"             // the OpenPGP key or signature has expired
	ReasonDigestMismatch         = "DigestMismatch"         // verified, but signs another manifest digest
	ReasonIdentityNotAccepted    = "IdentityNotAccepted"    // verified, but signedIdentity rejects the docker-reference
	ReasonCertificateExpired     = "CertificateExpired"     // the signing certificate has expired
	ReasonCertificateNotTrusted  = "CertificateNotTrusted"  // certificate missing, not chained to the CA, wrong subject
	ReasonRekorNotVerified       = "RekorNotVerified"       // the Rekor SET is missing or does not verify
	ReasonPolicyEvaluationFailed = "PolicyEvaluationFailed" // containers/image refused for another reason
)

// SignedClaims keys (only on Trusted signatures).
const (
	ClaimType      = "type"      // critical.type: "atomic container signature" or "cosign container image signature"
	ClaimDigest    = "digest"    // critical.image.docker-manifest-digest
	ClaimIdentity  = "identity"  // critical.identity.docker-reference
	ClaimCreator   = "creator"   // optional.creator, when present
	ClaimTimestamp = "timestamp" // optional.timestamp (Unix seconds, decimal), when present
)

// Errors of the fetch and parse helpers, for errors.Is.
var (
	// ErrTooManySignatures: a source offered more than MaxSignatures signatures.
	ErrTooManySignatures = errors.New("more signatures than the cap")
	// ErrTooLarge: a blob, manifest or body above its cap.
	ErrTooLarge = errors.New("larger than the cap")
)

// Signature is one signature blob as found, not yet trusted.
type Signature struct {
	Source string // SourceLookaside, SourceExtension or SourceSigstore
	Type   string // TypeAtomic (or TypeSimple) or TypeSigstore
	// Content is, for simple signing, the OpenPGP blob; for sigstore, the payload JSON.
	Content []byte
	// Sigstore only: values of the layer annotations.
	SigstoreSignature string // base64, dev.cosignproject.cosign/signature
	Certificate       string // PEM, dev.sigstore.cosign/certificate
	Chain             string // PEM, dev.sigstore.cosign/chain
	Bundle            string // JSON, dev.sigstore.cosign/bundle (Rekor SET)
	// Name is the stored signature name; see [SignatureName]. The constructors of this
	// package set it; Verify computes it when empty.
	Name string
}

// SignatureName returns the stable name of sig: for simple signing the sha256 hex of
// Content (what OpenShift's importer uses); for sigstore the sha256 hex of
// sha256(Content) || sha256(SigstoreSignature), so that two signatures of one payload
// differ and one signature found twice has one name.
func SignatureName(sig Signature) string {
	if normalizeType(sig.Type) != TypeSigstore {
		sum := sha256.Sum256(sig.Content)
		return hex.EncodeToString(sum[:])
	}
	payload := sha256.Sum256(sig.Content)
	signature := sha256.Sum256([]byte(sig.SigstoreSignature))
	sum := sha256.Sum256(append(payload[:], signature[:]...))
	return hex.EncodeToString(sum[:])
}

func normalizeType(t string) string {
	if t == TypeSimple {
		return TypeAtomic
	}
	return t
}

// Image is what the verifier needs to know of one manifest.
type Image struct {
	// Reference is what is pulled: a name-only or digested reference is
	// evaluated as repository@ManifestDigest (the importer's pair verdicts
	// pass the repository alone), a tagged one under its tag (a reference
	// with both tag and digest loses its digest).
	Reference reference.Named
	// Manifest is the manifest as served; it must match ManifestDigest.
	Manifest       []byte
	ManifestDigest digest.Digest
	// ImageName is the Image's metadata.name; empty means ManifestDigest.String().
	ImageName string
}

// Verdict is the policy's answer for the image as a whole: the catalog's
// Verdict, declared there once.
type Verdict = catalog.Verdict

// The policy's verdicts (catalog adds unevaluated and mixed).
const (
	VerdictAccepted = catalog.VerdictAccepted
	VerdictRejected = catalog.VerdictRejected
	VerdictNoPolicy = catalog.VerdictNoPolicy // Options.PolicyPath was empty
)

// Result of one Verify call.
type Result struct {
	Verdict Verdict
	// Reason is the policy's message when rejected, a fixed note for no-policy, else "".
	Reason string
	// Signatures holds one record per input Signature, in input order.
	Signatures []imagev1.ImageSignature
	// Evidence holds, for the same signatures in the same order, who signed,
	// when and on what evidence (see [Evidence]).
	Evidence []Evidence
}

// Options configure a Verifier. The zero value verifies nothing (no-policy).
type Options struct {
	// PolicyPath is a containers-policy.json file; "" means no policy: every image
	// gets VerdictNoPolicy and every signature Trusted=Unknown, reason NoPolicy.
	PolicyPath string
	// Now stamps the conditions; nil means time.Now.
	Now func() time.Time
	// Logger receives debug records per signature; nil discards.
	Logger *slog.Logger
	// SigstoreTrustedRoot is a trusted_root.json as sigstore distributes it (Fulcio
	// CAs, Rekor logs, timestamp authorities) for certificate-signed sigstore
	// bundles; "" means such bundles cannot be trusted (reason NoTrustedRoot).
	SigstoreTrustedRoot string
	// NotationTrustPolicy is a notation trustpolicy.json; "" means notation
	// signatures are not evaluated (NoPolicy). NotationTrustStore is the trust
	// store directory it refers to (holding x509/ca/<name>/...).
	NotationTrustPolicy string
	NotationTrustStore  string
	// TempDir holds the short-lived directories through which sigstore signatures are
	// handed to containers/image (see source.go): a few small files per image with
	// sigstore signatures, removed when Verify returns. "" means os.TempDir(); a tmpfs
	// such as /dev/shm keeps this off the disk.
	TempDir string
}
