// Package refsigtest makes the signatures that current signers store as OCI
// 1.1 referrers, for tests: cosign v3 sigstore bundles (with a key, or
// keyless against a test sigstore whose Fulcio CA, Rekor log and timestamp
// authority stand in for the public ones, with its trusted_root.json),
// in-toto attestations, and notation signatures (JWS and COSE) with a test
// certificate authority, trust store and trust policy. Everything is made on
// the spot with the libraries the signers use (sigstore-go, notation-go); no
// key or signature is checked in.
//
// It is a package of its own, not part of sigtest, so that the benchmark
// binary, which uses sigtest, does not link sigstore-go's test sigstore.
package refsigtest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekortypes "github.com/sigstore/rekor/pkg/types"
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1" // registers the dsse entry type
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Media, artifact and predicate types as cosign v3 writes them.
const (
	BundleMediaType     = "application/vnd.dev.sigstore.bundle.v0.3+json"
	InTotoPayloadType   = "application/vnd.in-toto+json"
	CosignSignPredicate = "https://sigstore.dev/cosign/sign/v1"
	SLSAProvenance      = "https://slsa.dev/provenance/v1"
	SPDXDocument        = "https://spdx.dev/Document"
	CycloneDXBOM        = "https://cyclonedx.org/bom"
	emptyMediaType      = "application/vnd.oci.empty.v1+json"
)

// Statement is the in-toto statement a cosign v3 signature or attestation
// signs: the image (repository name and manifest digest) as its subject.
func Statement(repository string, d digest.Digest, predicateType string, predicate any) []byte {
	if predicate == nil {
		predicate = map[string]any{}
	}
	b, _ := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": repository, "digest": map[string]string{"sha256": d.Encoded()}}},
		"predicateType": predicateType,
		"predicate":     predicate,
	})
	return b
}

// Key is a signing key as `cosign generate-key-pair` makes (ECDSA P-256).
type Key struct {
	kp  *sign.EphemeralKeypair
	PEM []byte // the public key, PEM, for a policy's keyPath
}

// NewKey generates a key.
func NewKey() (*Key, error) {
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, err
	}
	pem, err := kp.GetPublicKeyPem()
	if err != nil {
		return nil, err
	}
	return &Key{kp: kp, PEM: []byte(pem)}, nil
}

// Public is the public key.
func (k *Key) Public() crypto.PublicKey { return k.kp.GetPublicKey() }

// SignDSSE signs an in-toto statement into a bundle with no log entry, as
// `cosign sign --key` does with an offline signing config.
func (k *Key) SignDSSE(statement []byte) ([]byte, error) {
	return bundleJSON(sign.Bundle(&sign.DSSEData{Data: statement, PayloadType: InTotoPayloadType}, k.kp, sign.BundleOptions{}))
}

// SignMessage signs artifact (a manifest) into a message-signature bundle.
func (k *Key) SignMessage(artifact []byte) ([]byte, error) {
	return bundleJSON(sign.Bundle(&sign.PlainData{Data: artifact}, k.kp, sign.BundleOptions{}))
}

func bundleJSON(b *protobundle.Bundle, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	return protojson.Marshal(b)
}

// ArtifactManifest is the OCI 1.1 manifest cosign v3 pushes for a bundle:
// artifactType the bundle media type, the empty config, the bundle as its one
// layer, the image as its subject.
func ArtifactManifest(subject imgspecv1.Descriptor, artifactType, layerMediaType string, layer []byte, annotations map[string]string) ([]byte, [][]byte) {
	empty := []byte("{}")
	m := imgspecv1.Manifest{MediaType: imgspecv1.MediaTypeImageManifest, ArtifactType: artifactType,
		Config:      imgspecv1.Descriptor{MediaType: emptyMediaType, Digest: digest.FromBytes(empty), Size: int64(len(empty))},
		Layers:      []imgspecv1.Descriptor{{MediaType: layerMediaType, Digest: digest.FromBytes(layer), Size: int64(len(layer))}},
		Subject:     &subject,
		Annotations: annotations}
	m.SchemaVersion = 2
	raw, _ := json.Marshal(m)
	return raw, [][]byte{layer, empty}
}

