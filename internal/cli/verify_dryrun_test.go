package cli

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/catalogdb"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/internal/refsigtest"
	"github.com/regimport/regimport/internal/sigtest"
	"github.com/regimport/regimport/internal/testregistry"
	"github.com/regimport/regimport/report"
)

// dryRunCatalog is a catalog imported under a policy that accepts
// anything, with signatures looked up: prod/signed is cosign-signed,
// prod/unsigned and dev/tool are not, and of prod/vlist's two platforms
// only the first is signed (the index itself is not).
type dryRunCatalog struct {
	*cosignEnv
	db, lenient string
	// wouldChange is what the stricter policy (e.policy) would change:
	// "repository@digest" of each pair.
	wouldChange []string
	// blocked are the tags a node could not pull under it.
	blocked []string
}

func newDryRunCatalog(t *testing.T) *dryRunCatalog {
	t.Helper()
	e := newCosignEnv(t)
	ctx := context.Background()
	c := &dryRunCatalog{cosignEnv: e, db: dbtest.New(t), lenient: filepath.Join(t.TempDir(), "lenient.json")}
	writePolicy(t, c.lenient, `{"default":[{"type":"insecureAcceptAnything"}]}`)
	push := func(repo string, seed int64, format testregistry.Format) testregistry.Pushed {
		t.Helper()
		p, err := e.reg.Push(ctx, testregistry.ImageSpec{Repository: repo, Tags: []string{"1"}, Format: format, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	signed := push("prod/signed", 61, testregistry.OCI)
	e.sign(t, "prod/signed", signed.Digest)
	unsigned := push("prod/unsigned", 62, testregistry.OCI)
	list := push("prod/vlist", 63, testregistry.OCIIndex)
	if len(list.Children) != 2 {
		t.Fatalf("%d platforms pushed, want 2", len(list.Children))
	}
	e.sign(t, "prod/vlist", list.Children[0].Digest)
	tool := push("dev/tool", 64, testregistry.OCI)
	host := e.reg.Host() + "/"
	code, out, errOut := runCLI(t, "import", "--db", c.db, "--tls-verify=false", "--progress", "never", "--policy", c.lenient,
		"--registries.d", e.regsD, host+"prod/signed:1", host+"prod/unsigned:1", host+"prod/vlist:1", host+"dev/tool:1")
	if code != ExitOK {
		t.Fatalf("import under the lenient policy: exit %d\n%s%s", code, out, errOut)
	}
	c.wouldChange = []string{host + "prod/unsigned@" + unsigned.Digest.String(), host + "prod/vlist@" + list.Digest.String(),
		host + "prod/vlist@" + list.Children[1].Digest.String(), host + "dev/tool@" + tool.Digest.String()}
	slices.Sort(c.wouldChange)
	c.blocked = []string{host + "dev/tool:1", host + "prod/unsigned:1", host + "prod/vlist:1"}
	return c
}

// catalogState is what must not change under a dry run: on SQLite the
// bytes of the catalog file and its write-ahead log; on PostgreSQL every
// row of every table (the verdict tables among them).
func catalogState(t *testing.T, db string) any {
	t.Helper()
	if dbtest.Postgres() {
		return dbtest.Dump(t, db)
	}
	state := map[string]string{}
	for _, f := range []string{db, db + "-wal"} {
		b, err := os.ReadFile(f)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			state[f] = "absent"
		case err != nil:
			t.Fatal(err)
		default:
			sum := sha256.Sum256(b)
			state[f] = hex.EncodeToString(sum[:])
		}
	}
	return state
}

// dryRunPairs are the "repository@digest" of the text output's pair
// lines, and checks each says old -> new.
func dryRunPairs(t *testing.T, out, from, to string) []string {
	t.Helper()
	var pairs []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[4] != "->" {
			continue
		}
		if f[3] != from || f[5] != to {
			t.Errorf("pair line %q: want %s -> %s", line, from, to)
		}
		pairs = append(pairs, f[0]+"@"+f[2])
	}
	slices.Sort(pairs)
	return pairs
}

func previewPairs(p report.PolicyPreview) []string {
	var pairs []string
	for _, c := range p.Changes {
		pairs = append(pairs, c.Repository+"@"+c.Digest)
	}
	slices.Sort(pairs)
	return pairs
}

func TestVerifyDryRunNamesWhatAPolicyWouldChangeAndWritesNothing(t *testing.T) {
	c := newDryRunCatalog(t)
	before := catalogState(t, c.db)
	dry := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, append([]string{"verify", "--db", c.db, "--dry-run"}, args...)...)
	}

	// The policy the catalog was imported under changes nothing.
	code, out, errOut := dry("--policy", c.lenient)
	if code != ExitOK || strings.Contains(out, "->") || strings.Contains(out, "pull ") ||
		!strings.Contains(out, "0 of 6 (repository, image) pairs would change verdict") {
		t.Fatalf("dry run under the import's policy: exit %d, want 0 and no pair\n%s%s", code, out, errOut)
	}

	// The stricter policy: exactly the unsigned pairs would be rejected,
	// and the tags naming them could not be pulled. It needs no run lock.
	lock, err := catalogdb.LockRuns(c.db, "test", catalog.Shard{})
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut = dry("--policy", c.policy)
	lock.Unlock()
	if code != ExitRejected {
		t.Fatalf("dry run under the stricter policy: exit %d, want 4\n%s%s", code, out, errOut)
	}
	if got := dryRunPairs(t, out, "accepted", "rejected"); !reflect.DeepEqual(got, c.wouldChange) {
		t.Errorf("pairs that would change:\n got %v\nwant %v\n%s", got, c.wouldChange, out)
	}
	for _, ref := range c.blocked {
		if !strings.Contains(out, ref+": ") {
			t.Errorf("no pull line for %s\n%s", ref, out)
		}
	}
	host := c.reg.Host() + "/"
	for _, want := range []string{"pull partial   " + host + "prod/vlist:1: accepted for ", host + "prod/signed: 1 pair, 0 would change",
		host + "prod/vlist: 3 pairs, 2 would change; under the policy 1 accepted, 2 rejected", "4 of 6 (repository, image) pairs would change verdict"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}

	// json and csv say the same for scripts.
	code, out, _ = dry("--policy", c.policy, "--format", "json")
	var doc report.PolicyPreview
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != ExitRejected {
		t.Fatalf("--format json: exit %d, %v\n%s", code, err, out)
	}
	if got := previewPairs(doc); !reflect.DeepEqual(got, c.wouldChange) || doc.Pairs != 6 || doc.Changed != 4 || len(doc.PullBlocked) != 3 {
		t.Errorf("json: pairs %v, %d evaluated, %d changed, pulls blocked %+v", got, doc.Pairs, doc.Changed, doc.PullBlocked)
	}
	for _, ch := range doc.Changes {
		if ch.From != "accepted" || ch.To != "rejected" || ch.Reason == "" || len(ch.Tags) != 1 || ch.Tags[0] != "1" {
			t.Errorf("json change %+v: want accepted -> rejected, a reason, tag 1", ch)
		}
	}
	code, out, _ = dry("--policy", c.policy, "--format", "csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || code != ExitRejected || len(rows) != 5 || strings.Join(rows[0], ",") != "repository,tags,digest,from,fromReason,to,reason" {
		t.Fatalf("--format csv: exit %d, %v\n%s", code, err, out)
	}
	var csvPairs []string
	for _, r := range rows[1:] {
		csvPairs = append(csvPairs, r[0]+"@"+r[2])
	}
	slices.Sort(csvPairs)
	if !reflect.DeepEqual(csvPairs, c.wouldChange) {
		t.Errorf("csv pairs %v, want %v", csvPairs, c.wouldChange)
	}

	// A policy that does not parse: a usage error, nothing written.
	bad := filepath.Join(t.TempDir(), "bad.json")
	writePolicy(t, bad, `{"default":[{"type":"reject"}`)
	if code, out, errOut := dry("--policy", bad); code != ExitUsage || !strings.Contains(errOut, "bad.json") {
		t.Errorf("unparsable policy: exit %d, want 2 naming the file\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "verify", "--db", c.db, "--policy", c.policy, "--format", "json"); code != ExitUsage {
		t.Errorf("--format without --dry-run: exit %d, want 2 (%s)", code, errOut)
	}

	if after := catalogState(t, c.db); !reflect.DeepEqual(before, after) {
		t.Fatalf("the dry runs changed the catalog:\nbefore %v\nafter  %v", before, after)
	}

	// The real run changes exactly the verdicts the dry run said (all
	// were accepted: its "(changed)" also marks signature results that
	// changed), and exits alike.
	code, out, _ = runCLI(t, "verify", "--db", c.db, "--policy", c.policy)
	var changed []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && (f[0] == "rejected" || f[0] == "unevaluated") {
			changed = append(changed, f[1])
		}
	}
	slices.Sort(changed)
	if code != ExitRejected || !reflect.DeepEqual(changed, c.wouldChange) {
		t.Errorf("verify after the dry run: exit %d, changed %v, want 4 and %v\n%s", code, changed, c.wouldChange, out)
	}
	if after := catalogState(t, c.db); reflect.DeepEqual(before, after) {
		t.Error("the catalog's state is the same after the real verify: the check above could not see a write")
	}
}

