package signatures

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/notaryproject/notation-core-go/revocation"
	"github.com/notaryproject/notation-core-go/revocation/crl"
	"github.com/notaryproject/notation-core-go/revocation/purpose"
	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/dir"
	notationverifier "github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	imagev1 "github.com/openshift/api/image/v1"
	"go.podman.io/image/v5/docker/reference"
	corev1 "k8s.io/api/core/v1"
)

// Notation (Notary Project) signatures are verified here through notation-go,
// the Notary Project's own library, against a trust policy in notation's
// format (trustpolicy.json: registry scopes, trust stores, trusted
// identities, verification level) and a trust store directory laid out as
// notation's (x509/ca/<name>/*.crt, x509/signingAuthority/..., x509/tsa/...).
//
// Verification is offline: the revocation checks notation-go would make
// over HTTP (OCSP, CRL) go through a client that refuses every request, so a
// certificate that names a revocation service gets an "unknown" revocation
// result instead of a network call; set "revocation": "skip" (or "log") in
// the trust policy's verification level when such certificates are used.

// Notation artifact and envelope media types.
const (
	NotationArtifactType  = "application/vnd.cncf.notary.signature"
	NotationJWSMediaType  = "application/jose+json"
	NotationCOSEMediaType = "application/cose"
	// TypeNotation is a notation signature: the JWS or COSE envelope as found.
	TypeNotation = "notation"
	// TypeSigstoreBundle is a sigstore bundle (cosign v3): the bundle JSON as found.
	TypeSigstoreBundle = "sigstore-bundle"
	// SourceReferrers: found as an OCI 1.1 referrer of the manifest.
	SourceReferrers = "referrers"
)

// ReasonOutsideTrustPolicy: no statement of the notation trust policy covers
// the image's repository.
const ReasonOutsideTrustPolicy = "OutsideTrustPolicy"

type notationVerifier struct {
	doc *trustpolicy.Document
	v   notation.Verifier
}

// notationOutcome is the notation trust policy's say on the image as a whole.
type notationOutcome struct {
	verdict Verdict
	reason  string
}

// offlineHTTP refuses every request: verification must never reach the network.
var offlineHTTP = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("offline verification: no request to %s", r.URL.Host)
})}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// trustStoreFS serves a trust store directory (the one holding x509/) where
// notation-go asks for "truststore/x509/...".
type trustStoreFS struct {
	fs.FS
	root string
}

func (t trustStoreFS) SysPath(items ...string) (string, error) {
	p := path.Join(items...)
	rel, ok := strings.CutPrefix(p, dir.TrustStoreDir)
	if !ok {
		return "", fmt.Errorf("%s is outside the trust store", p)
	}
	return filepath.Join(t.root, filepath.FromSlash(rel)), nil
}

func newNotationVerifier(policyPath, storeDir string) (*notationVerifier, error) {
	raw, err := os.ReadFile(policyPath)
	if err != nil {
		return nil, fmt.Errorf("reading notation trust policy: %w", err)
	}
	var doc trustpolicy.Document
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("notation trust policy %s: %w", policyPath, err)
	}
	if err := doc.Validate(); err != nil {
		return nil, fmt.Errorf("notation trust policy %s: %w", policyPath, err)
	}
	if storeDir == "" {
		return nil, fmt.Errorf("notation trust policy %s: a trust store directory is needed too", policyPath)
	}
	if st, err := os.Stat(storeDir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("notation trust store %s: not a readable directory (%v)", storeDir, err)
	}
	store := truststore.NewX509TrustStore(trustStoreFS{FS: os.DirFS(storeDir), root: storeDir})
	// Both OCSP and CRL go through offlineHTTP: notation-core-go would
	// otherwise make its own HTTP clients for them.
	crls, err := crl.NewHTTPFetcher(offlineHTTP)
	if err != nil {
		return nil, fmt.Errorf("notation revocation checks: %w", err)
	}
	codeSigning, err := revocation.NewWithOptions(revocation.Options{OCSPHTTPClient: offlineHTTP, CRLFetcher: crls, CertChainPurpose: purpose.CodeSigning})
	if err != nil {
		return nil, fmt.Errorf("notation revocation checks: %w", err)
	}
	timestamping, err := revocation.NewWithOptions(revocation.Options{OCSPHTTPClient: offlineHTTP, CRLFetcher: crls, CertChainPurpose: purpose.Timestamping})
	if err != nil {
		return nil, fmt.Errorf("notation revocation checks: %w", err)
	}
	v, err := notationverifier.NewWithOptions(&doc, store, nil, notationverifier.VerifierOptions{
		RevocationCodeSigningValidator: codeSigning, RevocationTimestampingValidator: timestamping})
	if err != nil {
		return nil, fmt.Errorf("notation trust policy %s: %w", policyPath, err)
	}
	return &notationVerifier{doc: &doc, v: v}, nil
}

