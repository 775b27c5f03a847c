package importer_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"

	digest "github.com/opencontainers/go-digest"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/internal/sigtest"
)

// dsseEnvelope signs an in-toto statement about d as `cosign attest` (v2)
// does: ECDSA over SHA-256 of the DSSE pre-authentication encoding.
func dsseEnvelope(t *testing.T, key *sigtest.CosignKey, d digest.Digest, predicateType string) []byte {
	t.Helper()
	stmt, _ := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v0.1", "predicateType": predicateType,
		"subject":   []any{map[string]any{"name": "app", "digest": map[string]string{"sha256": d.Encoded()}}},
		"predicate": map[string]any{"builder": map[string]string{"id": "https://example.com/ci"}}})
	const typ = "application/vnd.in-toto+json"
	pae := fmt.Sprintf("DSSEv1 %d %s %d %s", len(typ), typ, len(stmt), stmt)
	sum := sha256.Sum256([]byte(pae))
	sig, err := key.Private.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	env, _ := json.Marshal(map[string]any{"payloadType": typ, "payload": base64.StdEncoding.EncodeToString(stmt),
		"signatures": []any{map[string]string{"keyid": "", "sig": base64.StdEncoding.EncodeToString(sig)}}})
	return env
}

// Legacy cosign attestations (sha256-<hex>.att, DSSE envelopes) are read
// as attestations of their image, verified against the policy's keys: one
// by the trusted key verifies, one by another key is kept as UnknownKey.
func TestLegacyCosignAttestationsAreVerified(t *testing.T) {
	e := newSharedEnv(t)
	ctx := context.Background()
	img := e.s.Image.Digest
	other, err := sigtest.NewCosignKey()
	if err != nil {
		t.Fatal(err)
	}
	good := dsseEnvelope(t, e.s.Cosign, img, "https://slsa.dev/provenance/v0.2")
	stranger := dsseEnvelope(t, other, img, "https://spdx.dev/Document")
	config := []byte(`{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}`)
	layer := func(b []byte, pt string) map[string]any {
		return map[string]any{"mediaType": "application/vnd.dsse.envelope.v1+json", "digest": digest.FromBytes(b), "size": len(b),
			"annotations": map[string]string{"dev.cosignproject.cosign/signature": "", "predicateType": pt}}
	}
	manifest, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest.FromBytes(config), "size": len(config)},
		"layers": []any{layer(good, "https://slsa.dev/provenance/v0.2"), layer(stranger, "https://spdx.dev/Document")}})
	if err := e.reg.PushRaw(ctx, sigtest.SharedCosign, "sha256-"+img.Encoded()+".att", "application/vnd.oci.image.manifest.v1+json",
		manifest, config, good, stranger); err != nil {
		t.Fatal(err)
	}
	sum := e.runImport(t, importer.Request{References: []string{e.repo(sigtest.SharedCosign) + ":v1"}})
	if len(sum.Failures) != 0 {
		t.Fatalf("failures %+v", sum.Failures)
	}
	atts, checked, err := e.cat.StoredAttestations(ctx, img.String())
	if err != nil || !checked {
		t.Fatalf("attestations: %v, looked up %v", err, checked)
	}
	if len(atts) != 2 {
		t.Fatalf("attestations %+v, want the 2 envelopes of the .att", atts)
	}
	if a := atts[0]; !a.Verified || a.Signer != e.s.Cosign.Fingerprint() || a.PredicateType != "https://slsa.dev/provenance/v0.2" || string(a.Content) != string(good) {
		t.Errorf("trusted-key attestation: %+v", a)
	}
	if a := atts[1]; a.Verified || a.Reason != "UnknownKey" || a.PredicateType != "https://spdx.dev/Document" {
		t.Errorf("other-key attestation: %+v", a)
	}
}
