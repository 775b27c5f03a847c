package refsigtest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/signer"
	"github.com/notaryproject/tspclient-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TSA is an RFC 3161 timestamp authority in process: a root CA and a
// timestamping leaf (extended key usage timeStamping only, marked
// critical, as RFC 3161 and notation require). It answers notation's
// timestamp requests (tspclient.Timestamper), stamping At.
type TSA struct {
	Root *x509.Certificate
	Leaf *x509.Certificate
	key  *ecdsa.PrivateKey
	// At is the time it stamps (genTime); zero: now.
	At time.Time
}

// NewTSA makes a timestamp authority valid from an hour ago for a day.
func NewTSA() (*TSA, error) {
	now := time.Now()
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(20), Subject: pkix.Name{CommonName: "test TSA root", Organization: []string{"regimport"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	root, rootKey, err := issue(rootTmpl, nil, nil)
	if err != nil {
		return nil, err
	}
	// Go marks the extended key usage it writes non-critical: this one is
	// written by hand.
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}}) // id-kp-timeStamping
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(21), Subject: pkix.Name{CommonName: "test TSA", Organization: []string{"regimport"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}}}
	leaf, key, err := issue(leafTmpl, root, rootKey)
	if err != nil {
		return nil, err
	}
	return &TSA{Root: root, Leaf: leaf, key: key}, nil
}

// Timestamp answers one RFC 3161 request.
func (a *TSA) Timestamp(_ context.Context, req *tspclient.Request) (*tspclient.Response, error) {
	der, err := req.MarshalBinary()
	if err != nil {
		return nil, err
	}
	parsed, err := timestamp.ParseRequest(der)
	if err != nil {
		return nil, fmt.Errorf("test TSA: %w", err)
	}
	at := a.At
	if at.IsZero() {
		at = time.Now()
	}
	ts := timestamp.Timestamp{HashAlgorithm: parsed.HashAlgorithm, HashedMessage: parsed.HashedMessage, Time: at.UTC(),
		Nonce: parsed.Nonce, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2}, AddTSACertificate: parsed.Certificates}
	raw, err := ts.CreateResponseWithOpts(a.Leaf, a.key, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("test TSA: %w", err)
	}
	var resp tspclient.Response
	if err := resp.UnmarshalBinary(raw); err != nil {
		return nil, fmt.Errorf("test TSA: %w", err)
	}
	return &resp, nil
}

// WriteTrustStore puts the TSA's root into dir/x509/tsa/name/, the layout
// of a notation trust store (a trust policy names it tsa:name).
func (a *TSA) WriteTrustStore(dir, name string) error {
	d := filepath.Join(dir, "x509", "tsa", name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(d, "root.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Root.Raw}), 0o644)
}

// SignTimestamped is Sign with an RFC 3161 timestamp countersignature by
// tsa (notation sign --timestamp-url).
func (n *NotationSigner) SignTimestamped(ctx context.Context, desc imgspecv1.Descriptor, envelopeType string, tsa *TSA) ([]byte, error) {
	s, err := signer.NewGenericSigner(n.key, []*x509.Certificate{n.Leaf, n.Root})
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(tsa.Root)
	env, _, err := s.Sign(ctx, desc, notation.SignerSignOptions{SignatureMediaType: envelopeType, SigningAgent: "regimport refsigtest",
		Timestamper: tsa, TSARootCAs: roots})
	return env, err
}
