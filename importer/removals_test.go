package importer_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/importer/streamimport"
	"github.com/regimport/regimport/internal/testregistry"
	"github.com/regimport/regimport/registry"
	"go.podman.io/image/v5/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// tagsOf returns a repository's current tags in the catalog, sorted.
func (e *env) tagsOf(t *testing.T, repo string) []string {
	t.Helper()
	cur, err := e.cat.CurrentTags(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for tag := range cur {
		out = append(out, tag)
	}
	sort.Strings(out)
	return out
}

func (e *env) deleteTag(t *testing.T, repo, tag string) {
	t.Helper()
	if err := e.reg.DeleteTag(context.Background(), repo, tag); err != nil {
		t.Fatal(err)
	}
}

func (e *env) pushTags(t *testing.T, repo string, tags ...string) map[string]testregistry.Pushed {
	t.Helper()
	out := map[string]testregistry.Pushed{}
	for i, tag := range tags {
		out[tag] = e.push(t, testregistry.ImageSpec{Repository: repo, Tags: []string{tag}, Format: testregistry.OCI, Seed: int64(100 + i)})
	}
	return out
}

// runWith runs an import with its own tag filter over the same catalog and registry.
func (e *env) runWith(t *testing.T, f importer.TagFilter, req importer.Request) importer.Summary {
	t.Helper()
	imp, err := importer.New(importer.Options{Catalog: e.cat, Registry: newClient(), Concurrency: 4, TagFilter: f})
	if err != nil {
		t.Fatal(err)
	}
	s, err := imp.Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func joined(s []string) string { return strings.Join(s, ",") }

// Done when: after the next --all-tags run, a tag deleted upstream is gone
// from the current tags (the inventory reads them) and its image stays.
func TestAllTagsRunRemovesTagDeletedUpstream(t *testing.T) {
	e := newEnv(t)
	pushed := e.pushTags(t, "team/app", "v1", "v2")
	repo := e.reg.Host() + "/team/app"
	req := importer.Request{References: []string{repo}, AllTags: true}
	if s := e.run(t, req); s.TagsCreated != 2 || s.TagsRemoved != 0 {
		t.Fatalf("first run: %+v", s)
	}
	e.deleteTag(t, "team/app", "v1")
	s := e.run(t, req)
	if s.TagsRemoved != 1 || len(s.Failures) != 0 {
		t.Fatalf("second run removed %d tags, failures %v; want 1 removed, none failed", s.TagsRemoved, s.Failures)
	}
	if got := e.tagsOf(t, repo); joined(got) != "v2" {
		t.Errorf("current tags %v, want v2", got)
	}
	if ok, _ := e.cat.HasImage(context.Background(), pushed["v1"].Digest.String()); !ok {
		t.Error("the image of the removed tag was deleted")
	}
	// The same run again removes nothing more.
	if s := e.run(t, req); s.TagsRemoved != 0 {
		t.Errorf("third run removed %d", s.TagsRemoved)
	}
	// The tag comes back: added, not moved.
	e.pushTags(t, "team/app", "v1")
	if s := e.run(t, req); s.TagsCreated != 1 || s.TagsMoved != 0 {
		t.Errorf("returning tag: %d created, %d moved; want 1 created", s.TagsCreated, s.TagsMoved)
	}
	if got := e.tagsOf(t, repo); joined(got) != "v1,v2" {
		t.Errorf("current tags %v after the tag came back", got)
	}
}

// failingTagList answers the tag list of a repository as a registry with a
// fault would, once armed. A real registry cannot be made to fail this way.
type failingTagList struct {
	armed atomic.Bool
	mode  string
}

func (f *failingTagList) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !f.armed.Load() || !strings.HasSuffix(r.URL.Path, "/tags/list") {
			next.ServeHTTP(w, r)
			return
		}
		switch f.mode {
		case "5xx":
			http.Error(w, `{"errors":[{"code":"UNKNOWN","message":"storage down"}]}`, http.StatusServiceUnavailable)
		case "401":
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
		case "truncated":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"name":"team/app","tags":["v2"`)) // the body ends mid-list
		case "truncated-length":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "100")
			w.Write([]byte(`{"name":"team/app","tags":["v2"]}`)) // shorter than announced
		case "empty":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"name":"team/app","tags":[]}`)) // a token without list rights
		case "bad-next-page":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Link", `<http://`+r.Host+`/v2/team/app/tags/list?last=v2&n=1000&fail=1>; rel="next"`)
			if r.URL.Query().Get("fail") != "" {
				http.Error(w, "gone", http.StatusBadGateway)
				return
			}
			w.Write([]byte(`{"name":"team/app","tags":["v2"]}`))
		}
	})
}

