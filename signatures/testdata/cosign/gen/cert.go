package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// Who the fixture certificate names, Fulcio-style: an e-mail SAN and the
// OIDC issuer extension.
const (
	certEmail  = "release@example.com"
	certIssuer = "https://issuer.example.com"
)

// certificateAuthority issues, for the public half of the cosign key pair in
// work, a code-signing certificate shaped like Fulcio's: what `cosign sign
// --key --certificate --certificate-chain` attaches, since keyless signing
// needs a Fulcio we do not have. It writes ca.pem (the root), leaf.pem and
// chain.pem into work and returns the root.
func certificateAuthority(work string) (*x509.Certificate, error) {
	pubPEM, err := os.ReadFile(filepath.Join(work, "cosign.pub"))
	if err != nil {
		return nil, err
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pubPEM)
	if err != nil {
		return nil, err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "regimport fixture CA", Organization: []string{"regimport fixtures"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(20, 0, 0), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	issuer, err := asn1.MarshalWithParams(certIssuer, "utf8")
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), EmailAddresses: []string{certEmail},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(20, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}, Value: issuer}}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, pub, caKey)
	if err != nil {
		return nil, err
	}
	for name, b := range map[string][]byte{"ca.pem": der, "chain.pem": der, "leaf.pem": leafDER} {
		if err := os.WriteFile(filepath.Join(work, name), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: b}), 0o600); err != nil {
			return nil, fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return ca, nil
}

// certTrustedRoot is a trusted_root.json naming the fixture CA as a Fulcio
// CA and the timestamp authority.
func certTrustedRoot(ca *x509.Certificate, t *tsa) ([]byte, error) {
	fulcio := &root.FulcioCertificateAuthority{Root: ca, ValidityPeriodStart: ca.NotBefore, URI: "https://fulcio.invalid"}
	auth := &root.SigstoreTimestampingAuthority{Root: t.root, Leaf: t.leaf, URI: t.url(), ValidityPeriodStart: t.leaf.NotBefore}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, []root.CertificateAuthority{fulcio}, nil, []root.TimestampingAuthority{auth}, nil)
	if err != nil {
		return nil, err
	}
	return tr.MarshalJSON()
}
