package report_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/report"
	rt "github.com/regimport/regimport/report/reporttest"
)

// The scenario: four repositories, ten images, three runs.
//
//	run 1: app A1 (1.0, latest), A2 (1.1, rejected: unknown key), web W1 (stable,
//	       no policy, unsigned), W2 (old, never evaluated), W3 (edge, rejected),
//	       multi L1 (1) = list of M1 amd64 + M2 arm64; one failure.
//	run 2: app A3 (latest moves from A1, 2.0 added), web:stable moves to W2,
//	       cli T1 (v1, sigstore); then A2 is re-verified: accepted.
//	run 3: web:old moves to W1; one failure.
const (
	app   = "registry.example.com/team/app"
	web   = "registry.example.com/team/web"
	multi = "registry.example.com/team/multi"
	cli   = "registry.other.io/tools/cli"
	mib   = 1 << 20
)

var (
	// Evidence: release's time is the signer's claim, ci's a verified
	// transparency-log time; platform's was stored before the catalog
	// recorded evidence (unknown).
	release = rt.Sig{Trusted: true, KeyID: "0F8A7B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F70", CN: "Release Engineering", Org: "Example Corp",
		Evidence: catalog.SignatureEvidence{KeyFingerprint: "0F8A7B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F70", SigningTime: day(2025, 5, 30), TimeSource: "signer"}}
	platform = rt.Sig{Trusted: true, KeyID: "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678"}
	ci       = rt.Sig{Trusted: true, Type: "sigstore", KeyID: "9f86d081884c7d65", CN: "ci@example.com", Issuer: "sigstore-intermediate",
		Evidence: catalog.SignatureEvidence{KeyFingerprint: "9f86d081884c7d65", CertificateSubject: "ci@example.com", CertificateIssuer: "sigstore-intermediate",
			OIDCIssuer: "https://token.actions.githubusercontent.com", CertificateNotBefore: day(2024, 1, 2), CertificateNotAfter: day(2024, 1, 2).Add(10 * time.Minute),
			SigningTime: day(2024, 1, 2).Add(time.Minute), TimeSource: "transparency-log", TimeVerified: true, TLogPresent: true, TLogVerified: true}}
	unknown  = rt.Sig{Reason: "UnknownKey", Evidence: catalog.SignatureEvidence{TimeSource: "none", TLogPresent: true}}
	reportAt = time.Date(2025, 6, 2, 12, 0, 0, 0, time.UTC)
	// hostileReason is free text from a registry: a formula, a comma, markup.
	hostileReason = "=1+1 injected, with a comma <script>alert(1)</script>"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 0, 0, 0, time.UTC) }

func layers(l ...any) []rt.Layer {
	var out []rt.Layer
	for i := 0; i < len(l); i += 2 {
		out = append(out, rt.Layer{Seed: l[i].(string), Size: int64(l[i+1].(int))})
	}
	return out
}

var (
	imgA1 = rt.Image{Seed: "A1", Repository: app, Created: day(2025, 5, 30), Layers: layers("base-debian", 30*mib, "app-mid", 5*mib, "A1-top", 1*mib),
		Verdict: "accepted", Sigs: []rt.Sig{release}}
	imgA2 = rt.Image{Seed: "A2", Repository: app, Created: day(2025, 3, 1), Layers: layers("base-debian", 30*mib, "app-mid", 5*mib, "A2-top", 2*mib),
		Verdict: "rejected", Reason: "UnknownKey", Sigs: []rt.Sig{unknown}}
	imgA3 = rt.Image{Seed: "A3", Repository: app, Created: day(2025, 5, 31), Layers: layers("base-debian", 30*mib, "app-mid", 5*mib, "A3-top", 3*mib),
		Verdict: "accepted", Sigs: []rt.Sig{release}}
	imgW1 = rt.Image{Seed: "W1", Repository: web, Created: day(2023, 1, 1), Layers: layers("base-debian", 30*mib, "W1-top", 4*mib), Verdict: "no-policy"}
	imgW2 = rt.Image{Seed: "W2", Repository: web, Created: time.Unix(0, 0).UTC(), Layers: layers("alpine-base", 3*mib)}
	imgW3 = rt.Image{Seed: "W3", Repository: web, Created: day(2024, 12, 1), Layers: layers("base-debian", 30*mib, "W3-top", 512<<10),
		Verdict: "rejected", Reason: "UnknownKey", Sigs: []rt.Sig{unknown}}
	imgM1 = rt.Image{Seed: "M1", Repository: multi, Created: day(2025, 4, 15), Layers: layers("base-debian", 30*mib, "M1-top", 6*mib),
		Verdict: "accepted", Sigs: []rt.Sig{platform}}
	imgM2 = rt.Image{Seed: "M2", Repository: multi, Arch: "arm64", Created: day(2025, 4, 15), Layers: layers("base-debian-arm", 29*mib, "M2-top", 1*mib),
		Verdict: "accepted", Sigs: []rt.Sig{platform}}
	imgT1 = rt.Image{Seed: "T1", Repository: cli, Created: day(2024, 1, 1), Layers: layers("alpine-base", 3*mib, "T1-top", 7*mib),
		Verdict: "accepted", Sigs: []rt.Sig{ci}}
	listL1 = rt.List("L1", multi, imgM1, imgM2)
)

