package signatures

import "testing"

// FuzzParseUntrusted: the extension API answer and sigstore attachment
// manifests are read from registries; they must parse or fail, never panic.
func FuzzParseUntrusted(f *testing.F) {
	f.Add([]byte(`{"signatures":[{"schemaVersion":2,"name":"a@b","type":"atomic","content":"aGVsbG8="}]}`))
	f.Add([]byte(`{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":3,"digest":"sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824","annotations":{"dev.cosignproject.cosign/signature":"eA=="}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if sigs, _, err := ParseExtensionResponse(b); err == nil && len(sigs) > MaxSignatures {
			t.Fatalf("%d signatures past the cap", len(sigs))
		}
		if layers, err := ParseSigstoreAttachment(b); err == nil && len(layers) > MaxSignatures {
			t.Fatalf("%d layers past the cap", len(layers))
		}
		_, _ = UntrustedSignatureInfo(Signature{Type: TypeAtomic, Content: b})
		_, _ = UntrustedSignatureInfo(Signature{Type: TypeSigstore, Content: b})
	})
}