// notationReference is how notation names the image: repository@digest.
func notationReference(img Image) string {
	return reference.TrimNamed(img.Reference).String() + "@" + img.ManifestDigest.String()
}

// verifyNotation checks the notation signatures (indexes into sigs) and says
// what the trust policy requires of the image: nil when no trust policy is
// configured or none applies to the image (or its level is skip).
func (v *Verifier) verifyNotation(ctx context.Context, img Image, sigs []Signature, idx []int, checks []check) *notationOutcome {
	if v.notation == nil {
		return nil
	}
	artifact := notationReference(img)
	desc := imgspecv1.Descriptor{MediaType: manifestMIMEType(img.Manifest), Digest: img.ManifestDigest, Size: int64(len(img.Manifest))}
	trusted := 0
	for _, i := range idx {
		checks[i] = v.notation.check(ctx, artifact, desc, sigs[i].Content)
		if checks[i].stage == stageAccepted {
			trusted++
		}
	}
	pol, err := v.notation.doc.GetApplicableTrustPolicy(artifact)
	if err != nil {
		return nil
	}
	if level, err := pol.SignatureVerification.GetVerificationLevel(); err == nil && level.Name == trustpolicy.LevelSkip.Name {
		return nil
	}
	if trusted > 0 {
		return &notationOutcome{verdict: VerdictAccepted}
	}
	return &notationOutcome{verdict: VerdictRejected, reason: fmt.Sprintf("notation trust policy %q requires a verified notation signature; %d found, none trusted", pol.Name, len(idx))}
}

// check verifies one envelope. Whether it carries a timestamp
// countersignature is read from notation-go's parse of it, which exists once
// the envelope passed the integrity check (parsing it again costs most of a
// millisecond).
func (n *notationVerifier) check(ctx context.Context, artifact string, desc imgspecv1.Descriptor, envelope []byte) check {
	mediaType := notationMediaType(envelope)
	outcome, err := n.v.Verify(ctx, desc, envelope, notation.VerifierVerifyOptions{ArtifactReference: artifact, SignatureMediaType: mediaType})
	c := n.judge(artifact, desc, mediaType, outcome, err)
	if outcome != nil && outcome.EnvelopeContent != nil {
		c.timestampPresent = len(outcome.EnvelopeContent.SignerInfo.UnsignedAttributes.TimestampSignature) > 0
		if c.stage == stageAccepted && c.claims != nil {
			if at, ok := n.notationTimestamp(artifact, outcome, time.Now()); ok {
				c.claims.evidence.TimestampVerified = true
				c.claims.evidence.setTime(at, TimeSourceRFC3161, true)
			}
		}
	}
	return c
}