// BundleManifest is ArtifactManifest for a cosign v3 bundle of predicateType.
func BundleManifest(subject imgspecv1.Descriptor, bundle []byte, predicateType string) ([]byte, [][]byte) {
	return ArtifactManifest(subject, BundleMediaType, BundleMediaType, bundle, map[string]string{
		"dev.sigstore.bundle.content":       "dsse-envelope",
		"dev.sigstore.bundle.predicateType": predicateType,
	})
}

// Sigstore is a test sigstore: a Fulcio CA, a Rekor log and a timestamp
// authority (sigstore-go's VirtualSigstore), plus a second CA of our own
// that is in the trusted root too, to issue certificates the virtual one
// will not (already expired ones).
type Sigstore struct {
	virtual   *ca.VirtualSigstore
	ownRoot   *x509.Certificate
	ownInter  *x509.Certificate
	ownSigner *ecdsa.PrivateKey
}

// NewSigstore starts nothing: everything is in memory.
func NewSigstore() (*Sigstore, error) {
	v, err := ca.NewVirtualSigstore()
	if err != nil {
		return nil, err
	}
	rootCert, inter, interKey, err := newCA("regimport test Fulcio", 48*time.Hour)
	if err != nil {
		return nil, err
	}
	return &Sigstore{virtual: v, ownRoot: rootCert, ownInter: inter, ownSigner: interKey}, nil
}

// FulcioCAPEM is the PEM of the Fulcio root CAs, for a policy's fulcio.caPath.
func (s *Sigstore) FulcioCAPEM() ([]byte, error) {
	var out []byte
	for _, c := range s.virtual.FulcioCertificateAuthorities() {
		if f, ok := c.(*root.FulcioCertificateAuthority); ok {
			p, err := cryptoutils.MarshalCertificateToPEM(f.Root)
			if err != nil {
				return nil, err
			}
			out = append(out, p...)
		}
	}
	p, err := cryptoutils.MarshalCertificateToPEM(s.ownRoot)
	if err != nil {
		return nil, err
	}
	return append(out, p...), nil
}

// RekorPublicKeyPEM is the log's public key, for a policy's rekorPublicKeyPath.
func (s *Sigstore) RekorPublicKeyPEM() ([]byte, error) {
	for _, l := range s.virtual.RekorLogs() {
		return cryptoutils.MarshalPublicKeyToPEM(l.PublicKey)
	}
	return nil, fmt.Errorf("the test sigstore has no log")
}

// TrustedRootJSON is trusted_root.json for this sigstore, in the format
// sigstore distributes it.
func (s *Sigstore) TrustedRootJSON() ([]byte, error) {
	cas := append(s.virtual.FulcioCertificateAuthorities(), &root.FulcioCertificateAuthority{
		Root: s.ownRoot, Intermediates: []*x509.Certificate{s.ownInter},
		ValidityPeriodStart: time.Now().Add(-24 * time.Hour), ValidityPeriodEnd: time.Now().Add(24 * time.Hour)})
	// The virtual sigstore keys its logs by the hex log ID and keeps that hex
	// text as the ID; trusted_root.json carries the raw ID, as Rekor's is.
	logs := map[string]*root.TransparencyLog{}
	for id, l := range s.virtual.RekorLogs() {
		raw, err := hex.DecodeString(id)
		if err != nil {
			return nil, err
		}
		c := *l
		c.ID = raw
		logs[id] = &c
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, cas, nil, s.virtual.TimestampingAuthorities(), logs)
	if err != nil {
		return nil, err
	}
	return tr.MarshalJSON()
}

// SignKeyless signs statement as identity (the e-mail SAN) from issuer (the
// OIDC issuer), with a short-lived Fulcio certificate and a Rekor entry with
// its inclusion proof and signed entry timestamp, as keyless cosign does.
func (s *Sigstore) SignKeyless(identity, issuer string, statement []byte) ([]byte, error) {
	return s.signKeyless(identity, issuer, statement, false)
}

// SignKeylessTimestamped is SignKeyless with, besides the log entry, an RFC
// 3161 timestamp of the signature by the test sigstore's timestamp
// authority (cosign --timestamp-server-url).
func (s *Sigstore) SignKeylessTimestamped(identity, issuer string, statement []byte) ([]byte, error) {
	return s.signKeyless(identity, issuer, statement, true)
}

