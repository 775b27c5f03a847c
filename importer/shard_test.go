package importer_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/regimport/regimport/catalog/catalogdb"

	digest "github.com/opencontainers/go-digest"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/internal/testregistry"
)

// ShardOf is FNV-1a 64 of the name modulo N. The expected shards are the
// FNV specification's test vectors ("a", "foobar") and values worked out
// apart from Go's hash/fnv (offset basis 0xcbf29ce484222325, prime
// 0x100000001b3, xor then multiply per byte); a change of hash, of its
// input's spelling or of the modulo breaks them, and with them every
// deployment whose shards run different releases.
func TestShardOfIsFNV1a64OfTheNormalizedName(t *testing.T) {
	for _, c := range []struct {
		name string
		fnv  uint64
		want map[int]int // N -> shard
	}{
		{"a", 0xaf63dc4c8601ec8c, map[int]int{1: 0, 2: 0, 3: 1, 7: 5}},
		{"foobar", 0x85944171f73967e8, map[int]int{2: 0, 3: 0, 7: 6}},
		{"docker.io/library/nginx", 0xf7b30ec5501512a6, map[int]int{2: 0, 3: 1, 7: 5}},
		{"quay.io/team/app", 0xf1504e4b9c08b463, map[int]int{2: 1, 3: 2, 7: 6}},
	} {
		for n, want := range c.want {
			if uint64(want) != c.fnv%uint64(n) {
				t.Fatalf("the test's table is wrong for %q mod %d", c.name, n)
			}
			if got := importer.ShardOf(c.name, n); got != want {
				t.Errorf("ShardOf(%q, %d) = %d, want %d", c.name, n, got, want)
			}
		}
	}
}

// catalogState is what a catalog holds of one registry: its repositories'
// current tags (repository:tag -> image) and every image's name.
type catalogState struct {
	Tags   map[string]string
	Images []string
}

