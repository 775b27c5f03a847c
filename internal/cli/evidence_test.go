package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/catalogdb"
	"github.com/regimport/regimport/catalog/catalogtest"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/internal/sigtest"
	"github.com/regimport/regimport/internal/testregistry"
)

// auditRepository is where evidenceRegistry's images signed in the past are.
const auditRepository = "audit/app"

// evidenceRegistry is sharedRegistry plus audit/app:v1 and :v2, signed
// with a key made in 2020 at the given times (the signer's own claim of
// when), and a policy that requires that key there (and the shared cosign
// key in signed/cosign).
func evidenceRegistry(t *testing.T, signed1, signed2 time.Time) (reg *testregistry.Registry, s *sigtest.Shared, key *sigtest.GPGKey, policy, registriesD string, v1, v2 testregistry.Pushed) {
	t.Helper()
	ctx := context.Background()
	reg, s = sharedRegistry(t)
	var err error
	if key, err = sigtest.NewGPGKeyAt("Old Release Key", "old@example.com", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lookaside := filepath.Join(dir, "lookaside")
	for i, at := range []time.Time{signed1, signed2} {
		tag := fmt.Sprintf("v%d", i+1)
		p, err := reg.Push(ctx, testregistry.ImageSpec{Repository: auditRepository, Tags: []string{tag}, Format: testregistry.Schema2, Seed: int64(20 + i)})
		if err != nil {
			t.Fatal(err)
		}
		blob, err := key.SignSimpleAt(reg.Host()+"/"+auditRepository+":"+tag, p.Digest, at)
		if err != nil {
			t.Fatal(err)
		}
		if err := sigtest.WriteLookaside(lookaside, auditRepository, p.Digest, blob); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			v1 = p
		} else {
			v2 = p
		}
	}
	if err := key.WritePublicKey(filepath.Join(dir, "old.gpg")); err != nil {
		t.Fatal(err)
	}
	policy, registriesD = filepath.Join(dir, "policy.json"), filepath.Join(dir, "registries.d")
	writePolicy(t, policy, fmt.Sprintf(`{"default":[{"type":"reject"}],"transports":{"docker":{
		%q: [{"type":"signedBy","keyType":"GPGKeys","keyPath":%q}],
		%q: [{"type":"sigstoreSigned","keyPath":%q,"signedIdentity":{"type":"matchRepository"}}]}}}`,
		reg.Host()+"/"+auditRepository, filepath.Join(dir, "old.gpg"), reg.Host()+"/"+sigtest.SharedCosign, filepath.Join(s.Dir, "cosign.pub")))
	if err := os.MkdirAll(registriesD, 0o755); err != nil {
		t.Fatal(err)
	}
	writePolicy(t, filepath.Join(registriesD, "default.yaml"), "default-docker:\n  lookaside: file://"+lookaside+"\n")
	return reg, s, key, policy, registriesD, v1, v2
}