// Bad input: a tag list answered with 5xx, 401 or a truncated body fails
// the repository and removes nothing.
func TestFailedTagListRemovesNothing(t *testing.T) {
	for _, mode := range []string{"5xx", "401", "truncated", "truncated-length", "bad-next-page"} {
		t.Run(mode, func(t *testing.T) {
			f := &failingTagList{mode: mode}
			e := newEnvWith(t, registry.Options{MaxRetries: 1}, testregistry.WithMiddleware(f.middleware))
			e.pushTags(t, "team/app", "v1", "v2")
			repo := e.reg.Host() + "/team/app"
			req := importer.Request{References: []string{repo}, AllTags: true}
			e.run(t, req)
			e.deleteTag(t, "team/app", "v1")
			f.armed.Store(true)
			s := e.run(t, req)
			if s.TagsRemoved != 0 {
				t.Errorf("removed %d tags after a failed listing", s.TagsRemoved)
			}
			if len(s.Failures) == 0 || !strings.Contains(s.Failures[0].Reason, "list tags") {
				t.Errorf("failures %v, want the repository's listing to fail", s.Failures)
			}
			if got := e.tagsOf(t, repo); joined(got) != "v1,v2" {
				t.Errorf("current tags %v, want v1,v2 kept", got)
			}
		})
	}
}

// Bad input: an empty listing where tags existed removes only the tags the
// registry confirms gone with a 404.
func TestEmptyListingRemovesOnlyConfirmedTags(t *testing.T) {
	t.Run("token without list rights", func(t *testing.T) {
		f := &failingTagList{mode: "empty"}
		e := newEnv(t, testregistry.WithMiddleware(f.middleware))
		e.pushTags(t, "team/app", "v1", "v2")
		repo := e.reg.Host() + "/team/app"
		req := importer.Request{References: []string{repo}, AllTags: true}
		e.run(t, req)
		f.armed.Store(true)
		s := e.run(t, req)
		if s.TagsRemoved != 0 || joined(e.tagsOf(t, repo)) != "v1,v2" {
			t.Errorf("an empty listing of tags that still answer removed %d; current %v", s.TagsRemoved, e.tagsOf(t, repo))
		}
		if len(s.Failures) != 1 || !strings.Contains(s.Failures[0].Reason, "not confirmed gone") {
			t.Errorf("failures %v, want one saying the tags were not confirmed gone", s.Failures)
		}
	})
	t.Run("wiped repository", func(t *testing.T) {
		e := newEnv(t)
		e.pushTags(t, "team/app", "v1", "v2")
		repo := e.reg.Host() + "/team/app"
		req := importer.Request{References: []string{repo}, AllTags: true}
		e.run(t, req)
		e.deleteTag(t, "team/app", "v1")
		e.deleteTag(t, "team/app", "v2")
		s := e.run(t, req)
		if s.TagsRemoved != 2 || len(e.tagsOf(t, repo)) != 0 {
			t.Errorf("wiped repository: removed %d, current %v, failures %v", s.TagsRemoved, e.tagsOf(t, repo), s.Failures)
		}
	})
}

