// Package sigtest makes real signatures for tests and the demo: OpenPGP keys
// and simple-signing blobs (as skopeo and podman write them), cosign keys and
// cosign signatures, lookaside directories, and containers-policy.json files.
// Everything is generated on the spot with the same libraries the tools use;
// no key or signature is checked in.
package sigtest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	digest "github.com/opencontainers/go-digest"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// Signature types written into payloads.
const (
	SimpleSigningType = "atomic container signature"
	CosignType        = "cosign container image signature"
)

// GPGKey is an Ed25519 OpenPGP key pair.
type GPGKey struct {
	Entity *openpgp.Entity
}

// NewGPGKey generates a key for name <email>.
func NewGPGKey(name, email string) (*GPGKey, error) { return NewGPGKeyAt(name, email, time.Now()) }

// NewGPGKeyAt is NewGPGKey for a key created at created: OpenPGP signs
// only after a key's creation, and a verifier takes a signature made later
// than now as expired, so a test of signatures made in the past needs a key
// older than they are.
func NewGPGKeyAt(name, email string, created time.Time) (*GPGKey, error) {
	e, err := openpgp.NewEntity(name, "", email, &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519,
		Time: func() time.Time { return created }})
	if err != nil {
		return nil, err
	}
	return &GPGKey{Entity: e}, nil
}

// Fingerprint is the primary key's fingerprint, upper-case hex.
func (k *GPGKey) Fingerprint() string {
	return strings.ToUpper(hex.EncodeToString(k.Entity.PrimaryKey.Fingerprint))
}

// WritePublicKey writes the armored public key to path.
func (k *GPGKey) WritePublicKey(path string) error {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		return err
	}
	if err := k.Entity.Serialize(w); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// Payload is a simple-signing or cosign payload claiming dockerReference and d.
func Payload(sigType, dockerReference string, d digest.Digest, creator string, at time.Time) []byte {
	b, _ := json.Marshal(map[string]any{
		"critical": map[string]any{
			"identity": map[string]any{"docker-reference": dockerReference},
			"image":    map[string]any{"docker-manifest-digest": d.String()},
			"type":     sigType,
		},
		"optional": map[string]any{"creator": creator, "timestamp": at.Unix()},
	})
	return b
}

// SignSimple makes a simple signature: a non-detached OpenPGP message over
// the payload, as containers/image and gpg make them.
func (k *GPGKey) SignSimple(dockerReference string, d digest.Digest) ([]byte, error) {
	return k.SignSimpleAt(dockerReference, d, time.Now())
}

// SignSimpleAt is SignSimple with the signature's creation time (the
// signer's own claim of when it signed) and the payload's timestamp at.
func (k *GPGKey) SignSimpleAt(dockerReference string, d digest.Digest, at time.Time) ([]byte, error) {
	var buf bytes.Buffer
	w, err := openpgp.Sign(&buf, k.Entity, nil, &packet.Config{Time: func() time.Time { return at }})
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(Payload(SimpleSigningType, dockerReference, d, "regimport sigtest", at)); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteLookaside stores signatures of d the way a file:// lookaside holds
// them: <dir>/<repoPath>@sha256=<hex>/signature-N.
func WriteLookaside(dir, repoPath string, d digest.Digest, sigs ...[]byte) error {
	sub := filepath.Join(dir, repoPath+"@"+d.Algorithm().String()+"="+d.Encoded())
	if err := os.MkdirAll(sub, 0o755); err != nil {
		return err
	}
	for i, s := range sigs {
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("signature-%d", i+1)), s, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// CosignKey is an ECDSA P-256 key pair, as `cosign generate-key-pair` makes.
type CosignKey struct {
	Private *ecdsa.PrivateKey
	PEM     []byte // public key, PEM
}

// NewCosignKey generates a key.
func NewCosignKey() (*CosignKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	pemBytes, err := cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		return nil, err
	}
	return &CosignKey{Private: priv, PEM: pemBytes}, nil
}

// Fingerprint is the SHA-256 of the public key's PKIX DER, hex.
func (k *CosignKey) Fingerprint() string {
	der, _ := x509.MarshalPKIXPublicKey(k.Private.Public())
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// Sign returns a cosign payload for dockerReference and d and its base64
// signature (ECDSA over SHA-256), as stored in a sigstore attachment.
func (k *CosignKey) Sign(dockerReference string, d digest.Digest) (payload []byte, signature string, err error) {
	payload = Payload(CosignType, dockerReference, d, "regimport sigtest", time.Now())
	sum := sha256.Sum256(payload)
	sig, err := k.Private.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, "", err
	}
	return payload, base64.StdEncoding.EncodeToString(sig), nil
}

// AttachmentManifest is the OCI manifest cosign pushes at sha256-<hex>.sig:
// one layer per signature, the payload as the layer blob.
func AttachmentManifest(payloads [][]byte, signatures []string) []byte {
	config := []byte("{}")
	layers := make([]map[string]any, len(payloads))
	for i, p := range payloads {
		layers[i] = map[string]any{
			"mediaType":   "application/vnd.dev.cosign.simplesigning.v1+json",
			"size":        len(p),
			"digest":      digest.FromBytes(p).String(),
			"annotations": map[string]string{"dev.cosignproject.cosign/signature": signatures[i]},
		}
	}
	b, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "size": len(config), "digest": digest.FromBytes(config).String()},
		"layers":        layers,
	})
	return b
}

// AttachmentConfig is the config blob AttachmentManifest refers to.
func AttachmentConfig() []byte { return []byte("{}") }
