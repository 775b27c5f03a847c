package catalogtest

import (
	"context"
	"testing"
	"time"

	imagev1 "github.com/openshift/api/image/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/regimport/regimport/catalog"
)

// evidenceSignature is a trusted signature record with its evidence.
func evidenceSignature(image string, i int, e catalog.SignatureEvidence) catalog.SignatureRecord {
	obj := imagev1.ImageSignature{ObjectMeta: metav1.ObjectMeta{Name: image + "@sig-" + string(rune('a'+i))}, Type: "sigstore",
		Content:    []byte("payload"),
		Conditions: []imagev1.SignatureCondition{{Type: "Trusted", Status: corev1.ConditionTrue, Reason: "Verified"}}}
	return catalog.SignatureRecord{Source: "sigstore", Type: "sigstore", Content: obj.Content, Object: obj, Evidence: e}
}

// The evidence behind each signature (migration 0013) is stored with it
// and read back as written, times to the second at least and NULL-free
// zeros; re-verification that changes only the evidence rewrites it in
// place, without a new resourceVersion (nothing a client sees changed); a
// row written before 0013 reads as unknown.
func (s Suite) SignatureEvidenceRoundTrip(t *testing.T) {
	c, _ := s.open(t)
	ctx := context.Background()
	rec := testImage(1)
	name := rec.Image.Name
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	keyless := catalog.SignatureEvidence{CertificateSubject: "ci@example.com", CertificateIssuer: "sigstore-intermediate",
		OIDCIssuer: "https://accounts.example.com", KeyFingerprint: "9f86d081884c7d65",
		CertificateNotBefore: at("2025-03-01T10:00:00Z"), CertificateNotAfter: at("2025-03-01T10:10:00Z"),
		SigningTime: at("2025-03-01T10:01:02Z"), TimeSource: "transparency-log", TimeVerified: true, TLogPresent: true, TLogVerified: true}
	key := catalog.SignatureEvidence{KeyFingerprint: "0F8A7B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F70", SigningTime: at("2025-04-02T00:00:00Z"),
		TimeSource: "signer", TimestampPresent: true}
	notation := catalog.SignatureEvidence{KeyFingerprint: "abc", SigningTime: at("2025-05-01T00:00:00Z"), TimeSource: "notation-signing-time",
		SignatureExpiry: at("2026-05-01T00:00:00Z")}
	rec.Verification = &catalog.Verification{Repository: "registry.example.com/app", Verdict: catalog.VerdictAccepted,
		Signatures: []catalog.SignatureRecord{evidenceSignature(name, 0, keyless), evidenceSignature(name, 1, key), evidenceSignature(name, 2, notation)}}
	put(t, c, rec)
	stored := func() []catalog.SignatureEvidence {
		t.Helper()
		sigs, err := c.StoredSignatures(ctx, "registry.example.com/app", name)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]catalog.SignatureEvidence, len(sigs))
		for i, s := range sigs {
			out[i] = s.Evidence
		}
		return out
	}
	if got, want := stored(), []catalog.SignatureEvidence{keyless, key, notation}; !equalEvidence(got, want) {
		t.Fatalf("stored evidence:\n got %+v\nwant %+v", got, want)
	}
	// The columns hold native values: flags a WHERE can test, times a
	// comparison orders.
	var verified int
	if err := readDB(t, c).QueryRowContext(ctx, `SELECT count(*) FROM signatures WHERE time_verified AND tlog_verified
		AND signing_time < certificate_not_after AND certificate_not_before < signing_time`).Scan(&verified); err != nil || verified != 1 {
		t.Errorf("signatures with verified time inside the certificate's validity: %d (%v), want 1", verified, err)
	}

	rv, _ := c.ResourceVersion(ctx)
	rekeyed := key
	rekeyed.SigningTime, rekeyed.TimeSource, rekeyed.TimeVerified = at("2025-04-01T23:59:00Z"), "rfc3161", true
	v := *rec.Verification
	v.Signatures = []catalog.SignatureRecord{evidenceSignature(name, 0, keyless), evidenceSignature(name, 1, rekeyed), evidenceSignature(name, 2, notation)}
	changed, err := c.UpdateVerification(ctx, name, v)
	if err != nil || changed {
		t.Fatalf("re-verification with new evidence only: changed %v (%v), want unchanged", changed, err)
	}
	if got, want := stored(), []catalog.SignatureEvidence{keyless, rekeyed, notation}; !equalEvidence(got, want) {
		t.Errorf("evidence after re-verification:\n got %+v\nwant %+v", got, want)
	}
	if rv2, _ := c.ResourceVersion(ctx); rv2 != rv {
		t.Errorf("resourceVersion moved from %d to %d for evidence only", rv, rv2)
	}

	// A row as migration 0013 leaves an older catalog's.
	if _, err := writeDB(t, c).ExecContext(ctx, `UPDATE signatures SET key_fingerprint = '', certificate_subject = '', certificate_issuer = '',
		oidc_issuer = '', certificate_not_before = NULL, certificate_not_after = NULL, signing_time = NULL, time_source = '',
		time_verified = false, signature_expiry = NULL, tlog_present = false, tlog_verified = false, timestamp_present = false,
		timestamp_verified = false`); err != nil {
		t.Fatal(err)
	}
	for i, e := range stored() {
		if e.Known() || e != (catalog.SignatureEvidence{}) {
			t.Errorf("signature %d of a pre-0013 row: evidence %+v, want unknown and empty", i, e)
		}
	}
}

func equalEvidence(got, want []catalog.SignatureEvidence) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		for _, p := range [][2]*time.Time{{&g.CertificateNotBefore, &w.CertificateNotBefore}, {&g.CertificateNotAfter, &w.CertificateNotAfter},
			{&g.SigningTime, &w.SigningTime}, {&g.SignatureExpiry, &w.SignatureExpiry}} {
			if !p[0].Equal(*p[1]) {
				return false
			}
			*p[0], *p[1] = time.Time{}, time.Time{}
		}
		if g != w {
			return false
		}
	}
	return true
}