func storedEvidence(t *testing.T, db, repo, image string) []catalog.SignatureEvidence {
	t.Helper()
	ctx := context.Background()
	cat, err := catalogdb.Open(ctx, db, catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	sigs, err := cat.StoredSignatures(ctx, repo, image)
	if err != nil {
		t.Fatal(err)
	}
	var out []catalog.SignatureEvidence
	for _, s := range sigs {
		out = append(out, s.Evidence)
	}
	return out
}

// Signatures imported from a registry keep the evidence the verifier
// established (a simple signature's and a cosign payload's key and
// signer-claimed time), and the report shows it in every format. With
// --key-retired, the release key's signature claimed after the retirement
// and the one before it (whose time is only the signer's claim, so nothing
// proves it predates the retirement) are both listed, each with its
// finding; bad KEY=DATE input is a usage error.
func TestSignatureEvidenceFromImportToReport(t *testing.T) {
	start := time.Now().Add(-time.Second).Truncate(time.Second)
	signed1, signed2 := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC), time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	retired := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	reg, s, key, policy, registriesD, v1, v2 := evidenceRegistry(t, signed1, signed2)
	db := dbtest.New(t)
	repo := func(name string) string { return reg.Host() + "/" + name }
	code, out, errOut := runCLI(t, "import", "--db", db, "--tls-verify=false", "--progress", "never", "--policy", policy,
		"--registries.d", registriesD, repo(auditRepository)+":v1", repo(auditRepository)+":v2", repo(sigtest.SharedCosign)+":v1")
	if code != ExitOK {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	end := time.Now().Add(time.Second)

	for _, c := range []struct {
		img testregistry.Pushed
		at  time.Time
	}{{v1, signed1}, {v2, signed2}} {
		e := storedEvidence(t, db, repo(auditRepository), c.img.Digest.String())
		if len(e) != 1 || e[0].KeyFingerprint != key.Fingerprint() || e[0].TimeSource != "signer" || e[0].TimeVerified ||
			!e[0].SigningTime.Equal(c.at) || e[0].CertificateSubject != "" || e[0].TLogPresent {
			t.Errorf("simple signature of %s: evidence %+v, want key %s and the signer's time %s", c.img.Digest, e, key.Fingerprint(), c.at)
		}
	}
	cosign := storedEvidence(t, db, repo(sigtest.SharedCosign), s.Image.Digest.String())
	if len(cosign) != 1 || cosign[0].KeyFingerprint != s.Cosign.Fingerprint() || cosign[0].TimeSource != "signer" || cosign[0].TimeVerified ||
		cosign[0].SigningTime.Before(start.Truncate(time.Second)) || cosign[0].SigningTime.After(end) || cosign[0].TLogPresent {
		t.Errorf("cosign signature: evidence %+v, want key %s and the payload's timestamp", cosign, s.Cosign.Fingerprint())
	}

	report := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, append([]string{"report", "--db", db}, args...)...)
		if code != ExitOK {
			t.Fatalf("report %v: exit %d\n%s", args, code, errOut)
		}
		return out
	}
	keyRetired := "--key-retired=" + key.Fingerprint() + "=" + retired.Format(time.DateOnly)
	var doc struct {
		Signatures, UnverifiedTimes []struct {
			Repository, Digest, KeyFingerprint, TimeSource string
			SigningTime                                    *time.Time
			TimeVerified                                   bool
		}
		KeyRetired []struct{ Key, Digest, Finding string }
	}
	if err := json.Unmarshal([]byte(report("--format", "json", keyRetired)), &doc); err != nil {
		t.Fatal(err)
	}
	fingerprints := map[string]int{}
	for _, r := range doc.Signatures {
		fingerprints[r.KeyFingerprint]++
		if r.TimeSource != "signer" || r.SigningTime == nil || r.TimeVerified {
			t.Errorf("report signature %+v: want the signer's unverified time", r)
		}
	}
	if len(doc.Signatures) != 3 || fingerprints[key.Fingerprint()] != 2 || fingerprints[s.Cosign.Fingerprint()] != 1 {
		t.Errorf("report signatures by key %v, want 2 of the release key and 1 of the cosign key", fingerprints)
	}
	if len(doc.UnverifiedTimes) != 3 {
		t.Errorf("unverified times: %d signatures, want all 3 (none has a log or timestamp)", len(doc.UnverifiedTimes))
	}
	got := map[string]string{}
	for _, r := range doc.KeyRetired {
		if r.Key != key.Fingerprint() {
			t.Errorf("key-retired lists a signature of key %s", r.Key)
		}
		got[r.Digest] = r.Finding
	}
	if want := map[string]string{v2.Digest.String(): "claimed-after", v1.Digest.String(): "unverified-time"}; len(got) != 2 ||
		got[v2.Digest.String()] != want[v2.Digest.String()] || got[v1.Digest.String()] != want[v1.Digest.String()] {
		t.Errorf("key-retired findings %v, want %v", got, want)
	}

	csv := report("--format", "csv", "--table", "key-retired", keyRetired)
	if lines := strings.Split(strings.TrimSpace(csv), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "key,retiredAt,finding,repository") ||
		!strings.Contains(csv, ","+retired.Format(time.RFC3339)+",claimed-after,") || !strings.Contains(csv, ",unverified-time,") {
		t.Errorf("csv key-retired:\n%s", csv)
	}
	if md := report("--format", "md", "--table", "signatures"); !strings.Contains(md, "| "+s.Cosign.Fingerprint()+" |") ||
		!strings.Contains(md, "| "+key.Fingerprint()+" |") || !strings.Contains(md, "| signer | false |") {
		t.Errorf("markdown signatures table lacks the keys or their time source:\n%s", md)
	}
	html := report("--format", "html", keyRetired)
	for _, want := range []string{`id="signature-evidence"`, `id="unverified-times"`, `id="key-retired"`, s.Cosign.Fingerprint(), ">claimed-after<"[1:]} {
		if !strings.Contains(html, want) {
			t.Errorf("html report lacks %q", want)
		}
	}
	if strings.Contains(report("--format", "html"), `id="key-retired"`) {
		t.Error("html report has a key-retired table without --key-retired")
	}

	for _, bad := range []string{"nodate", "=2025-01-01", key.Fingerprint() + "=", key.Fingerprint() + "=01/02/2025"} {
		code, _, errOut := runCLI(t, "report", "--db", db, "--format", "json", "--key-retired", bad)
		if code != ExitUsage || !strings.Contains(errOut, "-key-retired") || !strings.Contains(errOut, "KEY=DATE") && !strings.Contains(errOut, "YYYY-MM-DD") {
			t.Errorf("--key-retired %q: exit %d, want %d with a usage error\n%s", bad, code, ExitUsage, errOut)
		}
	}
}

