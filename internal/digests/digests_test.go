package digests

import (
	_ "crypto/sha512" // go-digest's sha384 and sha512, for the comparison
	"errors"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
)

// hex64 is 64 valid lowercase hex digits.
var hex64 = strings.Repeat("0123456789abcdef", 4)

// agreeWithGoDigest fails t unless Validate and Parse answer s exactly as
// go-digest does: the same acceptance and the same error.
func agreeWithGoDigest(t *testing.T, s string) {
	t.Helper()
	want := digest.Digest(s).Validate()
	if got := Validate(digest.Digest(s)); !sameError(got, want) {
		t.Errorf("Validate(%q) = %v, go-digest says %v", s, got, want)
	}
	wantD, wantErr := digest.Parse(s)
	if gotD, gotErr := Parse(s); gotD != wantD || !sameError(gotErr, wantErr) {
		t.Errorf("Parse(%q) = %q, %v; go-digest says %q, %v", s, gotD, gotErr, wantD, wantErr)
	}
}

func sameError(a, b error) bool {
	return (a == nil) == (b == nil) && (a == nil || errors.Is(a, b))
}

// seeds are the edges of the sha256 fast path: every way a digest can be
// one character from valid, and the other algorithms go-digest knows.
func seeds() []string {
	return []string{
		"sha256:" + hex64,
		"sha256:" + strings.ToUpper(hex64),
		"sha256:" + hex64[:63],
		"sha256:" + hex64 + "0",
		"sha256:" + hex64[:63] + "g",
		"sha256:" + hex64[:63] + "/",
		"sha256:" + hex64[:63] + ":",
		"sha256:" + hex64[:63] + "`",
		"sha256:" + hex64[:63] + "F",
		"sha256:" + hex64[:62] + "\xc3\xa9",
		"SHA256:" + hex64,
		"sha256;" + hex64,
		"sha255:" + hex64,
		" sha256:" + hex64[1:],
		"sha256:",
		"sha256",
		":" + hex64,
		"",
		"sha384:" + hex64 + hex64[:32],
		"sha512:" + hex64 + hex64,
		"sha512:" + hex64,
		"md5:" + hex64[:32],
		"sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
		"multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
	}
}

func TestValidateAgreesWithGoDigest(t *testing.T) {
	for _, s := range seeds() {
		agreeWithGoDigest(t, s)
	}
	// Every single byte at every position of a valid digest: the fast path
	// must accept exactly the lowercase hex digits where go-digest does.
	valid := "sha256:" + hex64
	for i := range len(valid) {
		for c := range 256 {
			agreeWithGoDigest(t, valid[:i]+string(rune(c))+valid[i+1:])
			agreeWithGoDigest(t, valid[:i]+string([]byte{byte(c)})+valid[i+1:])
		}
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s)
	}
	f.Fuzz(agreeWithGoDigest)
}

// TestFromBytesAgreesWithGoDigest computes digests of inputs of every
// length up to a few blocks, under sha256 and the other algorithms
// go-digest has, and requires go-digest's.
func TestFromBytesAgreesWithGoDigest(t *testing.T) {
	b := make([]byte, 300)
	for i := range b {
		b[i] = byte(i * 7)
	}
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA384, digest.SHA512} {
		for n := range len(b) {
			if got, want := FromBytes(alg, b[:n]), alg.FromBytes(b[:n]); got != want {
				t.Fatalf("%s of %d bytes: %s, go-digest %s", alg, n, got, want)
			}
		}
	}
	if got, want := FromBytes(digest.Canonical, nil), digest.FromBytes(nil); got != want {
		t.Fatalf("canonical digest of nothing: %s, go-digest %s", got, want)
	}
}