func (s *Sigstore) signKeyless(identity, issuer string, statement []byte, timestamped bool) ([]byte, error) {
	ent, err := s.virtual.AttestAtTime(identity, issuer, statement, time.Now().Add(time.Minute), true)
	if err != nil {
		return nil, err
	}
	vc, err := ent.VerificationContent()
	if err != nil {
		return nil, err
	}
	sc, err := ent.SignatureContent()
	if err != nil {
		return nil, err
	}
	env := sc.EnvelopeContent().RawEnvelope()
	payload, err := env.DecodeB64Payload()
	if err != nil {
		return nil, err
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	if err != nil {
		return nil, err
	}
	entries, err := ent.TlogEntries()
	if err != nil {
		return nil, err
	}
	var tles []*protorekor.TransparencyLogEntry
	for _, e := range entries {
		tle, err := s.promised(e, "dsse")
		if err != nil {
			return nil, err
		}
		tles = append(tles, tle)
	}
	material := &protobundle.VerificationMaterial{
		Content:     &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw}},
		TlogEntries: tles,
	}
	if timestamped {
		stamps, err := ent.Timestamps()
		if err != nil {
			return nil, err
		}
		tvd := &protobundle.TimestampVerificationData{}
		for _, st := range stamps {
			tvd.Rfc3161Timestamps = append(tvd.Rfc3161Timestamps, &protocommon.RFC3161SignedTimestamp{SignedTimestamp: st})
		}
		material.TimestampVerificationData = tvd
	}
	return protojson.Marshal(&protobundle.Bundle{
		MediaType:            BundleMediaType,
		VerificationMaterial: material,
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: payload, PayloadType: env.PayloadType, Signatures: []*protodsse.Signature{{Sig: sig}}}},
	})
}

// promised is a log entry as a bundle carries it. The entry as sigstore-go's
// test sigstore builds it lacks the entry kind and the signed entry
// timestamp, which the log signs over body, time, index and log ID.
func (s *Sigstore) promised(e *tlog.Entry, kind string) (*protorekor.TransparencyLogEntry, error) {
	tle := proto.Clone(e.TransparencyLogEntry()).(*protorekor.TransparencyLogEntry)
	tle.KindVersion = &protorekor.KindVersion{Kind: kind, Version: "0.0.1"}
	set, err := s.virtual.RekorSignPayload(tlog.RekorPayload{Body: base64.StdEncoding.EncodeToString(tle.CanonicalizedBody),
		IntegratedTime: tle.IntegratedTime, LogIndex: tle.LogIndex, LogID: hex.EncodeToString(tle.LogId.KeyId)})
	if err != nil {
		return nil, err
	}
	tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: set}
	return tle, nil
}

// SignDSSEWithLog signs an in-toto statement with the key into a bundle that
// carries a Rekor entry of ss's log (a dsse entry naming the public key, with
// inclusion proof and signed entry timestamp, integrated at integrated), as
// `cosign sign --key` makes by default against the public Rekor.
func (k *Key) SignDSSEWithLog(ss *Sigstore, statement []byte, integrated time.Time) ([]byte, error) {
	b, err := sign.Bundle(&sign.DSSEData{Data: statement, PayloadType: InTotoPayloadType}, k.kp, sign.BundleOptions{})
	if err != nil {
		return nil, err
	}
	env := b.GetDsseEnvelope()
	if env == nil || len(env.Signatures) != 1 {
		return nil, fmt.Errorf("sigstore-go made no DSSE envelope with one signature")
	}
	// The envelope as Rekor's dsse type reads it: base64 payload and signature.
	envJSON, err := json.Marshal(map[string]any{"payloadType": env.PayloadType, "payload": env.Payload,
		"signatures": []any{map[string]any{"keyid": "", "sig": env.Signatures[0].Sig}}})
	if err != nil {
		return nil, err
	}
	body, err := rekorDSSEBody(envJSON, k.PEM)
	if err != nil {
		return nil, err
	}
	logID, err := ss.virtual.RekorLogID()
	if err != nil {
		return nil, err
	}
	rawID, err := hex.DecodeString(logID)
	if err != nil {
		return nil, err
	}
	proof, err := ss.virtual.GetInclusionProof(body)
	if err != nil {
		return nil, err
	}
	entry, err := tlog.NewEntry(body, integrated.Unix(), 0, rawID, nil, proof)
	if err != nil {
		return nil, err
	}
	tle, err := ss.promised(entry, "dsse")
	if err != nil {
		return nil, err
	}
	b.VerificationMaterial.TlogEntries = []*protorekor.TransparencyLogEntry{tle}
	return protojson.Marshal(b)
}

