package digests

import (
	"testing"

	digest "github.com/opencontainers/go-digest"
)

var benchErr error

// BenchmarkValidate and BenchmarkGoDigestValidate compare the two on a
// well-formed sha256 digest, the case the import validates for nearly
// every manifest, config and layer: go test ./internal/digests -run '^$' -bench .
func BenchmarkValidate(b *testing.B) {
	d := digest.Digest("sha256:" + hex64)
	for b.Loop() {
		benchErr = Validate(d)
	}
}

func BenchmarkGoDigestValidate(b *testing.B) {
	d := digest.Digest("sha256:" + hex64)
	for b.Loop() {
		benchErr = d.Validate()
	}
}

var benchDigest digest.Digest

// BenchmarkFromBytes and BenchmarkGoDigestFromBytes compare the two on a
// config-sized document.
func BenchmarkFromBytes(b *testing.B) {
	doc := make([]byte, 2500)
	for b.Loop() {
		benchDigest = FromBytes(digest.SHA256, doc)
	}
}

func BenchmarkGoDigestFromBytes(b *testing.B) {
	doc := make([]byte, 2500)
	for b.Loop() {
		benchDigest = digest.SHA256.FromBytes(doc)
	}
}