// A catalog written before signatures had evidence (schema 12) upgrades
// with the evidence unknown, and the report says so; `regimport verify`
// records it without touching what a client sees.
func TestVerifyRecordsEvidenceOfAnOlderCatalog(t *testing.T) {
	dbtest.SQLiteOnly(t, "rewinds a SQLite file to schema 12")
	ctx := context.Background()
	reg, s := sharedRegistry(t)
	db := filepath.Join(t.TempDir(), "catalog.db")
	repo := reg.Host() + "/" + sigtest.SharedGPG
	if code, out, errOut := runCLI(t, "import", "--db", db, "--tls-verify=false", "--progress", "never", "--policy", s.Policy,
		"--registries.d", s.RegistriesD, repo+":v1"); code != ExitOK {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	if err := catalogtest.RewindTo(ctx, db, 12); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, "migrate", "--db", db); code != ExitOK {
		t.Fatalf("migrate: exit %d\n%s%s", code, out, errOut)
	}
	img := s.Image.Digest.String()
	if e := storedEvidence(t, db, repo, img); len(e) != 1 || e[0].Known() || e[0] != (catalog.SignatureEvidence{}) {
		t.Fatalf("evidence after the upgrade: %+v, want one unknown", e)
	}
	code, out, errOut := runCLI(t, "report", "--db", db, "--format", "csv", "--table", "unverified-times")
	if code != ExitOK || !strings.Contains(out, img) || !strings.Contains(out, ",unknown,") {
		t.Errorf("unverified-times after the upgrade: exit %d\n%s%s", code, out, errOut)
	}
	cat, err := catalogdb.Open(ctx, db, catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := cat.GetImage(ctx, img)
	cat.Close()

	if code, out, errOut := runCLI(t, "verify", "--db", db, "--policy", s.Policy); code != ExitOK || strings.Contains(out, "(changed)") {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errOut)
	}
	if e := storedEvidence(t, db, repo, img); len(e) != 1 || e[0].KeyFingerprint != s.GPG.Fingerprint() || e[0].TimeSource != "signer" || e[0].SigningTime.IsZero() {
		t.Errorf("evidence after verify: %+v, want the release key and the signer's time", e)
	}
	cat, err = catalogdb.Open(ctx, db, catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := cat.GetImage(ctx, img)
	cat.Close()
	if before == nil || after == nil || before.ResourceVersion != after.ResourceVersion {
		t.Errorf("verify recording evidence changed what clients see: resourceVersion %v -> %v", before, after)
	}
}
