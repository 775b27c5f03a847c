package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regimport/regimport/catalog/catalogdb"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/internal/testregistry"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

const examples = "../../testdata/imagestreamimports"

// runCLIWithInput is runCLI with stdin.
func runCLIWithInput(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), args, Streams{In: strings.NewReader(stdin), Out: &out, Err: &errOut})
	return code, out.String(), errOut.String()
}

// appRegistry starts a registry whose team/app has the tags, each a
// schema2 image of its own (seeds 1, 2, ... in order).
func appRegistry(t *testing.T, tags ...string) *testregistry.Registry {
	t.Helper()
	ctx := context.Background()
	reg, err := testregistry.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	for i, tag := range tags {
		if _, err := reg.Push(ctx, testregistry.ImageSpec{Repository: "team/app", Tags: []string{tag}, Format: testregistry.Schema2, Seed: int64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

// splitYAMLOutput reads the documents written back.
func splitYAMLOutput(t *testing.T, out string) []imagev1.ImageStreamImport {
	t.Helper()
	var isis []imagev1.ImageStreamImport
	for _, doc := range strings.Split(out, "\n---\n") {
		var isi imagev1.ImageStreamImport
		if err := yaml.UnmarshalStrict([]byte(doc), &isi); err != nil {
			t.Fatalf("output is not ImageStreamImport YAML: %v\n%s", err, doc)
		}
		isis = append(isis, isi)
	}
	return isis
}

// withRegistry points the examples at a test registry.
func withRegistry(t *testing.T, reg *testregistry.Registry, files ...string) string {
	t.Helper()
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(examples, f))
		if err != nil {
			t.Fatal(err)
		}
		if b.Len() > 0 {
			b.WriteString("\n---\n")
		}
		b.WriteString(strings.ReplaceAll(string(data), "registry.example.com", reg.Host()))
	}
	return b.String()
}

func TestImportSpecExamplesLoadAndValidate(t *testing.T) {
	docs, errs := loadSpecs([]string{examples}, nil)
	if len(errs) > 0 {
		t.Fatalf("examples do not load: %v", errs)
	}
	var names []string
	for _, d := range docs {
		names = append(names, d.isi.Namespace+"/"+d.isi.Name)
	}
	// Sorted files, documents in file order, List items in list order.
	if got := strings.Join(names, " "); got != "team/app team/multi team/pinned team/releases mirror/tools" {
		t.Errorf("documents %s", got)
	}
}

func TestImportSpecExamplesImport(t *testing.T) {
	ctx := context.Background()
	reg, err := testregistry.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	push := func(spec testregistry.ImageSpec) {
		if _, err := reg.Push(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	push(testregistry.ImageSpec{Repository: "team/app", Tags: []string{"v1", "latest"}, Format: testregistry.Schema2, Seed: 1})
	push(testregistry.ImageSpec{Repository: "team/multi", Tags: []string{"v1"}, Format: testregistry.OCIIndex, Seed: 2})
	for i, tag := range []string{"latest", "v1.0", "v1.1-rc1", "v1.1", "2.0", "nightly"} {
		push(testregistry.ImageSpec{Repository: "mirror/tools", Tags: []string{tag}, Format: testregistry.DockerList, Seed: int64(10 + i)})
	}
	db := dbtest.New(t)
	input := withRegistry(t, reg, "app-tags.yaml", "mirror-repository.yaml")
	code, out, errOut := runCLIWithInput(t, input, "import", "--db", db, "--tls-verify=false", "-f", "-")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, errOut, out)
	}
	isis := splitYAMLOutput(t, out)
	if len(isis) != 3 || isis[0].Name != "app" || isis[1].Name != "multi" || isis[2].Name != "tools" {
		t.Fatalf("%d documents back", len(isis))
	}
	app := isis[0]
	if app.Status.Import == nil || len(app.Status.Images) != 3 || app.UID == "" {
		t.Fatalf("app status: %+v", app.Status)
	}
	// includeManifest on an image the import created: OpenShift returns the
	// Image as stored, and PrepareImageForCreate cleared the raw content.
	if app.Status.Images[1].Image.DockerImageManifest != "" || app.Status.Images[0].Image.DockerImageManifest != "" {
		t.Error("a created Image carries its raw manifest in the status")
	}
	var refPolicy imagev1.TagReferencePolicyType
	for _, tag := range app.Status.Import.Spec.Tags {
		if tag.Name == "latest" {
			refPolicy = tag.ReferencePolicy.Type
		}
	}
	if refPolicy != imagev1.LocalTagReferencePolicy {
		t.Errorf("referencePolicy of latest: %q", refPolicy)
	}
	if multi := isis[1]; multi.Status.Import != nil || len(multi.Status.Images[0].Manifests) != 2 {
		t.Errorf("preview of a list: %+v", multi.Status)
	}
	rs := isis[2].Status.Repository
	var tags []string
	for _, st := range rs.Images {
		tags = append(tags, st.Tag)
		if st.Image == nil || st.Image.DockerImageMetadata.Raw == nil {
			t.Errorf("%s: no image", st.Tag)
		}
	}
	if strings.Join(tags, " ") != "latest 2.0 v1.1" || strings.Join(rs.AdditionalTags, " ") != "v1.0" {
		t.Errorf("repository tags %v + %v", tags, rs.AdditionalTags)
	}

	cat, err := catalogdb.Open(ctx, db, catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	streams, _, _, err := cat.ListImageStreams(ctx, "", "", 0)
	if err != nil || len(streams) != 2 {
		t.Fatalf("catalog streams: %d, %v", len(streams), err)
	}
	if _, err := cat.GetImageStream(ctx, "team", "multi"); err == nil {
		t.Error("the preview's stream was stored")
	}
}

// hashFile is the catalog as bytes, for a byte-identical comparison.
func hashFile(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestImportSpecPreviewLeavesTheCatalogByteIdentical(t *testing.T) {
	dbtest.SQLiteOnly(t, "compares the catalog file's bytes (TestImportSpecPreviewOnAnEmptyPostgres is its PostgreSQL side)")
	reg := appRegistry(t, "v1", "v2")
	db := dbtest.New(t)
	doc := func(doImport bool, tag string) string {
		return `apiVersion: image.openshift.io/v1
kind: ImageStreamImport
metadata: {namespace: team, name: app}
spec:
  import: ` + map[bool]string{true: "true", false: "false"}[doImport] + `
  images:
  - from: {kind: DockerImage, name: ` + reg.Host() + `/team/app:` + tag + `}
`
	}
	// A preview with no catalog file creates none.
	if code, _, errOut := runCLIWithInput(t, doc(false, "v1"), "import", "--db", db, "--tls-verify=false", "-f", "-"); code != ExitOK {
		t.Fatalf("preview without a catalog: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Fatalf("a preview created the catalog: %v", err)
	}
	if code, _, errOut := runCLIWithInput(t, doc(true, "v1"), "import", "--db", db, "--tls-verify=false", "-f", "-"); code != ExitOK {
		t.Fatalf("import: exit %d: %s", code, errOut)
	}
	before := hashFile(t, db)
	code, out, errOut := runCLIWithInput(t, doc(false, "v2"), "import", "--db", db, "--tls-verify=false", "-f", "-", "-o", "json")
	if code != ExitOK {
		t.Fatalf("preview: exit %d: %s", code, errOut)
	}
	if after := hashFile(t, db); after != before {
		t.Error("a preview changed the catalog file")
	}
	var list struct {
		metav1.TypeMeta
		Items []imagev1.ImageStreamImport `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || list.Kind != "List" || len(list.Items) != 1 {
		t.Fatalf("-o json: %v %s", err, out)
	}
	if st := list.Items[0].Status.Images[0]; st.Status.Status != metav1.StatusSuccess || st.Tag != "v2" || list.Items[0].Status.Import != nil {
		t.Errorf("preview status: %+v", st)
	}
}

// A preview against an empty PostgreSQL database works on a scratch
// catalog, as with a missing file, and creates no tables there.
func TestImportSpecPreviewOnAnEmptyPostgres(t *testing.T) {
	ctx := context.Background()
	reg := appRegistry(t, "v1")
	db := dbtest.NewPostgres(t)
	doc := `apiVersion: image.openshift.io/v1
kind: ImageStreamImport
metadata: {namespace: team, name: app}
spec:
  import: false
  images:
  - from: {kind: DockerImage, name: ` + reg.Host() + `/team/app:v1}
`
	if code, _, errOut := runCLIWithInput(t, doc, "import", "--db", db, "--tls-verify=false", "-f", "-"); code != ExitOK {
		t.Fatalf("preview on an empty database: exit %d: %s", code, errOut)
	}
	if _, err := catalogdb.Open(ctx, db, catalog.Options{ReadOnly: true}); !errors.Is(err, catalog.ErrNotCatalog) {
		t.Errorf("after a preview the database is not empty: %v", err)
	}
}

func TestImportSpecPartialFailureAndFilterFlags(t *testing.T) {
	reg := appRegistry(t, "1.0", "1.1", "2.0", "dev")
	db := dbtest.New(t)
	input := `apiVersion: image.openshift.io/v1
kind: ImageStreamImport
metadata: {namespace: team, name: app}
spec:
  import: true
  images:
  - from: {kind: DockerImage, name: ` + reg.Host() + `/team/app:missing}
  repository:
    from: {kind: DockerImage, name: ` + reg.Host() + `/team/app}
`
	code, out, errOut := runCLIWithInput(t, input, "import", "--db", db, "--tls-verify=false", "--semver", "^1", "--max-tags", "1", "-f", "-")
	if code != ExitPartial || !strings.Contains(errOut, "NotFound") {
		t.Fatalf("exit %d, want %d\n%s", code, ExitPartial, errOut)
	}
	isi := splitYAMLOutput(t, out)[0]
	if rs := isi.Status.Repository; len(rs.Images) != 1 || rs.Images[0].Tag != "1.1" || strings.Join(rs.AdditionalTags, " ") != "1.0" {
		t.Errorf("--semver ^1 --max-tags 1: %+v", rs)
	}

	// The same flags filter --all-tags imports.
	db2 := dbtest.New(t)
	code, out, errOut = runCLI(t, "import", "--db", db2, "--tls-verify=false", "--exclude", "^dev$", "--newest", "2", "--all-tags", reg.Host()+"/team/app")
	if code != ExitOK || !strings.Contains(out, "2 imported") {
		t.Errorf("--all-tags with filters: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "import", "--db", db2, "--semver", "not a range", "--all-tags", reg.Host()+"/team/app"); code != ExitUsage || !strings.Contains(errOut, "--semver") {
		t.Errorf("bad --semver: exit %d %s", code, errOut)
	}
}

// Every file under invalid/ is refused with the messages its "# want:"
// lines (or its .want file) name, exit 2, and no catalog.
func TestImportSpecBadInput(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(examples, "invalid", "*.*"))
	if err != nil || len(files) == 0 {
		t.Fatal("no invalid examples", err)
	}
	for _, file := range files {
		if strings.HasSuffix(file, ".want") {
			continue
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, _ := os.ReadFile(file)
			var wants []string
			for _, l := range strings.Split(string(data), "\n") {
				if w, ok := strings.CutPrefix(l, "# want: "); ok {
					wants = append(wants, w)
				}
			}
			if side, err := os.ReadFile(file + ".want"); err == nil {
				wants = append(wants, strings.Split(strings.TrimSpace(string(side)), "\n")...)
			}
			if len(wants) == 0 {
				t.Fatal("no # want: line")
			}
			db := dbtest.New(t)
			code, out, errOut := runCLI(t, "import", "--db", db, "-f", file)
			if code != ExitUsage || out != "" {
				t.Errorf("exit %d, want %d; stdout %q", code, ExitUsage, out)
			}
			for _, w := range wants {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if _, err := os.Stat(db); !os.IsNotExist(err) {
				t.Errorf("bad input created the catalog")
			}
		})
	}
	// Flags that do not go with -f.
	for _, args := range [][]string{
		{"-f", filepath.Join(examples, "app-tags.yaml"), "r.example.com/a:1"},
		{"-f", filepath.Join(examples, "app-tags.yaml"), "-o", "xml"},
		{"-f", filepath.Join(examples, "nope.yaml")},
		{"-f", filepath.Join(examples, "app-tags.yaml"), "--include", "("},
	} {
		if code, _, errOut := runCLI(t, append([]string{"import", "--db", dbtest.New(t)}, args...)...); code != ExitUsage {
			t.Errorf("%v: exit %d (%s)", args, code, errOut)
		}
	}
}