// report --policy shows the same pairs beside what is, in every format.
func TestReportPolicyPreview(t *testing.T) {
	c := newDryRunCatalog(t)
	before := catalogState(t, c.db)
	rep := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, append([]string{"report", "--db", c.db, "--policy", c.policy}, args...)...)
		if code != ExitOK {
			t.Fatalf("report %v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	var doc struct {
		PolicyPreview *report.PolicyPreview `json:"policyPreview"`
		Inventory     []struct{ Repository, SignatureVerdict string }
	}
	if err := json.Unmarshal([]byte(rep("--format", "json")), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.PolicyPreview == nil || !reflect.DeepEqual(previewPairs(*doc.PolicyPreview), c.wouldChange) || len(doc.PolicyPreview.PullBlocked) != 3 {
		t.Fatalf("json policyPreview: %+v, want pairs %v", doc.PolicyPreview, c.wouldChange)
	}
	for _, row := range doc.Inventory {
		if row.SignatureVerdict != "accepted" {
			t.Errorf("inventory %s: verdict %s, want it as stored (accepted)", row.Repository, row.SignatureVerdict)
		}
	}

	rows, err := csv.NewReader(strings.NewReader(rep("--format", "csv", "--table", "policy-preview"))).ReadAll()
	if err != nil || len(rows) != 1+len(c.wouldChange) {
		t.Fatalf("csv policy-preview: %v, %d rows", err, len(rows))
	}
	md := rep("--format", "md", "--table", "policy-preview")
	html := rep("--format", "html")
	for _, pair := range c.wouldChange {
		repo, digest, _ := strings.Cut(pair, "@")
		if !strings.Contains(md, "| "+repo+" | 1 | "+digest+" | accepted |") {
			t.Errorf("markdown lacks %s\n%s", pair, md)
		}
		if !strings.Contains(html, "<tr><td>"+repo+"<td>1<td class=\"d\">"+digest+"<td class=\"v-accepted\"") {
			t.Errorf("html lacks %s", pair)
		}
	}
	if !strings.Contains(html, `id="policy-preview"`) {
		t.Error("html has no policy-preview section")
	}

	// --repository narrows the preview as it does the rest.
	if err := json.Unmarshal([]byte(rep("--format", "json", "--repository", c.reg.Host()+"/dev/*")), &doc); err != nil {
		t.Fatal(err)
	}
	if got := previewPairs(*doc.PolicyPreview); len(got) != 1 || !strings.Contains(got[0], "/dev/tool@") || doc.PolicyPreview.Pairs != 1 {
		t.Errorf("policyPreview of dev/*: %v (%d pairs)", got, doc.PolicyPreview.Pairs)
	}

	// Without --policy the section is absent; with a bad one, a usage error.
	if strings.Contains(runCLIOut(t, "report", "--db", c.db, "--format", "json"), "policyPreview") {
		t.Error("a report without --policy has a policyPreview")
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	writePolicy(t, bad, `not json`)
	if code, _, errOut := runCLI(t, "report", "--db", c.db, "--policy", bad); code != ExitUsage || !strings.Contains(errOut, "bad.json") {
		t.Errorf("report with an unparsable policy: exit %d, want 2 (%s)", code, errOut)
	}
	if after := catalogState(t, c.db); !reflect.DeepEqual(before, after) {
		t.Fatalf("report --policy changed the catalog:\nbefore %v\nafter  %v", before, after)
	}
}

func runCLIOut(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := runCLI(t, args...)
	if code != ExitOK {
		t.Fatalf("%v: exit %d: %s", args, code, errOut)
	}
	return out
}

// The same for a notation trust policy: images imported under one whose
// scope covers both repositories; a trust policy that drops other/app
// would change that pair only, and the dry run writes nothing.
func TestVerifyDryRunUnderANotationTrustPolicy(t *testing.T) {
	ctx := context.Background()
	reg, err := testregistry.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	n, err := refsigtest.NewNotationSigner("Release Signer", "Example Corp")
	if err != nil {
		t.Fatal(err)
	}
	var pushed []testregistry.Pushed
	for i, repo := range []string{"team/app", "other/app"} {
		p, err := reg.Push(ctx, testregistry.ImageSpec{Repository: repo, Tags: []string{"v1"}, Format: testregistry.OCI, Seed: int64(71 + i)})
		if err != nil {
			t.Fatal(err)
		}
		subject := imgspecv1.Descriptor{MediaType: p.MediaType, Digest: p.Digest, Size: int64(len(p.Manifest))}
		env, err := n.Sign(ctx, subject, refsigtest.NotationJWS)
		if err != nil {
			t.Fatal(err)
		}
		m, blobs := refsigtest.NotationManifest(subject, refsigtest.NotationJWS, env)
		if _, err := reg.PushReferrer(ctx, repo, p.Digest, m, true, blobs...); err != nil {
			t.Fatal(err)
		}
		pushed = append(pushed, p)
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "truststore")
	if err := n.WriteTrustStore(store, "release"); err != nil {
		t.Fatal(err)
	}
	team, other := reg.Host()+"/team/app", reg.Host()+"/other/app"
	both, narrow := filepath.Join(dir, "both.json"), filepath.Join(dir, "narrow.json")
	writePolicy(t, both, string(refsigtest.TrustPolicy("release", team, other)))
	writePolicy(t, narrow, string(refsigtest.TrustPolicy("release", team)))
	db := dbtest.New(t)
	if code, out, errOut := runCLI(t, "import", "--db", db, "--tls-verify=false", "--progress", "never", "--notation-trust-policy", both,
		"--notation-trust-store", store, team+":v1", other+":v1"); code != ExitOK {
		t.Fatalf("import under the trust policy: exit %d\n%s%s", code, out, errOut)
	}
	before := catalogState(t, db)
	dry := func(policy string) (int, report.PolicyPreview) {
		t.Helper()
		code, out, errOut := runCLI(t, "verify", "--db", db, "--dry-run", "--format", "json", "--notation-trust-policy", policy, "--notation-trust-store", store)
		var p report.PolicyPreview
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatalf("dry run under %s: exit %d, %v\n%s%s", policy, code, err, out, errOut)
		}
		return code, p
	}
	if code, p := dry(both); code != ExitOK || p.Pairs != 2 || len(p.Changes) != 0 {
		t.Errorf("dry run under the import's trust policy: exit %d, %+v; want 0, 2 pairs, no change", code, p)
	}
	code, p := dry(narrow)
	if len(p.Changes) != 1 || p.Changes[0].Repository != other || p.Changes[0].Digest != pushed[1].Digest.String() ||
		p.Changes[0].From != "accepted" || p.Changes[0].To != "no-policy" || code != ExitOK {
		t.Errorf("dry run under the narrower trust policy: exit %d, %+v; want 0, other/app's pair alone accepted -> no-policy (no trust policy scope covers it)", code, p)
	}
	if after := catalogState(t, db); !reflect.DeepEqual(before, after) {
		t.Fatalf("the dry runs changed the catalog:\nbefore %v\nafter  %v", before, after)
	}
	// The real run agrees.
	code, out, _ := runCLI(t, "verify", "--db", db, "--notation-trust-policy", narrow, "--notation-trust-store", store)
	if code != ExitOK || !strings.Contains(out, "no-policy   "+other+"@"+pushed[1].Digest.String()+" (changed)") ||
		!strings.Contains(out, "accepted    "+team+"@"+pushed[0].Digest.String()) {
		t.Errorf("verify under the narrower trust policy: exit %d\n%s", code, out)
	}
}

// Pairs imported without signatures were never evaluated: the dry run
// shows them as none -> the policy's verdict, and -q leaves the pair
// lines out but keeps the totals.
func TestVerifyDryRunOfPairsNeverEvaluated(t *testing.T) {
	reg := startRegistry(t)
	db := dbtest.New(t)
	if code, out, errOut := runCLI(t, "import", "--db", db, "--tls-verify=false", "--progress", "never", "--no-signatures", reg.Host()+"/team/app:v0"); code != ExitOK {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	policy := filepath.Join(t.TempDir(), "policy.json")
	writePolicy(t, policy, `{"default":[{"type":"insecureAcceptAnything"}]}`)
	code, out, _ := runCLI(t, "verify", "--db", db, "--policy", policy, "--dry-run")
	if code != ExitOK || len(dryRunPairs(t, out, "none", "accepted")) != 1 || !strings.Contains(out, "1 of 1 (repository, image) pairs would change") {
		t.Errorf("dry run of a pair never evaluated: exit %d, want 0 and one pair none -> accepted\n%s", code, out)
	}
	code, out, _ = runCLI(t, "verify", "--db", db, "--policy", policy, "--dry-run", "-q")
	if code != ExitOK || strings.Contains(out, "->") || strings.Contains(out, "pair,") || !strings.Contains(out, "1 of 1 (repository, image) pairs would change") {
		t.Errorf("dry run -q: exit %d, want the totals alone\n%s", code, out)
	}
}

// A pair whose signatures could not be fetched stays unevaluated offline:
// the dry run exits 3, as verify would, and lists no change for it.
func TestVerifyDryRunExitsPartialOnUnevaluatedPairs(t *testing.T) {
	reg, s := sharedRegistry(t)
	db := dbtest.New(t)
	ref := reg.Host() + "/" + sigtest.SharedBroken + ":v1"
	if code, out, errOut := runCLI(t, "import", "--db", db, "--tls-verify=false", "--progress", "never", "--policy", s.Policy,
		"--registries.d", s.RegistriesD, ref); code != ExitPartial {
		t.Fatalf("import: exit %d, want 3\n%s%s", code, out, errOut)
	}
	code, out, _ := runCLI(t, "verify", "--db", db, "--policy", s.Policy, "--dry-run")
	if code != ExitPartial || strings.Contains(out, "->") || !strings.Contains(out, "0 accepted, 0 rejected, 1 unevaluated") {
		t.Errorf("dry run of an unevaluated pair: exit %d, want 3 and no change\n%s", code, out)
	}
}