// judge turns notation-go's outcome for one envelope into a check.
func (n *notationVerifier) judge(artifact string, desc imgspecv1.Descriptor, mediaType string, outcome *notation.VerificationOutcome, err error) check {
	var noPolicy notation.ErrorNoApplicableTrustPolicy
	switch {
	case errors.As(err, &noPolicy):
		return failed(stageParse, ReasonOutsideTrustPolicy, "no statement of the notation trust policy covers %s: %v", artifact, err)
	case err != nil:
		return notationFailure(outcome, err)
	case outcome == nil || outcome.EnvelopeContent == nil:
		// level skip: nothing was verified
		return unknown(ReasonNoPolicyRequirement, "the notation trust policy skips verification for "+artifact)
	}
	info := outcome.EnvelopeContent.SignerInfo
	if len(info.CertificateChain) == 0 {
		return failed(stageParse, ReasonCorruptSignature, "notation envelope without certificates")
	}
	leaf := info.CertificateChain[0]
	cl := &claims{sigType: "notation " + mediaType, digest: desc.Digest, identity: artifact,
		issuedTo: notationSubject(leaf), issuedBy: &imagev1.SignatureIssuer{}}
	cl.issuedBy.CommonName = leaf.Issuer.CommonName
	if len(leaf.Issuer.Organization) > 0 {
		cl.issuedBy.Organization = leaf.Issuer.Organization[0]
	}
	cl.evidence.KeyFingerprint = cl.issuedTo.PublicKeyID
	cl.evidence.setCertificate(leaf)
	if t := info.SignedAttributes.SigningTime; !t.IsZero() {
		cl.created = t.UTC()
		cl.evidence.setTime(t, TimeSourceNotationSigningTime, false)
	}
	if expiry := info.SignedAttributes.Expiry; !expiry.IsZero() {
		cl.evidence.SignatureExpiry = expiry.UTC()
	}
	return check{stage: stageAccepted, trusted: corev1.ConditionTrue, forImage: corev1.ConditionTrue, reason: ReasonVerified, claims: cl,
		message: fmt.Sprintf("notation signature verified under the trust policy, signed by %s", cl.issuedTo.CommonName)}
}

// notationMediaType tells a JWS envelope (JSON) from a COSE one (CBOR).
func notationMediaType(envelope []byte) string {
	if len(envelope) > 0 && envelope[0] != '{' {
		return NotationCOSEMediaType
	}
	return NotationJWSMediaType
}

func notationSubject(leaf *x509.Certificate) imagev1.SignatureSubject {
	s := imagev1.SignatureSubject{}
	s.CommonName = leaf.Subject.CommonName
	if len(leaf.Subject.Organization) > 0 {
		s.Organization = leaf.Subject.Organization[0]
	}
	if k, err := newSigstoreKey(leaf.PublicKey); err == nil {
		s.PublicKeyID = k.fingerprint
	}
	return s
}

// notationFailure turns notation-go's verdict into a reason: the first
// validation that failed says which step it was.
func notationFailure(outcome *notation.VerificationOutcome, err error) check {
	if outcome != nil {
		for _, r := range outcome.VerificationResults {
			if r == nil || r.Error == nil || r.Action == trustpolicy.ActionLog || r.Action == trustpolicy.ActionSkip {
				continue
			}
			switch r.Type {
			case trustpolicy.TypeIntegrity:
				return failed(stageParse, ReasonCorruptSignature, "notation integrity: %v", r.Error)
			case trustpolicy.TypeAuthenticity:
				return failed(stageKey, ReasonCertificateNotTrusted, "notation authenticity: %v", r.Error)
			case trustpolicy.TypeExpiry:
				return failed(stagePolicy, ReasonCertificateExpired, "notation expiry: %v", r.Error)
			case trustpolicy.TypeRevocation:
				return failed(stagePolicy, ReasonCertificateNotTrusted, "notation revocation: %v", r.Error)
			case trustpolicy.TypeAuthenticTimestamp:
				return failed(stagePolicy, ReasonCertificateExpired, "notation timestamp: %v", r.Error)
			}
		}
	}
	if strings.Contains(err.Error(), "content descriptor mismatch") {
		c := failed(stageDigest, ReasonDigestMismatch, "the notation signature is for another manifest: %v", err)
		c.forImage = corev1.ConditionFalse
		return c
	}
	return failed(stageSignature, ReasonInvalidSignature, "notation: %v", err)
}
