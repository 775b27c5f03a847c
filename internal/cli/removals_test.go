package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/internal/testregistry"
	"github.com/regimport/regimport/report"
)

// The whole path of a tag deleted upstream, as a cron job and an auditor
// meet it: the next --all-tags run removes it, `regimport serve`'s watch
// sees the image stream that tracks it turn ImportSuccess=False, the report
// lists it as removed and no longer in the inventory, and prune deletes an
// image only when asked.
func TestTagDeletedUpstreamEndToEnd(t *testing.T) {
	reg := startRegistry(t) // team/app: v0, v1, v2
	ctx := context.Background()
	if _, err := reg.Push(ctx, testregistry.ImageSpec{Repository: "team/tools", Tags: []string{"t1"}, Format: testregistry.OCI, Seed: 40}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	db := dbtest.New(t)
	repo := reg.Host() + "/team/app"
	doc := filepath.Join(dir, "mirror.yaml")
	os.WriteFile(doc, []byte(fmt.Sprintf(`apiVersion: image.openshift.io/v1
kind: ImageStreamImport
metadata: {namespace: team, name: app}
spec:
  import: true
  repository:
    from: {kind: DockerImage, name: %s}
    importPolicy: {insecure: true}
`, repo)), 0o644)
	if code, _, errOut := runCLI(t, "import", "-f", doc, "--db", db); code != ExitOK {
		t.Fatalf("import -f: %d %s", code, errOut)
	}
	allTags := []string{"import", "--all-tags", "--tls-verify=false", "--progress", "never", "--db", db, repo, reg.Host() + "/team/tools"}
	if code, out, errOut := runCLI(t, allTags...); code != ExitOK {
		t.Fatalf("first --all-tags run: %d %s %s", code, out, errOut)
	}

	url, _, _ := startServe(t, "--db", db, "--watch-poll-interval", "20ms")
	resp, err := http.Get(url + "/apis/image.openshift.io/v1/namespaces/team/imagestreams?watch=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("watch image streams: %s", resp.Status)
	}
	events := make(chan imagev1.ImageStream, 10)
	go func() {
		dec := json.NewDecoder(resp.Body)
		for {
			var ev struct {
				Type   string
				Object imagev1.ImageStream
			}
			if dec.Decode(&ev) != nil {
				close(events)
				return
			}
			if ev.Type == "MODIFIED" {
				events <- ev.Object
			}
		}
	}()

	for _, tag := range []string{"v1"} {
		if err := reg.DeleteTag(ctx, "team/app", tag); err != nil {
			t.Fatal(err)
		}
	}
	if err := reg.DeleteTag(ctx, "team/tools", "t1"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, allTags...)
	if code != ExitOK || !strings.Contains(out, "0 moved, 2 removed") {
		t.Fatalf("second --all-tags run: %d\n%s%s", code, out, errOut)
	}

	select {
	case is, ok := <-events:
		if !ok {
			t.Fatal("the watch ended")
		}
		var cond *imagev1.TagEventCondition
		for _, st := range is.Status.Tags {
			if st.Tag == "v1" && len(st.Conditions) == 1 {
				cond = &st.Conditions[0]
			}
		}
		if cond == nil || cond.Type != imagev1.ImportSuccess || cond.Status != "False" || cond.Reason != "NotFound" {
			t.Errorf("the watch saw %+v, want v1 ImportSuccess=False NotFound", is.Status.Tags)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watch on image streams saw no change after the tag was removed")
	}

	code, out, errOut = runCLI(t, "report", "--db", db, "--format", "json")
	if code != ExitOK {
		t.Fatalf("report: %d %s", code, errOut)
	}
	var d report.Document
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	removed := map[string]bool{}
	for _, c := range d.TagChanges {
		if c.Change == "removed" {
			removed[c.Repository+":"+c.Tag] = true
		}
	}
	if !removed[repo+":v1"] || !removed[reg.Host()+"/team/tools:t1"] || len(removed) != 2 {
		t.Errorf("changes list removed %v", removed)
	}
	for _, row := range d.Inventory {
		if row.Repository == repo && row.Tag == "v1" {
			t.Errorf("the removed tag is still in the inventory: %+v", row)
		}
	}
	// t1's image is referenced by nothing now; v1's still by the image stream's history.
	if len(d.UnreferencedImages) != 1 || !strings.HasPrefix(d.UnreferencedImages[0].DockerImageReference, reg.Host()+"/team/tools@") {
		t.Fatalf("unreferenced images %+v", d.UnreferencedImages)
	}
	gone := d.UnreferencedImages[0].Digest

	// prune: a dry run and too long a wait delete nothing; the lock is taken.
	if code, out, _ := runCLI(t, "prune", "--db", db, "--unreferenced-for", "0s", "--dry-run"); code != ExitOK || !strings.Contains(out, "would delete "+gone) {
		t.Errorf("prune --dry-run: %d %s", code, out)
	}
	if code, out, _ := runCLI(t, "prune", "--db", db, "--unreferenced-for", "30d"); code != ExitOK || !strings.Contains(out, "deleted 0 images") {
		t.Errorf("prune 30d: %d %s", code, out)
	}
	lock, err := catalogdb.LockRuns(db, "test", catalog.Shard{})
	if err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "prune", "--db", db, "--unreferenced-for", "0s"); code != ExitLocked {
		t.Errorf("prune on a locked catalog: %d %s", code, errOut)
	}
	lock.Unlock()
	if code, out, errOut := runCLI(t, "prune", "--db", db, "--unreferenced-for", "0s"); code != ExitOK || !strings.Contains(out, "deleted 1 images") {
		t.Fatalf("prune: %d %s %s", code, out, errOut)
	}
	if code, _, _ := runCLI(t, "get", "images", "--db", db, gone); code == ExitOK {
		t.Errorf("the pruned image is still served by get")
	}
	if code, _, errOut := runCLI(t, "prune", "--db", db); code != ExitUsage || !strings.Contains(errOut, "--unreferenced-for") {
		t.Errorf("prune without a duration: %d %s", code, errOut)
	}
}

// A mirroring job's configuration: per-source tag filters as the flags
// have them, and tlsVerify per registry, so one plain-HTTP lab registry
// does not make every registry insecure.
func TestConfigSourceFiltersAndPerRegistryTLSVerify(t *testing.T) {
	reg := startRegistry(t) // team/app: v0, v1, v2 (plain HTTP)
	dir := t.TempDir()
	write := func(name, registries, global string) string {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(fmt.Sprintf(`apiVersion: regimport.io/v1
kind: Config
catalog: %[1]s.db
%[3]s
registries:
  - host: %[2]s
%[4]s
sources:
  - repository: %[2]s/team/app
    tags: {include: '^v[12]$', maxTags: 5}
`, name, reg.Host(), global, registries)), 0o644)
		return path
	}
	lab := write("lab.yaml", "    tlsVerify: false", "")
	code, out, errOut := runCLI(t, "import", "--config", lab, "--progress", "never")
	if code != ExitOK || !strings.Contains(out, "tags: 2 new") {
		t.Fatalf("per-registry tlsVerify false, include ^v[12]$: %d\n%s%s", code, out, errOut)
	}
	cat, err := catalogdb.Open(context.Background(), filepath.Join(dir, "lab.yaml.db"), catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	tags, _ := cat.CurrentTags(context.Background(), reg.Host()+"/team/app")
	cat.Close()
	if len(tags) != 2 || tags["v1"] == "" || tags["v2"] == "" {
		t.Errorf("imported tags %v, want v1 and v2", tags)
	}
	// Without it the plain-HTTP registry is refused, and a registry's
	// tlsVerify: true wins over the global false.
	for name, cfg := range map[string]string{
		"secure.yaml":   write("secure.yaml", "    concurrency: 2", ""),
		"override.yaml": write("override.yaml", "    tlsVerify: true", "tlsVerify: false"),
	} {
		code, out, errOut := runCLI(t, "import", "--config", cfg, "--progress", "never")
		if code != ExitPartial || !strings.Contains(out+errOut, "only over plain HTTP") {
			t.Errorf("%s: %d\n%s%s", name, code, out, errOut)
		}
	}
}