// Safety: a listing limited by filters removes nothing it was not asked
// about, and a change of filters is not a deletion.
func TestLimitedListingsRemoveOnlyWhatTheyAskAbout(t *testing.T) {
	e := newEnv(t)
	e.pushTags(t, "team/app", "v1.0.0", "v1.1.0", "v2.0.0", "nightly")
	repo := e.reg.Host() + "/team/app"
	req := importer.Request{References: []string{repo}, AllTags: true}
	e.run(t, req)
	all := "nightly,v1.0.0,v1.1.0,v2.0.0"

	mustFilter := func(include, exclude, semver string, newest, maxTags int) importer.TagFilter {
		f, err := importer.NewTagFilter(include, exclude, semver, newest, maxTags)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	for name, f := range map[string]importer.TagFilter{
		"max-tags":    mustFilter("", "", "", 0, 1),
		"newest":      mustFilter("", "", "", 1, 0),
		"include":     mustFilter("^v2", "", "", 0, 0),
		"exclude":     mustFilter("", "^v", "", 0, 0),
		"semver":      mustFilter("", "", ">=2", 0, 0),
		"all at once": mustFilter("^v", "nightly", "<2", 1, 1),
	} {
		if s := e.runWith(t, f, req); s.TagsRemoved != 0 || joined(e.tagsOf(t, repo)) != all {
			t.Errorf("%s: removed %d; current %v, want %s", name, s.TagsRemoved, e.tagsOf(t, repo), all)
		}
	}

	// Deleted upstream, but outside an include filter: not asked about, kept.
	e.deleteTag(t, "team/app", "nightly")
	e.deleteTag(t, "team/app", "v1.0.0")
	s := e.runWith(t, mustFilter("^v", "", "", 0, 1), req)
	if s.TagsRemoved != 1 || joined(e.tagsOf(t, repo)) != "nightly,v1.1.0,v2.0.0" {
		t.Errorf("include ^v with max-tags 1: removed %d, current %v; want v1.0.0 removed, nightly kept", s.TagsRemoved, e.tagsOf(t, repo))
	}
	// The next unfiltered run asks about every tag.
	if s := e.run(t, req); s.TagsRemoved != 1 || joined(e.tagsOf(t, repo)) != "v1.1.0,v2.0.0" {
		t.Errorf("unfiltered run: removed %d, current %v", s.TagsRemoved, e.tagsOf(t, repo))
	}
}

// A tag imported by name that now answers 404 is removed; the reference
// still fails, so the run says so.
func TestTagImportedByNameThatNowAnswers404IsRemoved(t *testing.T) {
	e := newEnv(t)
	e.pushTags(t, "team/app", "v1", "v2")
	v1, v2 := e.reg.Host()+"/team/app:v1", e.reg.Host()+"/team/app:v2"
	e.run(t, importer.Request{References: []string{v1, v2}})
	e.deleteTag(t, "team/app", "v1")
	s := e.run(t, importer.Request{References: []string{v1, v2}})
	if s.TagsRemoved != 1 || len(s.Failures) != 1 || s.Failures[0].Reference != v1 {
		t.Fatalf("removed %d, failures %v; want v1 removed and failed", s.TagsRemoved, s.Failures)
	}
	if got := e.tagsOf(t, e.reg.Host()+"/team/app"); joined(got) != "v2" {
		t.Errorf("current tags %v, want v2", got)
	}
}

// Artifact tags (cosign signatures and the like) never count as removed.
func TestArtifactTagsAreNotRemoved(t *testing.T) {
	e := newEnv(t)
	sig := "sha256-" + strings.Repeat("ab", 32) + ".sig"
	e.pushTags(t, "team/app", "v1", sig)
	repo := e.reg.Host() + "/team/app"
	req := importer.Request{References: []string{repo}, AllTags: true}
	e.run(t, req)
	had := e.tagsOf(t, repo)
	e.deleteTag(t, "team/app", sig)
	if s := e.run(t, req); s.TagsRemoved != 0 || joined(e.tagsOf(t, repo)) != joined(had) {
		t.Errorf("artifact tag: removed %d, current %v (had %v)", s.TagsRemoved, e.tagsOf(t, repo), had)
	}
}

// hiddenRepositories stands in for repositories an operator deleted from
// the registry's storage, which distribution's API cannot do: they vanish
// from /v2/_catalog and their tag lists answer 404. It can also fail or
// empty the whole catalog.
type hiddenRepositories struct {
	hide    atomic.Value // string: repository path to hide
	catalog atomic.Value // string: "", "5xx" or "empty"
}

func (h *hiddenRepositories) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if testregistry.IsSeedRequest(r) {
			next.ServeHTTP(w, r)
			return
		}
		hidden, _ := h.hide.Load().(string)
		mode, _ := h.catalog.Load().(string)
		if r.URL.Path == "/v2/_catalog" {
			switch mode {
			case "5xx":
				http.Error(w, "down", http.StatusInternalServerError)
				return
			case "empty":
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"repositories":[]}`))
				return
			}
			rec := &bodyRecorder{header: http.Header{}, status: http.StatusOK}
			next.ServeHTTP(rec, r)
			body := strings.Replace(string(rec.body), `"`+hidden+`",`, "", 1)
			body = strings.Replace(body, `,"`+hidden+`"`, "", 1)
			for k, v := range rec.header {
				if k != "Content-Length" {
					w.Header()[k] = v
				}
			}
			w.WriteHeader(rec.status)
			w.Write([]byte(body))
			return
		}
		if hidden != "" && strings.HasPrefix(r.URL.Path, "/v2/"+hidden+"/") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

type bodyRecorder struct {
	header http.Header
	status int
	body   []byte
}

func (b *bodyRecorder) Header() http.Header { return b.header }
func (b *bodyRecorder) Write(p []byte) (int, error) {
	b.body = append(b.body, p...)
	return len(p), nil
}
func (b *bodyRecorder) WriteHeader(s int) { b.status = s }

func TestCatalogRunRemovesMissingRepositories(t *testing.T) {
	h := &hiddenRepositories{}
	e := newEnv(t, testregistry.WithMiddleware(h.middleware))
	e.pushTags(t, "team/a", "v1")
	e.pushTags(t, "team/b", "v1", "v2")
	e.pushTags(t, "other/c", "v1")
	host := e.reg.Host()
	e.run(t, importer.Request{References: []string{host}, Catalog: true})

	// A failed catalog removes nothing.
	h.hide.Store("team/b")
	h.catalog.Store("5xx")
	s := e.run(t, importer.Request{References: []string{host}, Catalog: true})
	if s.RepositoriesRemoved != 0 || s.TagsRemoved != 0 || len(s.Failures) == 0 {
		t.Errorf("failed catalog: %d repositories and %d tags removed, failures %v", s.RepositoriesRemoved, s.TagsRemoved, s.Failures)
	}
	// An empty catalog (a wiped registry, or a token without catalog rights)
	// removes only the repositories whose tag list answers 404.
	h.catalog.Store("empty")
	s = e.run(t, importer.Request{References: []string{host}, Catalog: true})
	if s.RepositoriesRemoved != 1 || s.TagsRemoved != 2 || len(s.Failures) != 1 || !strings.Contains(s.Failures[0].Reason, "not confirmed gone") {
		t.Errorf("empty catalog: %d repositories and %d tags removed, failures %v; want team/b only, and a failure for the rest",
			s.RepositoriesRemoved, s.TagsRemoved, s.Failures)
	}
	if got := e.tagsOf(t, host+"/team/a"); joined(got) != "v1" {
		t.Fatalf("team/a lost its tags: %v", got)
	}
	h.catalog.Store("")
	h.hide.Store("team/a")
	// A namespace listing asks only about that namespace.
	s = e.run(t, importer.Request{References: []string{host + "/other"}, Catalog: true})
	if s.RepositoriesRemoved != 0 {
		t.Errorf("listing other/ removed %d repositories", s.RepositoriesRemoved)
	}
	// A complete catalog without a repository removes it with its tags
	// (and team/b, visible again, comes back).
	s = e.run(t, importer.Request{References: []string{host}, Catalog: true})
	if s.RepositoriesRemoved != 1 || s.TagsRemoved != 1 || len(s.Failures) != 0 {
		t.Errorf("complete catalog without team/a: %d repositories, %d tags removed, failures %v; want 1 and 1",
			s.RepositoriesRemoved, s.TagsRemoved, s.Failures)
	}
	known, _ := e.cat.KnownRepositories(context.Background(), host+"/")
	// team/b, listed again, came back with its tags.
	if joined(known) != host+"/other/c,"+host+"/team/b" || joined(e.tagsOf(t, host+"/team/b")) != "v1,v2" {
		t.Errorf("known repositories %v", known)
	}
}

func repositoryImport(name, from string) *imagev1.ImageStreamImport {
	isi := isiOf(name, true)
	isi.Spec.Repository = &imagev1.RepositoryImportSpec{From: corev1.ObjectReference{Kind: "DockerImage", Name: from}}
	return isi
}

// wantRemovedInStream checks a stream tag as OpenShift shows a tag whose
// import now fails: its history kept, ImportSuccess=False, reason NotFound.
func wantRemovedInStream(t *testing.T, is *imagev1.ImageStream, tag, image string) {
	t.Helper()
	for _, st := range is.Status.Tags {
		if st.Tag != tag {
			continue
		}
		if len(st.Items) == 0 || st.Items[0].Image != image {
			t.Errorf("tag %s lost its history: %+v", tag, st.Items)
		}
		if len(st.Conditions) != 1 || st.Conditions[0].Type != imagev1.ImportSuccess || st.Conditions[0].Status != corev1.ConditionFalse ||
			st.Conditions[0].Reason != string(metav1.StatusReasonNotFound) || !strings.Contains(st.Conditions[0].Message, "not found") {
			t.Errorf("tag %s conditions %+v, want ImportSuccess=False NotFound", tag, st.Conditions)
		}
		return
	}
	t.Errorf("stream has no status tag %s", tag)
}

// Image streams show a removed tag as OpenShift shows a tag whose import
// now fails, whichever kind of run found it gone; spec.repository
// documents are complete listings too.
func TestRemovedTagsShowInImageStreams(t *testing.T) {
	e := newEnv(t)
	pushed := e.pushTags(t, "team/app", "v1", "v2", "v3")
	host := e.reg.Host()
	repo := host + "/team/app"
	ctx := context.Background()
	if sum := e.streams(t, streamimport.Options{}, repositoryImport("app", repo)); len(sum.Failures) != 0 {
		t.Fatalf("first import: %+v", sum.Failures)
	}
	// Found gone by an --all-tags run.
	e.deleteTag(t, "team/app", "v1")
	if s := e.run(t, importer.Request{References: []string{repo}, AllTags: true}); s.TagsRemoved != 1 {
		t.Fatalf("--all-tags run removed %d", s.TagsRemoved)
	}
	is, err := e.cat.GetImageStream(ctx, "team", "app")
	if err != nil {
		t.Fatal(err)
	}
	wantRemovedInStream(t, is, "v1", pushed["v1"].Digest.String())
	// Found gone by the document itself.
	e.deleteTag(t, "team/app", "v2")
	sum := e.streams(t, streamimport.Options{}, repositoryImport("app", repo))
	if sum.TagsRemoved != 1 || len(sum.Failures) != 0 {
		t.Fatalf("document import: %d removed, failures %v", sum.TagsRemoved, sum.Failures)
	}
	is, _ = e.cat.GetImageStream(ctx, "team", "app")
	wantRemovedInStream(t, is, "v1", pushed["v1"].Digest.String())
	wantRemovedInStream(t, is, "v2", pushed["v2"].Digest.String())
	if got := e.tagsOf(t, repo); joined(got) != "v3" {
		t.Errorf("current tags %v, want v3", got)
	}
	// A tag the document names that now answers 404 is removed too.
	e.deleteTag(t, "team/app", "v3")
	byName := isiOf("pinned", true, fromImage(repo+":v3"))
	sum = e.streams(t, streamimport.Options{}, byName)
	if sum.TagsRemoved != 1 || len(e.tagsOf(t, repo)) != 0 {
		t.Errorf("by name: %d removed, current %v", sum.TagsRemoved, e.tagsOf(t, repo))
	}
}

// A Legacy import keeps one child of a list in the stream, not the list
// the registry tag points at: the removal still reaches the stream.
func TestRemovedListTagShowsInLegacyStream(t *testing.T) {
	e := newEnv(t)
	e.push(t, testregistry.ImageSpec{Repository: "team/multi", Tags: []string{"m1"}, Format: testregistry.OCIIndex, Seed: 7})
	repo := e.reg.Host() + "/team/multi"
	if sum := e.streams(t, streamimport.Options{}, isiOf("multi", true, fromImage(repo+":m1"))); len(sum.Failures) != 0 {
		t.Fatalf("import: %v", sum.Failures)
	}
	req := importer.Request{References: []string{repo}, AllTags: true}
	e.run(t, req)
	is, _ := e.cat.GetImageStream(context.Background(), "team", "multi")
	child := is.Status.Tags[0].Items[0].Image
	e.deleteTag(t, "team/multi", "m1")
	if s := e.run(t, req); s.TagsRemoved != 1 {
		t.Fatalf("removed %d", s.TagsRemoved)
	}
	is, _ = e.cat.GetImageStream(context.Background(), "team", "multi")
	wantRemovedInStream(t, is, "m1", child)
}

// A tag list that registries.conf may send to a mirror proves nothing gone:
// a mirror need not hold every tag.
// A pull-through mirror lists only the tags it has cached, so tag lists are
// asked of the repository's own registry: a tag the mirror lacks stays, and
// a tag deleted upstream is removed even though registries.conf names a mirror.
func TestMirroredRepositoryFollowsItsOwnRegistry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.pushTags(t, "team/app", "v1", "v2", "v3")
	mirror, err := testregistry.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mirror.Close)
	if _, err := mirror.Push(ctx, testregistry.ImageSpec{Repository: "team/app", Tags: []string{"v2"}, Format: testregistry.OCI, Seed: 101}); err != nil {
		t.Fatal(err)
	}
	repo := e.reg.Host() + "/team/app"
	req := importer.Request{References: []string{repo}, AllTags: true}
	e.run(t, req)

	conf := filepath.Join(t.TempDir(), "registries.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("[[registry]]\nlocation = %q\ninsecure = true\n[[registry.mirror]]\nlocation = %q\ninsecure = true\n",
		e.reg.Host(), mirror.Host())), 0o644)
	client := registry.New(registry.Options{Sys: &types.SystemContext{SystemRegistriesConfPath: conf, DockerInsecureSkipTLSVerify: types.OptionalBoolTrue}})
	imp, err := importer.New(importer.Options{Catalog: e.cat, Registry: client})
	if err != nil {
		t.Fatal(err)
	}
	e.deleteTag(t, "team/app", "v3")
	s, err := imp.Run(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if s.TagsRemoved != 1 || joined(e.tagsOf(t, repo)) != "v1,v2" {
		t.Errorf("removed %d, current %v; want v3 removed and v1 (which the mirror lacks) kept", s.TagsRemoved, e.tagsOf(t, repo))
	}
	if n := mirror.Requests().Get("tags-list"); n != 0 {
		t.Errorf("the mirror was asked for the tag list %d times; tag lists belong to the registry itself", n)
	}
}