func stateOf(t *testing.T, cat catalog.Catalog, host string) catalogState {
	t.Helper()
	ctx := context.Background()
	st := catalogState{Tags: map[string]string{}}
	repos, err := cat.KnownRepositories(ctx, host+"/")
	if err != nil {
		t.Fatal(err)
	}
	for _, repo := range repos {
		tags, err := cat.CurrentTags(ctx, repo)
		if err != nil {
			t.Fatal(err)
		}
		for tag, image := range tags {
			st.Tags[repo+":"+tag] = image
		}
	}
	page, err := cat.ListImages(ctx, catalog.ListOptions{WithoutRaw: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range page.Items {
		st.Images = append(st.Images, img.Name)
	}
	sort.Strings(st.Images)
	return st
}

// spreadNames picks repository names team/rK under host so that each
// shard of 3 gets per3 of them and each pair (shard of 3, shard of 2) at
// least one. A name's shard depends on the registry's random port; a test
// of the split must not depend on luck.
func spreadNames(host string, per3 int) []string {
	var picked []string
	count := map[int]int{}
	cell := map[[2]int]bool{}
	for k := 0; len(picked) < 3*per3; k++ {
		name := fmt.Sprintf("team/r%d", k)
		s3, s2 := importer.ShardOf(host+"/"+name, 3), importer.ShardOf(host+"/"+name, 2)
		missing := 0
		for _, other := range []int{0, 1} {
			if !cell[[2]int{s3, other}] {
				missing++
			}
		}
		if count[s3] >= per3 || (cell[[2]int{s3, s2}] && count[s3]+missing >= per3) {
			continue
		}
		picked = append(picked, name)
		count[s3]++
		cell[[2]int{s3, s2}] = true
	}
	return picked
}

// shardRegistry pushes nine repositories of two tags each (spreadNames)
// and one image, without layers, that five of them share, so that shards
// store the same image for different repositories.
func shardRegistry(t *testing.T, opts ...testregistry.Option) (*env, []string) {
	t.Helper()
	e := newEnv(t, opts...)
	ctx := context.Background()
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	manifest := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[]}`,
		digest.FromBytes(config), len(config))
	names := spreadNames(e.reg.Host(), 3)
	for i, repo := range names {
		e.pushTags(t, repo, "v1", "v2")
		if i%2 == 0 {
			if err := e.reg.PushRaw(ctx, repo, "shared", "application/vnd.oci.image.manifest.v1+json", []byte(manifest), config); err != nil {
				t.Fatal(err)
			}
		}
	}
	return e, names
}

func openCatalog(t *testing.T, path string) catalog.Catalog {
	t.Helper()
	cat, err := catalogdb.Open(context.Background(), path, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	return cat
}

// runShard imports one shard of req into its own handle on the catalog at path.
// Shards open it one at a time, as `regimport import --shard` does.
func runShard(t *testing.T, path string, req importer.Request, shard catalog.Shard) (importer.Summary, error) {
	release, err := catalogdb.LockOpen(path)
	if err != nil {
		return importer.Summary{}, err
	}
	cat, err := catalogdb.Open(context.Background(), path, catalog.Options{})
	release()
	if err != nil {
		return importer.Summary{}, err
	}
	defer cat.Close()
	imp, err := importer.New(importer.Options{Catalog: cat, Registry: newClient(), Concurrency: 4})
	if err != nil {
		return importer.Summary{}, err
	}
	req.Shard = shard
	return imp.Run(context.Background(), req)
}

// Done when: N shards together import exactly what one run imports, each
// shard only its own repositories, whether the work is a registry's
// /v2/_catalog or references and repositories named one by one, and
// whether the shards run one after another or at once on one SQLite file
// (their write transactions then take turns through busy_timeout).
func TestShardsTogetherImportWhatOneRunImports(t *testing.T) {
	e, names := shardRegistry(t)
	host := e.reg.Host()
	var named []string
	for _, repo := range names {
		named = append(named, host+"/"+repo+":v1")
	}
	for name, req := range map[string]importer.Request{
		"catalog": {References: []string{host}, Catalog: true},
		"named": {References: append(named, host+"/"+names[0]+":shared", host+"/"+names[2]+":shared"),
			Repositories: []string{host + "/" + names[3], host + "/" + names[4]}},
	} {
		t.Run(name, func(t *testing.T) {
			one := openCatalog(t, dbtest.New(t))
			imp, err := importer.New(importer.Options{Catalog: one, Registry: newClient(), Concurrency: 4})
			if err != nil {
				t.Fatal(err)
			}
			if s, err := imp.Run(context.Background(), req); err != nil || len(s.Failures) > 0 {
				t.Fatalf("one run: %v %v", err, s.Failures)
			}
			want := stateOf(t, one, host)
			if len(want.Tags) < 10 {
				t.Fatalf("one run imported only %v", want.Tags)
			}

			for _, mode := range []string{"one after another", "at once"} {
				path := dbtest.New(t)
				sums := make([]importer.Summary, 3)
				errs := make([]error, 3)
				var wg sync.WaitGroup
				for i := range 3 {
					shard := catalog.Shard{Index: i, Count: 3, Group: "g"}
					if mode == "at once" {
						wg.Go(func() { sums[i], errs[i] = runShard(t, path, req, shard) })
					} else {
						sums[i], errs[i] = runShard(t, path, req, shard)
					}
				}
				wg.Wait()
				for i, s := range sums {
					if errs[i] != nil || len(s.Failures) > 0 {
						t.Fatalf("%s: shard %d: %v %v", mode, i, errs[i], s.Failures)
					}
					if len(s.Results) == 0 {
						t.Errorf("%s: shard %d imported nothing: the split is not spread", mode, i)
					}
					for _, r := range s.Results {
						repo, _, _ := strings.Cut(r.Reference, "@")
						if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
							repo = repo[:i]
						}
						if got := importer.ShardOf(repo, 3); got != i {
							t.Errorf("%s: shard %d imported %s, which is shard %d's", mode, i, r.Reference, got)
						}
					}
				}
				got := stateOf(t, openCatalog(t, path), host)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: three shards hold\n%v\none run holds\n%v", mode, got, want)
				}
			}
		})
	}
}

// A shard removes only what it listed completely: a repository of shard
// 1 deleted upstream, and a tag deleted from another of shard 1's
// repositories, are left alone by shard 0's run and removed by shard 1's.
func TestShardRemovesOnlyItsShare(t *testing.T) {
	h := &hiddenRepositories{}
	e, names := shardRegistry(t, testregistry.WithMiddleware(h.middleware))
	host := e.reg.Host()
	req := importer.Request{References: []string{host}, Catalog: true}
	path := dbtest.New(t)
	var ofShard1 []string
	for _, repo := range names {
		if importer.ShardOf(host+"/"+repo, 2) == 1 {
			ofShard1 = append(ofShard1, repo)
		}
	}
	if len(ofShard1) < 2 {
		t.Fatalf("shard 1 of 2 has %v; the test needs two repositories", ofShard1)
	}
	for i := range 2 {
		if s, err := runShard(t, path, req, catalog.Shard{Index: i, Count: 2, Group: "first"}); err != nil || len(s.Failures) > 0 {
			t.Fatalf("shard %d: %v %v", i, err, s.Failures)
		}
	}
	hidden, trimmed := ofShard1[0], ofShard1[1]
	cat := openCatalog(t, path)
	hiddenTags, trimmedTags := joined(e.tagsOfIn(t, cat, host+"/"+hidden)), joined(e.tagsOfIn(t, cat, host+"/"+trimmed))
	if !strings.Contains(hiddenTags, "v1,v2") || !strings.Contains(trimmedTags, "v1,v2") {
		t.Fatalf("the shards imported %s: %s and %s: %s", hidden, hiddenTags, trimmed, trimmedTags)
	}
	h.hide.Store(hidden)
	e.deleteTag(t, trimmed, "v2")

	s, err := runShard(t, path, req, catalog.Shard{Index: 0, Count: 2, Group: "second"})
	if err != nil || s.RepositoriesRemoved != 0 || s.TagsRemoved != 0 {
		t.Fatalf("shard 0 removed %d repositories and %d tags (%v); want none of shard 1's", s.RepositoriesRemoved, s.TagsRemoved, err)
	}
	if got := joined(e.tagsOfIn(t, cat, host+"/"+hidden)); got != hiddenTags {
		t.Errorf("after shard 0: %s has %v, had %v", hidden, got, hiddenTags)
	}
	if got := joined(e.tagsOfIn(t, cat, host+"/"+trimmed)); got != trimmedTags {
		t.Errorf("after shard 0: %s has %v, had %v", trimmed, got, trimmedTags)
	}

	s, err = runShard(t, path, req, catalog.Shard{Index: 1, Count: 2, Group: "second"})
	if err != nil || s.RepositoriesRemoved != 1 || len(s.Failures) != 0 {
		t.Fatalf("shard 1 removed %d repositories (%v, %v); want %s", s.RepositoriesRemoved, err, s.Failures, hidden)
	}
	known, err := cat.KnownRepositories(context.Background(), host+"/")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(joined(known), host+"/"+hidden+",") || strings.HasSuffix(joined(known), host+"/"+hidden) || len(known) != 8 {
		t.Errorf("after shard 1: known repositories %v; want all but %s", known, hidden)
	}
	if got, want := joined(e.tagsOfIn(t, cat, host+"/"+trimmed)), strings.Replace(trimmedTags, ",v2", "", 1); got != want {
		t.Errorf("after shard 1: %s has %v, want %v", trimmed, got, want)
	}
	if got := e.tagsOfIn(t, cat, host+"/"+hidden); len(got) != 0 {
		t.Errorf("after shard 1: removed %s still has current tags %v", hidden, got)
	}
}

// tagsOfIn is tagsOf on another catalog than the env's.
func (e *env) tagsOfIn(t *testing.T, cat catalog.Catalog, repo string) []string {
	t.Helper()
	return (&env{cat: cat}).tagsOf(t, repo)
}

// A reference that does not parse has no repository to hash: exactly one
// shard, the one its text hashes to, reports it.
func TestBadReferenceIsReportedByOneShard(t *testing.T) {
	path := dbtest.New(t)
	bad := "Not A Reference!"
	reports := 0
	for i := range 3 {
		s, err := runShard(t, path, importer.Request{References: []string{bad}}, catalog.Shard{Index: i, Count: 3, Group: "g"})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range s.Failures {
			if f.Reference == bad {
				reports++
				if want := importer.ShardOf(bad, 3); i != want {
					t.Errorf("shard %d reported %q, shard %d should", i, bad, want)
				}
			}
		}
	}
	if reports != 1 {
		t.Errorf("%d shards reported %q, want 1", reports, bad)
	}
}

// A shard that does not exist is an error before anything is recorded.
func TestRunRefusesAShardOutOfRange(t *testing.T) {
	e := newEnv(t)
	for _, sh := range []catalog.Shard{{Index: 3, Count: 3}, {Index: -1, Count: 3}} {
		if _, err := e.imp.Run(context.Background(), importer.Request{References: []string{"r.example.com/a:1"}, Shard: sh}); err == nil {
			t.Errorf("shard %d/%d: no error", sh.Index, sh.Count)
		}
	}
	if runs, err := e.cat.Runs(context.Background(), 0); err != nil || len(runs) != 0 {
		t.Errorf("runs recorded: %v %v", runs, err)
	}
}

// A /v2/_catalog that cannot be listed fails in every shard: each lost
// its share of the registry.
func TestUnlistableCatalogFailsInEveryShard(t *testing.T) {
	h := &hiddenRepositories{}
	h.catalog.Store("5xx")
	e := newEnv(t, testregistry.WithMiddleware(h.middleware))
	e.pushTags(t, "team/a", "v1")
	path := dbtest.New(t)
	for i := range 3 {
		s, err := runShard(t, path, importer.Request{References: []string{e.reg.Host()}, Catalog: true}, catalog.Shard{Index: i, Count: 3, Group: "g"})
		if err != nil || len(s.Failures) != 1 || s.Failures[0].Reference != e.reg.Host() || !strings.Contains(s.Failures[0].Reason, "list repositories") {
			t.Errorf("shard %d: %v %+v; want the registry failed", i, err, s.Failures)
		}
	}
}