// rekorDSSEBody is the canonical body Rekor stores for a dsse entry of
// envelope signed by the key in publicKeyPEM.
func rekorDSSEBody(envelope, publicKeyPEM []byte) ([]byte, error) {
	ctx := context.Background()
	props := rekortypes.ArtifactProperties{ArtifactBytes: envelope, PublicKeyBytes: [][]byte{publicKeyPEM}, PKIFormat: "x509"}
	proposed, err := rekortypes.NewProposedEntry(ctx, "dsse", "0.0.1", props)
	if err != nil {
		return nil, fmt.Errorf("rekor dsse entry: %w", err)
	}
	impl, err := rekortypes.CreateVersionedEntry(proposed)
	if err != nil {
		return nil, fmt.Errorf("rekor dsse entry: %w", err)
	}
	return rekortypes.CanonicalizeEntry(ctx, impl)
}

// SignWithOwnCA signs statement with a certificate from the second CA, valid
// from notBefore for ten minutes, with no log entry and no timestamp: with
// notBefore in the past, an expired certificate with nothing proving when it
// signed.
func (s *Sigstore) SignWithOwnCA(identity, issuer string, notBefore time.Time, statement []byte) ([]byte, error) {
	return signWithCA(s.ownInter, s.ownSigner, identity, issuer, notBefore, statement)
}

// SignWithUntrustedCA signs statement with a certificate from a CA that no
// trusted root names, with a log-free, timestamp-free bundle.
func SignWithUntrustedCA(identity, issuer string, statement []byte) ([]byte, error) {
	_, inter, interKey, err := newCA("regimport untrusted CA", 48*time.Hour)
	if err != nil {
		return nil, err
	}
	return signWithCA(inter, interKey, identity, issuer, time.Now(), statement)
}

func signWithCA(inter *x509.Certificate, interKey *ecdsa.PrivateKey, identity, issuer string, notBefore time.Time, statement []byte) ([]byte, error) {
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, err
	}
	leaf, err := ca.GenerateLeafCert(identity, issuer, notBefore, publicOnly{kp.GetPublicKey()}, inter, interKey)
	if err != nil {
		return nil, err
	}
	b, err := sign.Bundle(&sign.DSSEData{Data: statement, PayloadType: InTotoPayloadType}, kp,
		sign.BundleOptions{CertificateProvider: fixedCertificate(leaf.Raw)})
	return bundleJSON(b, err)
}

// publicOnly lets GenerateLeafCert read the public key of a key pair whose
// private half stays inside sigstore-go's keypair.
type publicOnly struct{ pub crypto.PublicKey }

func (p publicOnly) Public() crypto.PublicKey { return p.pub }
func (p publicOnly) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, fmt.Errorf("publicOnly cannot sign")
}

type fixedCertificate []byte

func (f fixedCertificate) GetCertificate(context.Context, sign.Keypair, *sign.CertificateProviderOptions) ([]byte, error) {
	return f, nil
}

// newCA makes a root and a code-signing intermediate valid from span ago to
// span ahead, so that leaves can be issued in the past (the virtual
// sigstore's intermediate starts two minutes ago).
func newCA(name string, span time.Duration) (rootCert, inter *x509.Certificate, interKey *ecdsa.PrivateKey, err error) {
	now := time.Now()
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " root", Organization: []string{"regimport tests"}},
		NotBefore: now.Add(-span), NotAfter: now.Add(span), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	rootCert, rootKey, err := issue(rootTmpl, nil, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	interTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name + " intermediate", Organization: []string{"regimport tests"}},
		NotBefore: now.Add(-span), NotAfter: now.Add(span), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
	inter, interKey, err = issue(interTmpl, rootCert, rootKey)
	return rootCert, inter, interKey, err
}
