package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/internal/refsigtest"
	"github.com/regimport/regimport/internal/testregistry"
	"github.com/regimport/regimport/report"
)

// refuse answers 403 DENIED (a quota) to every write under one repository
// while on is set, as a registry refusing a push does.
func refuse(repo string, on *atomic.Bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if on.Load() && r.Method != http.MethodGet && r.Method != http.MethodHead && strings.HasPrefix(r.URL.Path, "/v2/"+repo+"/") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				w.Write([]byte(`{"errors":[{"code":"DENIED","message":"storage quota exceeded for mirror/sig/bare"}]}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func mirrorReport(t *testing.T, db string) []report.MirrorDestination {
	t.Helper()
	code, out, errOut := runReportCmd(t, "--db", db, "--format", "json")
	if code != ExitOK {
		t.Fatalf("report: exit %d\n%s", code, errOut)
	}
	var d report.Document
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	return d.Mirrors
}

// A destination refusing one repository's push fails that tag with the
// registry's reason while the others are copied (exit 3); once it accepts,
// the next apply copies only what is missing. A tag that moves upstream
// after the plan is copied at the planned digest, and the report then says
// the destination is behind on it. --dry-run writes nothing; --prune
// deletes only the tag whose removal the catalog recorded.
func TestMirrorApplyFaults(t *testing.T) {
	e := newMirrorEnv(t)
	ctx := context.Background()
	var denied atomic.Bool
	denied.Store(true)
	// A second destination, refusing writes to mirror/sig/bare.
	dst, err := testregistry.Start(ctx, testregistry.WithMiddleware(e.dstCount.middleware), testregistry.WithMiddleware(refuse("mirror/sig/bare", &denied)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dst.Close)
	e.dst = dst
	writeFile(t, filepath.Join(e.regd, "dst2.yaml"), "docker:\n  "+dst.Host()+":\n    lookaside: file://"+e.dstLookaside+"\n    use-sigstore-attachments: true\n")

	// Plan now, keep it, then move v1 upstream and import the move.
	planFile := filepath.Join(e.dir, "plan.json")
	if code, _, errOut := runCLI(t, "mirror", "plan", "--db", e.db, "--to", dst.Host()+"/mirror", "--format", "json", "-o", planFile); code != ExitOK {
		t.Fatalf("plan: exit %d %s", code, errOut)
	}
	moved, err := e.src.Push(ctx, testregistry.ImageSpec{Repository: "sig/app", Tags: []string{"v1"}, Format: testregistry.OCI, Seed: 601})
	if err != nil {
		t.Fatal(err)
	}
	e.importAll(t)

	// Dry run: HEADs only.
	e.dstCount.reset()
	code, out, errOut := e.apply(t, "--plan", planFile, "--dry-run")
	if n, all := e.dstCount.writes(); code != ExitOK || n != 0 || !strings.Contains(out, "3 would be copied") {
		t.Fatalf("dry run: exit %d, %d writes (%v)\n%s\n%s", code, n, all, out, errOut)
	}

	code, out, errOut = e.apply(t, "--plan", planFile)
	if code != ExitPartial || !strings.Contains(out, "2 copied, 0 already present, 1 failed") ||
		!strings.Contains(out, "failed    "+e.src.Host()+"/sig/bare@") || !strings.Contains(out, "storage quota exceeded") {
		t.Fatalf("apply to a refusing destination: exit %d\n%s\n%s", code, out, errOut)
	}
	if d := headDigest(t, dst, "mirror/sig/app", "v1"); d != e.app.Digest.String() {
		t.Fatalf("v1 at the destination is %s: want the planned %s, not the newer %s", d, e.app.Digest, moved.Digest)
	}

	// The refusal is lifted: the next apply copies only sig/bare.
	denied.Store(false)
	code, out, errOut = e.apply(t, "--plan", planFile)
	if code != ExitOK || !strings.Contains(out, "1 copied, 2 already present, 0 failed") {
		t.Fatalf("resumed apply: exit %d\n%s\n%s", code, out, errOut)
	}
	if d := headDigest(t, dst, "mirror/sig/bare", "v1"); d != e.bare.Digest.String() {
		t.Fatalf("sig/bare:v1 at the destination: %q", d)
	}

	// The report: v1 moved upstream after the copy, so the destination is
	// behind on it; the other two are in sync.
	ms := mirrorReport(t, e.db)
	if len(ms) != 1 || ms[0].Destination != dst.Host()+"/mirror" || ms[0].InSync != 2 || len(ms[0].Behind) != 1 ||
		ms[0].Behind[0].Tag != "v1" || ms[0].Behind[0].Image != moved.Digest.String() || ms[0].Behind[0].Mirrored != e.app.Digest.String() {
		t.Fatalf("report mirrors: %+v", ms)
	}
	if code, out, _ := runReportCmd(t, "--db", e.db, "--format", "csv", "--table", "mirror-lag"); code != ExitOK || !strings.Contains(out, "moved upstream since the last copy") {
		t.Fatalf("mirror-lag table: exit %d\n%s", code, out)
	}
	if code, out, _ := runReportCmd(t, "--db", e.db, "--format", "html"); code != ExitOK || !strings.Contains(out, `<table id="mirror-lag"`) ||
		!strings.Contains(out, "<td>behind<td>"+e.src.Host()+"/sig/app<td>v1<td class=\"d\">"+moved.Digest.String()) {
		t.Fatalf("html report has no mirror section: exit %d", code)
	}

	// sig/bare:v1 is removed upstream (v2 comes instead); the next
	// import's complete tag list records it. Without --prune nothing is
	// deleted, and what changed upstream (app:v1, bare:v2) is copied.
	if _, err := e.src.Push(ctx, testregistry.ImageSpec{Repository: "sig/bare", Tags: []string{"v2"}, Format: testregistry.Schema2, Seed: 602}); err != nil {
		t.Fatal(err)
	}
	if err := e.src.DeleteTag(ctx, "sig/bare", "v1"); err != nil {
		t.Fatal(err)
	}
	e.importAll(t)
	code, out, errOut = e.apply(t)
	if code != ExitOK || !strings.Contains(out, "2 copied, 1 already present, 0 failed, 0 deleted") || headDigest(t, dst, "mirror/sig/bare", "v1") == "" ||
		headDigest(t, dst, "mirror/sig/app", "v1") != moved.Digest.String() {
		t.Fatalf("apply without --prune deleted or failed: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = e.apply(t, "--prune")
	if code != ExitOK || !strings.Contains(out, "will delete "+dst.Host()+"/mirror/sig/bare:v1 if it still points at "+e.bare.Digest.String()) ||
		!strings.Contains(out, "0 copied, 3 already present, 0 failed, 1 deleted") {
		t.Fatalf("apply --prune: exit %d\n%s\n%s", code, out, errOut)
	}
	if headDigest(t, dst, "mirror/sig/bare", "v1") != "" {
		t.Fatal("the removed tag is still at the destination")
	}
	if headDigest(t, dst, "mirror/sig/app", "multi") == "" || headDigest(t, dst, "mirror/sig/bare", "v2") == "" {
		t.Fatal("prune deleted a tag that was not removed upstream")
	}
	if ms := mirrorReport(t, e.db); len(ms) != 1 || ms[0].InSync != 3 || len(ms[0].Behind) != 0 {
		t.Fatalf("report after catching up: %+v", ms)
	}
}

// A source in the cron configuration names a mirror destination: one
// `import --config` imports, then mirrors what that run changed in the
// source's repositories, holding back what the policy rejected.
func TestImportConfigMirrors(t *testing.T) {
	e := newMirrorEnv(t)
	cfg := filepath.Join(e.dir, "job.yaml")
	writeFile(t, cfg, `apiVersion: regimport.io/v1
kind: Config
policy: `+e.policy+`
registriesD: `+e.regd+`
tlsVerify: false
sources:
  - repository: `+e.src.Host()+`/sig/app
    mirror:
      - to: `+e.dst.Host()+`/cron
      - to: `+e.dst.Host()+`/signed-only
        requireAccepted: true
  - repository: `+e.src.Host()+`/sig/bare
    mirror:
      - to: `+e.dst.Host()+`/cron
`)
	// The environment's import already ran: push a new, unsigned tag, so
	// this run has something to mirror, and check that only it is copied,
	// and only where unsigned tags may go. The import's own exit code (4:
	// the policy rejected v9) stands.
	fresh, err := e.src.Push(context.Background(), testregistry.ImageSpec{Repository: "sig/app", Tags: []string{"v9"}, Format: testregistry.OCI, Seed: 701})
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "import", "--config", cfg, "--db", e.db, "--progress", "never")
	if code != ExitRejected || !strings.Contains(out, "to "+e.dst.Host()+"/cron: 1 copied, 0 already present, 0 failed") ||
		!strings.Contains(out, "to "+e.dst.Host()+"/signed-only: 0 copied, 0 already present, 0 failed, 0 deleted, 1 held back") {
		t.Fatalf("import --config with a mirror: exit %d\n%s\n%s", code, out, errOut)
	}
	if d := headDigest(t, e.dst, "cron/sig/app", "v9"); d != fresh.Digest.String() {
		t.Fatalf("v9 at the destination: %q", d)
	}
	if headDigest(t, e.dst, "cron/sig/app", "v1") != "" || headDigest(t, e.dst, "signed-only/sig/app", "v9") != "" {
		t.Fatal("a tag the run did not change, or a held-back one, was mirrored")
	}
}

// An apply interrupted while copying exits 130 with what it copied
// recorded; the next apply copies only what is missing.
func TestMirrorApplyInterruptedResumes(t *testing.T) {
	e := newMirrorEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The destination cancels the run when the list's first manifest
	// arrives, so v1 (one at a time: --concurrency 1, in tag order) is
	// copied before and the rest is not.
	dst, err := testregistry.Start(context.Background(), testregistry.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/mirror/sig/bare/") {
				cancel()
			}
			next.ServeHTTP(w, r)
		})
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dst.Close)
	e.dst = dst
	writeFile(t, filepath.Join(e.regd, "dst2.yaml"), "docker:\n  "+dst.Host()+":\n    lookaside: file://"+e.dstLookaside+"\n    use-sigstore-attachments: true\n")
	args := []string{"mirror", "apply", "--db", e.db, "--tls-verify=false", "--registries.d", e.regd, "--to", dst.Host() + "/mirror",
		"--progress", "never", "--concurrency", "1"}
	var out, errOut strings.Builder
	code := Main(ctx, args, Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
	if code != ExitInterrupted || headDigest(t, dst, "mirror/sig/bare", "v1") != "" {
		t.Fatalf("interrupted apply: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	copied := 0
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "copied ") {
			copied++
		}
	}
	if copied == 0 || copied == 3 || !strings.Contains(out.String(), fmt.Sprintf("%d copied", copied)) {
		t.Fatalf("want some but not all copied before the interrupt:\n%s", out.String())
	}
	code2, out2, errOut2 := e.apply(t)
	want := fmt.Sprintf("%d copied, %d already present, 0 failed", 3-copied, copied)
	if code2 != ExitOK || !strings.Contains(out2, want) || headDigest(t, dst, "mirror/sig/bare", "v1") != e.bare.Digest.String() {
		t.Fatalf("resumed apply: exit %d, want %q\n%s\n%s", code2, want, out2, errOut2)
	}
}

// Referrers found through a source's referrers API are copied by digest
// and, at a destination without the API, listed in the referrers tag
// schema's index, so a client there finds them.
func TestMirrorReferrersFromTheAPI(t *testing.T) {
	ctx := context.Background()
	src, err := testregistry.Start(ctx, testregistry.WithMiddleware(testregistry.ReferrersAPI()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	dst, err := testregistry.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dst.Close)
	p, err := src.Push(ctx, testregistry.ImageSpec{Repository: "team/app", Tags: []string{"v1"}, Format: testregistry.OCI, Seed: 801})
	if err != nil {
		t.Fatal(err)
	}
	key, err := refsigtest.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := key.SignDSSE(refsigtest.Statement(src.Host()+"/team/app", p.Digest, refsigtest.CosignSignPredicate, nil))
	if err != nil {
		t.Fatal(err)
	}
	m, blobs := refsigtest.BundleManifest(imgspecv1.Descriptor{MediaType: p.MediaType, Digest: p.Digest, Size: int64(len(p.Manifest))}, b, refsigtest.CosignSignPredicate)
	ref, err := src.PushReferrer(ctx, "team/app", p.Digest, m, false, blobs...)
	if err != nil {
		t.Fatal(err)
	}
	db := dbtest.New(t)
	if code, out, errOut := runCLI(t, "import", "--db", db, "--tls-verify=false", src.Host()+"/team/app:v1"); code != ExitOK {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, "mirror", "apply", "--db", db, "--tls-verify=false", "--to", dst.Host(), "--progress", "never")
	if code != ExitOK || !strings.Contains(out, "(+1 referrers)") {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	if headDigest(t, dst, "team/app", ref.String()) != ref.String() {
		t.Fatal("the referrer was not copied")
	}
	resp, err := http.Get(dst.URL() + "/v2/team/app/manifests/" + "sha256-" + p.Digest.Encoded())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var idx imgspecv1.Index
	if err := json.NewDecoder(resp.Body).Decode(&idx); err != nil || len(idx.Manifests) != 1 || idx.Manifests[0].Digest != ref ||
		idx.Manifests[0].ArtifactType != refsigtest.BundleMediaType {
		t.Fatalf("referrers tag index at the destination: %v %+v", err, idx)
	}
}
