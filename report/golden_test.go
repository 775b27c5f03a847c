package report_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/report"
	rt "github.com/regimport/regimport/report/reporttest"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite report/testdata/golden from the current output")

// buildGoldenScenario is the scenario plus a fourth run that removes a tag
// and a repository, so that every list of the report has rows.
func buildGoldenScenario(t *testing.T) string {
	path := buildScenario(t)
	ctx := context.Background()
	clock := rt.NewClock(time.Date(2025, 6, 5, 8, 0, 0, 0, time.UTC))
	cat, err := catalogdb.Open(ctx, path, catalog.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	must(t, run(ctx, cat, "regimport import --catalog registry.example.com", []any{
		catalog.TagRemoval{Repository: app, Tags: []string{"1.1"}, Reason: catalog.ReasonNotListed},
		rt.RepositoryRemoval(multi),
	}, catalog.Failure{Reference: app + ":3.0", Reason: "manifest unknown"}))
	// Referrers looked up for three images: T1 has a verified provenance and
	// an unverified SBOM, M1 an SBOM only, A3 none; the others were never
	// looked up.
	attest := func(img rt.Image, as ...catalog.AttestationRecord) {
		t.Helper()
		if _, err := cat.UpdateVerification(ctx, img.Digest(), catalog.Verification{Verdict: catalog.Verdict(img.Verdict), Reason: img.Reason,
			Signatures: rt.Signatures(img.Digest(), img.Sigs), Attestations: as, ReferrersChecked: true}); err != nil {
			t.Fatal(err)
		}
	}
	attest(imgT1,
		catalog.AttestationRecord{Referrer: "sha256:" + strings.Repeat("a", 64), PredicateType: "https://slsa.dev/provenance/v1", Signer: "ci@example.com", Verified: true},
		catalog.AttestationRecord{Referrer: "sha256:" + strings.Repeat("b", 64), PredicateType: "https://spdx.dev/Document", Reason: "UnknownKey"})
	attest(imgM1, catalog.AttestationRecord{Referrer: "sha256:" + strings.Repeat("c", 64), PredicateType: "https://cyclonedx.org/bom", Signer: "platform", Verified: true})
	attest(imgA3)
	return path
}

// The report's output, in every format and table, is byte for byte what
// testdata/golden holds: the JSON field names and order are the documented
// interface (APIVersion), and the CSV and Markdown columns follow them.
// Regenerate with -update-golden only for a change meant to alter output.
func TestReportOutputMatchesGolden(t *testing.T) {
	path := buildGoldenScenario(t)
	type variant struct {
		file string
		opts report.Options
	}
	variants := []variant{
		{"all.json", report.Options{Format: report.FormatJSON}},
		{"filtered-range.json", report.Options{Format: report.FormatJSON, Repository: "registry.example.com/*",
			Range: report.Range{From: report.Point{Run: 1}, To: report.Point{Run: 3}}}},
		{"all.md", report.Options{Format: report.FormatMarkdown}},
		{"all.html", report.Options{Format: report.FormatHTML}},
		{"policy-preview.json", report.Options{Format: report.FormatJSON, Table: "", PolicyPreview: goldenPolicyPreview()}},
		{"policy-preview.md", report.Options{Format: report.FormatMarkdown, Table: "policy-preview", PolicyPreview: goldenPolicyPreview()}},
		// The release key retired after its signatures' own (unverified)
		// time: all listed, unverified-time; ci's key retired before its
		// verified time: signed-after; and retired after it: not listed.
		{"key-retired.md", report.Options{Format: report.FormatMarkdown, Table: "key-retired", KeyRetired: []report.KeyRetirement{
			{Key: release.KeyID, At: day(2025, 6, 1)}, {Key: ci.KeyID, At: day(2024, 1, 1)}, {Key: ci.KeyID, At: day(2024, 2, 1)}}}},
	}
	for _, table := range report.Tables {
		variants = append(variants, variant{"table-" + table + ".csv", report.Options{Format: report.FormatCSV, Table: table}})
	}
	dir := filepath.Join("testdata", "golden")
	if *updateGolden {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range variants {
		t.Run(v.file, func(t *testing.T) {
			// The name the catalog was opened by is the one fact that
			// differs between the backends' passes; the rest is byte-identical.
			v.opts.File = "catalog.db"
			got := render(t, path, v.opts)
			file := filepath.Join(dir, v.file)
			if *updateGolden {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update-golden to create it)", err)
			}
			if !bytes.Equal(got, want) {
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				lo := max(0, i-200)
				t.Errorf("output differs from %s at byte %d:\ngot  ...%s\nwant ...%s", file, i,
					got[lo:min(len(got), i+200)], want[lo:min(len(want), i+200)])
			}
		})
	}
}

// goldenPolicyPreview is what a caller evaluating a stricter policy hands
// the report (report --policy): the report shows it, never computes it.
func goldenPolicyPreview() *report.PolicyPreview {
	p := &report.PolicyPreview{Policy: "strict.json"}
	p.Add(report.PolicyChange{Repository: app, Tags: []string{"2.0"}, Digest: imgA3.Digest(), From: "accepted", To: "rejected",
		Reason: "A signature was required, but no signature exists"}, nil)
	p.Add(report.PolicyChange{Repository: imgT1.Repository, Tags: []string{"1.0"}, Digest: imgT1.Digest(), From: "accepted", To: "accepted"}, nil)
	p.Add(report.PolicyChange{Repository: multi, Digest: imgM1.Digest(), From: "", To: "unevaluated", Reason: "signatures could not be fetched"}, nil)
	p.PullBlocked = []report.PolicyPullBlock{{Repository: app, Reference: app + ":2.0", Verdict: "rejected", Reason: "A signature was required, but no signature exists"}}
	p.Finish()
	return p
}
