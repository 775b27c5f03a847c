package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/internal/sigtest"
	"github.com/regimport/regimport/internal/testregistry"
)

// cosignEnv is a registry whose prod/ namespace requires a cosign
// signature (sigstore attachments), as a cluster's policy.json would.
type cosignEnv struct {
	reg           *testregistry.Registry
	key           *sigtest.CosignKey
	policy, regsD string
}

func newCosignEnv(t *testing.T) *cosignEnv {
	t.Helper()
	ctx := context.Background()
	reg, err := testregistry.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	key, err := sigtest.NewCosignKey()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	e := &cosignEnv{reg: reg, key: key, policy: filepath.Join(dir, "policy.json"), regsD: filepath.Join(dir, "registries.d")}
	pub := filepath.Join(dir, "cosign.pub")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(pub, key.PEM, 0o644))
	must(os.WriteFile(e.policy, []byte(fmt.Sprintf(`{"default":[{"type":"reject"}],"transports":{"docker":{%q:
		[{"type":"sigstoreSigned","keyPath":%q,"signedIdentity":{"type":"matchRepository"}}]}}}`, reg.Host()+"/prod", pub)), 0o644))
	must(os.MkdirAll(e.regsD, 0o755))
	must(os.WriteFile(filepath.Join(e.regsD, "default.yaml"), []byte("docker:\n  "+reg.Host()+":\n    use-sigstore-attachments: true\n"), 0o644))
	return e
}

