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

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/catalogdb"
	"github.com/regimport/regimport/internal/dbtest"
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
