package signatures

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

func attachmentManifest(layers ...map[string]any) []byte {
	m, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest.FromString("{}").String(), "size": 2},
		"layers":        layers,
	})
	return m
}

func sigLayer(payload []byte, annotations map[string]string) map[string]any {
	return map[string]any{"mediaType": SigstoreSignatureMIMEType, "digest": digest.FromBytes(payload).String(), "size": len(payload), "annotations": annotations}
}

func TestParseSigstoreAttachment(t *testing.T) {
	key := newCosignKey(t)
	m, d := testManifest("attachment")
	sig := signCosign(t, key, "registry.example.com/ns/app", d)
	attestation := map[string]any{"mediaType": "application/vnd.dsse.envelope.v1+json", "digest": digest.FromString("att").String(), "size": 3}
	manifest := attachmentManifest(
		sigLayer(sig.Content, map[string]string{SigstoreSignatureAnnotation: sig.SigstoreSignature, SigstoreCertificateAnnotation: "CERT", SigstoreChainAnnotation: "CHAIN", SigstoreBundleAnnotation: "{}"}),
		attestation,
		sigLayer([]byte("second"), map[string]string{SigstoreSignatureAnnotation: "c2Vjb25k"}),
	)
	layers, err := ParseSigstoreAttachment(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 || layers[0].Certificate != "CERT" || layers[0].Chain != "CHAIN" || layers[0].Bundle != "{}" || layers[1].Signature != "c2Vjb25k" {
		t.Fatalf("%+v", layers)
	}
	got, err := layers[0].WithPayload(sig.Content)
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != SourceSigstore || got.Type != TypeSigstore || got.SigstoreSignature != sig.SigstoreSignature || got.Name != sig.Name {
		t.Errorf("%+v", got)
	}
	if _, err := layers[0].WithPayload([]byte("another blob")); err == nil {
		t.Error("payload of another digest: no error")
	}

	// The attached signature verifies like any other.
	dir := t.TempDir()
	writeFile(t, dir, "cosign.pub", key.pem)
	v := newTestVerifier(t, writePolicy(t, dir, `{"default":[{"type":"sigstoreSigned","keyPath":"{{DIR}}/cosign.pub","signedIdentity":{"type":"matchRepository"}}]}`))
	res := verify(t, v, "registry.example.com/ns/app:v1", m, d, got)
	if res.Verdict != VerdictAccepted {
		t.Fatalf("verdict %s %q", res.Verdict, res.Reason)
	}
	tag, err := SigstoreAttachmentTag(d)
	if err != nil || tag != "sha256-"+d.Encoded()+".sig" {
		t.Errorf("tag %q %v", tag, err)
	}
}

func TestParseSigstoreAttachmentCaps(t *testing.T) {
	var layers []map[string]any
	for i := range MaxSignatures + 1 {
		layers = append(layers, sigLayer([]byte{byte(i)}, nil))
	}
	if _, err := ParseSigstoreAttachment(attachmentManifest(layers...)); !errors.Is(err, ErrTooManySignatures) {
		t.Errorf("%d layers: %v", MaxSignatures+1, err)
	}
	if got, err := ParseSigstoreAttachment(attachmentManifest(layers[:MaxSignatures]...)); err != nil || len(got) != MaxSignatures {
		t.Errorf("%d layers: %d %v", MaxSignatures, len(got), err)
	}
	big := map[string]any{"mediaType": SigstoreSignatureMIMEType, "digest": digest.FromString("x").String(), "size": MaxSignatureSize + 1}
	if _, err := ParseSigstoreAttachment(attachmentManifest(big)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized layer: %v", err)
	}
	if _, err := ParseSigstoreAttachment([]byte(strings.Repeat(" ", MaxManifestSize+1))); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized manifest: %v", err)
	}
	if _, err := ParseSigstoreAttachment([]byte("{")); err == nil {
		t.Error("bad JSON: no error")
	}
	bad := map[string]any{"mediaType": SigstoreSignatureMIMEType, "digest": "sha256:nothex", "size": 1}
	if _, err := ParseSigstoreAttachment(attachmentManifest(bad)); err == nil {
		t.Error("bad digest: no error")
	}
	layer := SigstoreLayer{Digest: digest.FromString("ab"), Size: 3}
	if _, err := layer.WithPayload([]byte("ab")); err == nil {
		t.Error("size mismatch: no error")
	}
}
