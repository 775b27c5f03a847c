package importer_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/internal/sigtest"
	"github.com/regimport/regimport/signatures"
	"go.podman.io/image/v5/types"
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
	pushLegacyAtt(t, e, map[string][]byte{"https://slsa.dev/provenance/v0.2": good, "https://spdx.dev/Document": stranger},
		"https://slsa.dev/provenance/v0.2", "https://spdx.dev/Document")
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

// pushLegacyAtt pushes, as `cosign attest` does, the .att manifest of the
// shared cosign image with the envelopes of the predicate types in order.
func pushLegacyAtt(t *testing.T, e *sharedEnv, envs map[string][]byte, order ...string) {
	t.Helper()
	config := []byte(`{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}`)
	var layers []any
	blobs := [][]byte{config}
	for _, pt := range order {
		b := envs[pt]
		layers = append(layers, map[string]any{"mediaType": "application/vnd.dsse.envelope.v1+json", "digest": digest.FromBytes(b), "size": len(b),
			"annotations": map[string]string{"dev.cosignproject.cosign/signature": "", "predicateType": pt}})
		blobs = append(blobs, b)
	}
	manifest, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest.FromBytes(config), "size": len(config)},
		"layers": layers})
	if err := e.reg.PushRaw(context.Background(), sigtest.SharedCosign, "sha256-"+e.s.Image.Digest.Encoded()+".att", "application/vnd.oci.image.manifest.v1+json",
		manifest, blobs...); err != nil {
		t.Fatal(err)
	}
}

// cosign's .att envelopes count within the per-image signature limits,
// with the image's other signatures: what does not fit is neither fetched
// nor stored, the pair's reason names the limit, and a verdict that needs
// what was left out is not accepted (a failure of the run).
func TestLegacyCosignAttestationsCountWithinSignatureLimits(t *testing.T) {
	for name, tc := range map[string]struct {
		limits   importer.Limits
		kept     int
		verdict  catalog.Verdict
		failures int
		want     string
	}{
		// The cosign signature and the first envelope fit; the second does not.
		"count": {importer.Limits{SignaturesPerImage: 2}, 1, catalog.VerdictAccepted, 0, "1 of 3 signatures and attestations left out, over the signatures-per-image limit of 2"},
		// Nothing fits: the verdict cannot be settled.
		"bytes": {importer.Limits{SignatureBytesPerImage: 1}, 0, catalog.VerdictUnevaluated, 1, "3 of 3 signatures and attestations left out, over the signatures-per-image limit of 256 or the signature-bytes-per-image limit of 1 bytes"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newSharedEnv(t)
			ctx := context.Background()
			img := e.s.Image.Digest
			pushLegacyAtt(t, e, map[string][]byte{
				"https://slsa.dev/provenance/v0.2": dsseEnvelope(t, e.s.Cosign, img, "https://slsa.dev/provenance/v0.2"),
				"https://spdx.dev/Document":        dsseEnvelope(t, e.s.Cosign, img, "https://spdx.dev/Document"),
			}, "https://slsa.dev/provenance/v0.2", "https://spdx.dev/Document")
			v, err := signatures.NewVerifier(signatures.Options{PolicyPath: e.s.Policy})
			if err != nil {
				t.Fatal(err)
			}
			regs, err := signatures.LoadRegistries(&types.SystemContext{RegistriesDirPath: e.s.RegistriesD})
			if err != nil {
				t.Fatal(err)
			}
			imp := limitedImporter(t, e.env, importer.Options{Limits: tc.limits, Signatures: importer.SignatureOptions{Verifier: v, Registries: regs}})
			sum, err := imp.Run(ctx, importer.Request{References: []string{e.repo(sigtest.SharedCosign) + ":v1"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(sum.Failures) != tc.failures {
				t.Errorf("failures %+v, want %d", sum.Failures, tc.failures)
			}
			pv := e.verdicts(t, img.String())[e.repo(sigtest.SharedCosign)]
			if pv.Verdict != tc.verdict || !strings.Contains(pv.Reason, tc.want) {
				t.Errorf("verdict %q (%s), want %q saying %q", pv.Verdict, pv.Reason, tc.verdict, tc.want)
			}
			atts, _, err := e.cat.StoredAttestations(ctx, img.String())
			if err != nil {
				t.Fatal(err)
			}
			if len(atts) != tc.kept {
				t.Errorf("%d attestations stored, want %d: %+v", len(atts), tc.kept, atts)
			}
			if tc.kept == 1 && (atts[0].PredicateType != "https://slsa.dev/provenance/v0.2" || !atts[0].Verified) {
				t.Errorf("kept attestation %+v, want the first envelope, verified", atts[0])
			}
		})
	}
}