// sign pushes a cosign signature of d in repo, as `cosign sign` (v2) does.
func (e *cosignEnv) sign(t *testing.T, repo string, d digest.Digest) {
	t.Helper()
	payload, sig, err := e.key.Sign(e.reg.Host()+"/"+repo, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.reg.PushRaw(context.Background(), repo, "sha256-"+d.Encoded()+".sig", "application/vnd.oci.image.manifest.v1+json",
		sigtest.AttachmentManifest([][]byte{payload}, []string{sig}), sigtest.AttachmentConfig(), payload); err != nil {
		t.Fatal(err)
	}
}

func (e *cosignEnv) importRef(t *testing.T, db, ref string) (int, string) {
	t.Helper()
	code, out, errOut := runCLI(t, "import", "--db", db, "--tls-verify=false", "--progress", "never",
		"--policy", e.policy, "--registries.d", e.regsD, e.reg.Host()+"/"+ref)
	return code, out + errOut
}

// A tag's pull verdict is what containers/image decides for a node pulling
// it: over a list's platform instances, never the list itself.
func TestPullVerdictsOfLists(t *testing.T) {
	e := newCosignEnv(t)
	ctx := context.Background()
	db := dbtest.New(t)

	// cosign sign on an index without --recursive: no platform pulls.
	idx, err := e.reg.Push(ctx, testregistry.ImageSpec{Repository: "prod/indexonly", Tags: []string{"1"}, Format: testregistry.OCIIndex, Seed: 41})
	if err != nil {
		t.Fatal(err)
	}
	e.sign(t, "prod/indexonly", idx.Digest)
	code, out := e.importRef(t, db, "prod/indexonly:1")
	if code != ExitRejected || !strings.Contains(out, "pull rejected  "+e.reg.Host()+"/prod/indexonly:1") {
		t.Fatalf("index-only signed list: exit %d, want 4 with its pull verdict rejected\n%s", code, out)
	}

	// Only the amd64 instance signed: amd64 nodes pull it, arm64 nodes do not.
	amd, err := e.reg.Push(ctx, testregistry.ImageSpec{Repository: "prod/amdonly", Tags: []string{"1"}, Format: testregistry.OCIIndex, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	e.sign(t, "prod/amdonly", amd.Children[0].Digest)
	code, out = e.importRef(t, db, "prod/amdonly:1")
	if code != ExitRejected || !strings.Contains(out, "pull partial   "+e.reg.Host()+"/prod/amdonly:1: accepted for linux/amd64; rejected for linux/arm64/v8") {
		t.Fatalf("amd64-only signed list: exit %d, want 4 with its pull verdict partial\n%s", code, out)
	}

	// docker buildx build --push, then cosign sign on the index and the
	// image: everything a node pulls is signed; the attestation manifest
	// (unsigned, as BuildKit leaves it) is no image and blocks nothing.
	bk, err := e.reg.PushBuildKitIndex(ctx, testregistry.ImageSpec{Repository: "prod/bk", Tags: []string{"1"}, Seed: 43,
		Platforms: []testregistry.Platform{{Architecture: "amd64", OS: "linux"}}}, testregistry.BuildKitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.sign(t, "prod/bk", bk.Digest)
	e.sign(t, "prod/bk", bk.Children[0].Digest)
	code, out = e.importRef(t, db, "prod/bk:1")
	if code != ExitOK || strings.Contains(out, "rejected    ") || strings.Contains(out, "pull ") {
		t.Fatalf("BuildKit index signed on index and image: exit %d, want 0\n%s", code, out)
	}

	// The report says the same, tag by tag, and the BuildKit image has its provenance.
	code, rep, errOut := runCLI(t, "report", "--db", db, "--format", "json")
	if code != ExitOK {
		t.Fatalf("report: exit %d\n%s", code, errOut)
	}
	var doc struct {
		Inventory []struct {
			Repository, Tag, Digest, Kind string
			PullVerdict                   string `json:"pullVerdict"`
			Platforms                     []string
		} `json:"inventory"`
		Attestations struct {
			Images []struct {
				Digest     string
				Provenance bool
			}
		}
	}
	if err := json.Unmarshal([]byte(rep), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"prod/indexonly": "rejected", "prod/amdonly": "partial", "prod/bk": "accepted"}
	seen := 0
	for _, r := range doc.Inventory {
		if r.Tag != "1" {
			continue
		}
		seen++
		name := strings.TrimPrefix(r.Repository, e.reg.Host()+"/")
		if r.PullVerdict != want[name] {
			t.Errorf("%s:1 pull verdict %q, want %q", name, r.PullVerdict, want[name])
		}
		if name == "prod/bk" && strings.Join(r.Platforms, ",") != "linux/amd64" {
			t.Errorf("BuildKit index platforms %v, want linux/amd64 only", r.Platforms)
		}
	}
	if seen != 3 {
		t.Errorf("%d tagged rows, want 3\n%s", seen, rep)
	}
	// get images -o wide: the index-only signed list reads accepted under
	// SIGNATURE (its own signature verified) and rejected under PULL.
	code, wide, errOut := runCLI(t, "get", "images", "--db", db, "-o", "wide", idx.Digest.String(), amd.Digest.String())
	if code != ExitOK {
		t.Fatalf("get images -o wide: exit %d\n%s", code, errOut)
	}
	lines := strings.Split(wide, "\n")
	if !strings.Contains(lines[0], "SIGNATURE   PULL ") {
		t.Errorf("wide header %q", lines[0])
	}
	for _, want := range []string{idx.Digest.String() + " .* accepted +rejected ", amd.Digest.String() + " .* rejected +partial "} {
		if !regexp.MustCompile(want).MatchString(wide) {
			t.Errorf("get images -o wide: no line matching %q\n%s", want, wide)
		}
	}
	prov := false
	for _, a := range doc.Attestations.Images {
		prov = prov || (a.Digest == bk.Children[0].Digest.String() && a.Provenance)
	}
	if !prov {
		t.Errorf("the BuildKit image has no provenance in the report: %+v", doc.Attestations.Images)
	}
}

// A Helm chart pushed with `helm push` is an artifact: kind artifact with
// its type in the report and on the served Image, no platform, no pull
// verdict, never a reason for exit 4, its signatures (none) still looked up.
func TestHelmChartIsAnArtifact(t *testing.T) {
	e := newCosignEnv(t)
	db := dbtest.New(t)
	config := []byte(`{"name":"app","version":"0.1.0","apiVersion":"v2","description":"A Helm chart","type":"application"}`)
	chart := []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03not really a tarball")
	manifest := fmt.Sprintf(`{"schemaVersion":2,"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":%q,"size":%d},`+
		`"layers":[{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":%q,"size":%d}],`+
		`"annotations":{"org.opencontainers.image.title":"app","org.opencontainers.image.version":"0.1.0"}}`,
		digest.FromBytes(config), len(config), digest.FromBytes(chart), len(chart))
	if err := e.reg.PushRaw(context.Background(), "prod/charts/app", "0.1.0", "application/vnd.oci.image.manifest.v1+json", []byte(manifest), config, chart); err != nil {
		t.Fatal(err)
	}
	d := digest.FromString(manifest)
	code, out := e.importRef(t, db, "prod/charts/app:0.1.0")
	if code != ExitOK || !strings.Contains(out, "0 accepted, 1 rejected") {
		t.Fatalf("unsigned chart under a signature-requiring policy: exit %d, want 0 with its pair rejected\n%s", code, out)
	}
	code, img, errOut := runCLI(t, "get", "images", "--db", db, "-o", "json", d.String())
	if code != ExitOK || !strings.Contains(img, `"regimport.io/artifact-type": "application/vnd.cncf.helm.config.v1+json"`) {
		t.Errorf("served Image lacks its artifact type: exit %d\n%s%s", code, img, errOut)
	}
	code, rep, errOut := runCLI(t, "report", "--db", db, "--format", "json")
	if code != ExitOK {
		t.Fatalf("report: exit %d\n%s", code, errOut)
	}
	var doc struct {
		Inventory []struct {
			Digest, Kind, ArtifactType, PullVerdict, SignatureVerdict, Architecture string
		} `json:"inventory"`
	}
	if err := json.Unmarshal([]byte(rep), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Inventory) != 1 {
		t.Fatalf("inventory %+v, want the chart", doc.Inventory)
	}
	r := doc.Inventory[0]
	if r.Digest != d.String() || r.Kind != "artifact" || r.ArtifactType != "application/vnd.cncf.helm.config.v1+json" ||
		r.PullVerdict != "" || r.SignatureVerdict != "rejected" || r.Architecture != "" {
		t.Errorf("chart row %+v", r)
	}
}