// buildScenario writes the scenario into a new catalog file and returns its path.
func buildScenario(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	path := dbtest.New(t)
	clock := rt.NewClock(time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC))
	cat, err := catalogdb.Open(ctx, path, catalog.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	l1 := listL1.Image.Name
	must(t, run(ctx, cat, "regimport import --all-tags "+app+" "+web+" "+multi, []any{
		imgA1.Record(), imgA2.Record(), imgW1.Record(), imgW2.Record(), imgW3.Record(), imgM1.Record(), imgM2.Record(), listL1,
		rt.Tag(app, "1.0", imgA1.Digest()), rt.Tag(app, "latest", imgA1.Digest()), rt.Tag(app, "1.1", imgA2.Digest()),
		rt.Tag(web, "stable", imgW1.Digest()), rt.Tag(web, "old", imgW2.Digest()), rt.Tag(web, "edge", imgW3.Digest()),
		rt.Tag(multi, "1", l1),
	}, catalog.Failure{Reference: "registry.example.com/team/gone:1", Reason: "manifest unknown"}))
	clock.Skip(24 * time.Hour)
	must(t, run(ctx, cat, "regimport import --all-tags "+app+" "+web+" "+cli, []any{
		imgA3.Record(), imgT1.Record(),
		rt.Tag(app, "latest", imgA3.Digest()), rt.Tag(app, "2.0", imgA3.Digest()), rt.Tag(web, "stable", imgW2.Digest()),
		rt.Tag(cli, "v1", imgT1.Digest()),
	}))
	clock.Skip(time.Hour)
	changed, err := cat.UpdateVerification(ctx, imgA2.Digest(), catalog.Verification{Verdict: "accepted",
		Signatures: rt.Signatures(imgA2.Digest(), []rt.Sig{release})})
	if err != nil || !changed {
		t.Fatalf("re-verify A2: changed %v, %v", changed, err)
	}
	clock.Skip(24 * time.Hour)
	must(t, run(ctx, cat, "regimport import --all-tags "+web, []any{rt.Tag(web, "old", imgW1.Digest())},
		catalog.Failure{Reference: web + ":broken", Reason: hostileReason}))
	return path
}

func run(ctx context.Context, cat catalog.Catalog, cmd string, ops []any, failures ...catalog.Failure) error {
	_, err := rt.Run(ctx, cat, cmd, ops, failures...)
	return err
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// render writes a report of the catalog at path, opened read-only as the
// command does.
func render(t testing.TB, path string, opts report.Options) []byte {
	t.Helper()
	b, err := tryRender(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tryRender(path string, opts report.Options) ([]byte, error) {
	ctx := context.Background()
	cat, err := catalogdb.Open(ctx, path, catalog.Options{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer cat.Close()
	if opts.Now == nil {
		opts.Now = func() time.Time { return reportAt }
	}
	var buf bytes.Buffer
	err = report.Write(ctx, &buf, cat, opts)
	return buf.Bytes(), err
}
