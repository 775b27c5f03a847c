package signatures

import (
	"context"
	"os"
	"testing"
)

// The cost of Verify for one image with one valid signature: the image-level policy
// evaluation plus the per-signature checks (ours, then containers/image's with the
// matching requirement alone).

func BenchmarkVerifySimpleSigning(b *testing.B) {
	dir := b.TempDir()
	gpg := gpgKey(b, "Release Team", "release@example.com")
	writeGPGPublicKey(b, dir, "release.gpg", gpg, false)
	v := newTestVerifier(b, writePolicy(b, dir, gpgPolicy))
	m, d := testManifest("bench-gpg")
	img := Image{Reference: mustRef(b, "registry.example.com/ns/app:v1"), Manifest: m, ManifestDigest: d}
	sigs := []Signature{signSimple(b, gpg, "registry.example.com/ns/app:v1", d)}
	b.ResetTimer()
	for b.Loop() {
		res, err := v.Verify(context.Background(), img, sigs)
		if err != nil || res.Verdict != VerdictAccepted {
			b.Fatal(res.Verdict, res.Reason, err)
		}
	}
}

func BenchmarkVerifyCosignKey(b *testing.B) {
	dir := b.TempDir()
	key := newCosignKey(b)
	writeFile(b, dir, "cosign.pub", key.pem)
	v := newTestVerifier(b, writePolicy(b, dir, `{"default":[{"type":"sigstoreSigned","keyPath":"{{DIR}}/cosign.pub","signedIdentity":{"type":"matchRepository"}}]}`))
	m, d := testManifest("bench-cosign")
	img := Image{Reference: mustRef(b, "registry.example.com/ns/app:v1"), Manifest: m, ManifestDigest: d}
	sigs := []Signature{signCosign(b, key, "registry.example.com/ns/app", d)}
	b.ResetTimer()
	for b.Loop() {
		res, err := v.Verify(context.Background(), img, sigs)
		if err != nil || res.Verdict != VerdictAccepted {
			b.Fatal(res.Verdict, res.Reason, err)
		}
	}
}

func BenchmarkVerifyUnknownKey(b *testing.B) {
	dir := b.TempDir()
	gpg, stranger := gpgKey(b, "Release Team", "release@example.com"), gpgKey(b, "Stranger", "s@example.com")
	writeGPGPublicKey(b, dir, "release.gpg", gpg, false)
	v := newTestVerifier(b, writePolicy(b, dir, gpgPolicy))
	m, d := testManifest("bench-unknown")
	img := Image{Reference: mustRef(b, "registry.example.com/ns/app:v1"), Manifest: m, ManifestDigest: d}
	sigs := []Signature{signSimple(b, stranger, "registry.example.com/ns/app:v1", d)}
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(context.Background(), img, sigs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCosignKeyTmpfs is BenchmarkVerifyCosignKey with Options.TempDir on
// a tmpfs, where the dir: hand-over costs no disk I/O.
func BenchmarkVerifyCosignKeyTmpfs(b *testing.B) {
	if fi, err := os.Stat("/dev/shm"); err != nil || !fi.IsDir() {
		b.Skip("no /dev/shm")
	}
	dir := b.TempDir()
	key := newCosignKey(b)
	writeFile(b, dir, "cosign.pub", key.pem)
	path := writePolicy(b, dir, `{"default":[{"type":"sigstoreSigned","keyPath":"{{DIR}}/cosign.pub","signedIdentity":{"type":"matchRepository"}}]}`)
	v, err := NewVerifier(Options{PolicyPath: path, TempDir: "/dev/shm"})
	if err != nil {
		b.Fatal(err)
	}
	m, d := testManifest("bench-cosign-tmpfs")
	img := Image{Reference: mustRef(b, "registry.example.com/ns/app:v1"), Manifest: m, ManifestDigest: d}
	sigs := []Signature{signCosign(b, key, "registry.example.com/ns/app", d)}
	b.ResetTimer()
	for b.Loop() {
		res, err := v.Verify(context.Background(), img, sigs)
		if err != nil || res.Verdict != VerdictAccepted {
			b.Fatal(res.Verdict, res.Reason, err)
		}
	}
}
