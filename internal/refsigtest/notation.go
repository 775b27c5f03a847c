package refsigtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/signer"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Notation media types.
const (
	NotationArtifactType = "application/vnd.cncf.notary.signature"
	NotationJWS          = "application/jose+json"
	NotationCOSE         = "application/cose"
)

// NotationSigner is a code-signing certificate under a root CA of its own,
// as `notation cert generate-test` makes.
type NotationSigner struct {
	Root *x509.Certificate
	Leaf *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewNotationSigner makes a root CA and a leaf whose subject is
// C=US,ST=WA,O=org,CN=name, valid for a day.
func NewNotationSigner(name, org string) (*NotationSigner, error) {
	return newNotationSigner(name, org, "", time.Now().Add(24*time.Hour))
}

// NewNotationSignerWithRevocation is NewNotationSigner with a leaf that
// names revocationURL as its OCSP responder and CRL distribution point.
func NewNotationSignerWithRevocation(name, org, revocationURL string) (*NotationSigner, error) {
	return newNotationSigner(name, org, revocationURL, time.Now().Add(24*time.Hour))
}

// NewNotationSignerValidUntil is NewNotationSigner with a leaf that expires
// at notAfter (whole seconds, as X.509 stores it): sign before, verify after
// to get a signature whose certificate has expired.
func NewNotationSignerValidUntil(name, org string, notAfter time.Time) (*NotationSigner, error) {
	return newNotationSigner(name, org, "", notAfter)
}

// NotationSubject is the trustedIdentities entry for the leaf of a signer
// made by NewNotationSigner(name, org).
func NotationSubject(name, org string) string {
	return "x509.subject: C=US, ST=WA, O=" + org + ", CN=" + name
}

func newNotationSigner(name, org, revocationURL string, leafNotAfter time.Time) (*NotationSigner, error) {
	now := time.Now()
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(10), Subject: pkix.Name{CommonName: name + " root", Organization: []string{org}, Country: []string{"US"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	root, rootKey, err := issue(rootTmpl, nil, nil)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(11),
		Subject:   pkix.Name{CommonName: name, Organization: []string{org}, Country: []string{"US"}, Province: []string{"WA"}},
		NotBefore: now.Add(-time.Hour), NotAfter: leafNotAfter, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
	if revocationURL != "" {
		leafTmpl.OCSPServer, leafTmpl.CRLDistributionPoints = []string{revocationURL + "/ocsp"}, []string{revocationURL + "/crl"}
	}
	leaf, leafKey, err := issue(leafTmpl, root, rootKey)
	if err != nil {
		return nil, err
	}
	return &NotationSigner{Root: root, Leaf: leaf, key: leafKey}, nil
}

// Sign makes a notation signature envelope (NotationJWS or NotationCOSE)
// over desc, the image's manifest descriptor, with notation-go's signer.
func (n *NotationSigner) Sign(ctx context.Context, desc imgspecv1.Descriptor, envelopeType string) ([]byte, error) {
	return n.SignWithExpiry(ctx, desc, envelopeType, 0)
}

// SignWithExpiry is Sign with the signature's expiry attribute set to
// expiry after the signing time (notation sign --expiry); 0 sets none.
func (n *NotationSigner) SignWithExpiry(ctx context.Context, desc imgspecv1.Descriptor, envelopeType string, expiry time.Duration) ([]byte, error) {
	s, err := signer.NewGenericSigner(n.key, []*x509.Certificate{n.Leaf, n.Root})
	if err != nil {
		return nil, err
	}
	env, _, err := s.Sign(ctx, desc, notation.SignerSignOptions{SignatureMediaType: envelopeType, SigningAgent: "regimport refsigtest", ExpiryDuration: expiry})
	return env, err
}

// WriteTrustStore puts the root CA into dir/x509/ca/name/, the layout of a
// notation trust store.
func (n *NotationSigner) WriteTrustStore(dir, name string) error {
	d := filepath.Join(dir, "x509", "ca", name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(d, "root.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: n.Root.Raw}), 0o644)
}

// TrustPolicy is a notation trustpolicy.json with one strict statement
// trusting trust store ca:store for the given registry scopes.
func TrustPolicy(store string, scopes ...string) []byte {
	return TrustPolicyWith(store, map[string]any{"level": "strict"}, scopes...)
}

// TrustPolicyWith is TrustPolicy with another signatureVerification object.
func TrustPolicyWith(store string, verification map[string]any, scopes ...string) []byte {
	return TrustPolicyFor(store, verification, []string{"*"}, scopes...)
}

// TrustPolicyFor is TrustPolicyWith with the given trustedIdentities (see
// NotationSubject) instead of "*".
func TrustPolicyFor(store string, verification map[string]any, identities []string, scopes ...string) []byte {
	b, _ := json.Marshal(map[string]any{
		"version": "1.0",
		"trustPolicies": []any{map[string]any{
			"name": "regimport-test", "registryScopes": scopes,
			"signatureVerification": verification,
			"trustStores":           []string{"ca:" + store}, "trustedIdentities": identities,
		}},
	})
	return b
}

// NotationManifest is the OCI 1.1 manifest notation pushes for an envelope.
func NotationManifest(subject imgspecv1.Descriptor, envelopeType string, envelope []byte) ([]byte, [][]byte) {
	return ArtifactManifest(subject, NotationArtifactType, envelopeType, envelope, map[string]string{
		"io.cncf.notary.x509chain.thumbprint#S256": "[]",
	})
}
