package signatures

import (
	"testing"
)

func TestUntrustedSignatureInfo(t *testing.T) {
	_, d := testManifest("untrusted")
	gpg := gpgKey(t, "Release Team", "release@example.com")
	info, err := UntrustedSignatureInfo(signSimple(t, gpg, "registry.example.com/ns/app:v1", d))
	if err != nil {
		t.Fatal(err)
	}
	if info.Type != TypeAtomic || info.DockerReference != "registry.example.com/ns/app:v1" || info.ManifestDigest != d ||
		info.Creator != testCreator || info.Timestamp == nil || !info.Timestamp.Equal(testSignAt) || len(info.KeyID) != 16 {
		t.Errorf("%+v", info)
	}
	info, err = UntrustedSignatureInfo(signCosign(t, newCosignKey(t), "registry.example.com/ns/app", d))
	if err != nil {
		t.Fatal(err)
	}
	if info.Type != TypeSigstore || info.DockerReference != "registry.example.com/ns/app" || info.ManifestDigest != d || info.Creator != testCreator {
		t.Errorf("%+v", info)
	}
	for _, s := range []Signature{{Type: TypeAtomic, Content: []byte("junk")}, {Type: TypeSigstore, Content: []byte("{}"), SigstoreSignature: "c2ln"}, {Type: "x"}} {
		if _, err := UntrustedSignatureInfo(s); err == nil {
			t.Errorf("%+v: no error", s)
		}
	}
}
