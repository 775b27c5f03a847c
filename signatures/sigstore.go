package signatures

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"
	imagev1 "github.com/openshift/api/image/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"go.podman.io/image/v5/manifest"
	corev1 "k8s.io/api/core/v1"
)

// cosignPayload is the critical part of a cosign signature payload. Decoding
// rejects unknown fields there, as containers/image does.
type cosignPayload struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional json.RawMessage `json:"optional"`
}

// parseCosignPayload parses an untrusted payload; the result is only trusted once
// the signature over exactly these bytes verified.
func parseCosignPayload(untrustedPayload []byte) (cosignPayload, digest.Digest, error) {
	var p cosignPayload
	dec := json.NewDecoder(bytes.NewReader(untrustedPayload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, "", fmt.Errorf("payload is not cosign JSON: %w", err)
	}
	if p.Critical.Type != sigstoreSigningSignatureType {
		return p, "", fmt.Errorf("critical.type is %q, not %q", p.Critical.Type, sigstoreSigningSignatureType)
	}
	if p.Critical.Identity.DockerReference == "" {
		return p, "", errors.New("critical.identity.docker-reference is missing")
	}
	d, err := digest.Parse(p.Critical.Image.DockerManifestDigest)
	if err != nil {
		return p, "", fmt.Errorf("critical.image.docker-manifest-digest %q: %w", p.Critical.Image.DockerManifestDigest, err)
	}
	return p, d, nil
}

// verifySigstore checks a cosign signature against r: the public keys of r, or, in
// a certificate mode, the key of the signature's own certificate (whose chain, subject
// and Rekor entry containers/image checks afterwards); then the manifest digest.
func verifySigstore(r *requirement, s Signature, manifestBlob []byte, now time.Time) check {
	if s.SigstoreSignature == "" {
		return failed(stageParse, ReasonCorruptSignature, "no %s annotation", SigstoreSignatureAnnotation)
	}
	untrustedSig, err := base64.StdEncoding.DecodeString(s.SigstoreSignature)
	if err != nil {
		return failed(stageParse, ReasonCorruptSignature, "%s is not base64: %v", SigstoreSignatureAnnotation, err)
	}
	p, signedDigest, err := parseCosignPayload(s.Content)
	if err != nil {
		return failed(stageParse, ReasonCorruptSignature, "%v", err)
	}

	keys := r.keys
	var cert *x509.Certificate
	if r.certMode != certNone {
		cert, err = leafCertificate(s.Certificate)
		if err != nil {
			return failed(stageKey, ReasonCertificateNotTrusted, "%s: %v", r.desc, err)
		}
		k, err := newSigstoreKey(cert.PublicKey)
		if err != nil {
			return failed(stageKey, ReasonCertificateNotTrusted, "%s: certificate key: %v", r.desc, err)
		}
		keys = []sigstoreKey{k}
	}
	var signer *sigstoreKey
	for i := range keys {
		if keys[i].verifier.VerifySignature(bytes.NewReader(untrustedSig), bytes.NewReader(s.Content)) == nil {
			signer = &keys[i]
			break
		}
	}
	if signer == nil {
		if cert != nil {
			return failed(stageSignature, ReasonInvalidSignature, "%s: the signature does not verify with the key of its certificate", r.desc)
		}
		return failed(stageKey, ReasonUnknownKey, "not signed by any of the %d keys of %s (or the payload was altered)", len(keys), r.desc)
	}
	if ok, _ := manifest.MatchesDigest(manifestBlob, signedDigest); !ok {
		c := failed(stageDigest, ReasonDigestMismatch, "signed by key %s for manifest digest %s, not this manifest's", signer.fingerprint, signedDigest)
		c.forImage = corev1.ConditionFalse
		return c
	}

	cl := &claims{
		sigType:  sigstoreSigningSignatureType,
		digest:   signedDigest,
		identity: p.Critical.Identity.DockerReference,
		issuedTo: imagev1.SignatureSubject{PublicKeyID: signer.fingerprint},
		signer:   signer.public,
	}
	cl.creator, cl.timestamp = optionalClaims(s.Content)
	cl.evidence.KeyFingerprint = signer.fingerprint
	if cl.timestamp != nil {
		cl.created = time.Unix(*cl.timestamp, 0).UTC()
		cl.evidence.setTime(cl.created, TimeSourceSigner, false)
	}
	if cert != nil {
		cl.evidence.setCertificate(cert)
		cl.expired = now.After(cert.NotAfter) || now.Before(cert.NotBefore)
		cl.issuedTo.CommonName = certificateSubject(cert)
		if len(cert.Subject.Organization) > 0 {
			cl.issuedTo.Organization = cert.Subject.Organization[0]
		}
		issuer := imagev1.SignatureIssuer{}
		issuer.CommonName = cert.Issuer.CommonName
		if len(cert.Issuer.Organization) > 0 {
			issuer.Organization = cert.Issuer.Organization[0]
		}
		cl.issuedBy = &issuer
		if cl.created.IsZero() && r.certMode == certFulcio {
			cl.created = cert.NotBefore.UTC() // Fulcio issues a short-lived certificate per signing
		}
	}
	return check{stage: stagePolicy, trusted: corev1.ConditionFalse, forImage: corev1.ConditionUnknown, claims: cl}
}

func leafCertificate(untrustedPEM string) (*x509.Certificate, error) {
	if untrustedPEM == "" {
		return nil, fmt.Errorf("no %s annotation", SigstoreCertificateAnnotation)
	}
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(untrustedPEM))
	if err != nil {
		return nil, fmt.Errorf("parsing the certificate: %w", err)
	}
	if len(certs) == 0 {
		return nil, errors.New("the certificate annotation holds no certificate")
	}
	return certs[0], nil
}

// certificateSubject is who a signing certificate names: its e-mail SAN (Fulcio,
// PKI with subjectEmail), else its URI SAN (workload identities), else DNS name,
// else the subject CN.
func certificateSubject(cert *x509.Certificate) string {
	switch {
	case len(cert.EmailAddresses) > 0:
		return cert.EmailAddresses[0]
	case len(cert.URIs) > 0:
		return cert.URIs[0].String()
	case len(cert.DNSNames) > 0:
		return cert.DNSNames[0]
	}
	return cert.Subject.CommonName
}
