package registry_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/regimport/regimport/internal/hermetic"
	"github.com/regimport/regimport/internal/regfront"
	"github.com/regimport/regimport/internal/testregistry"
	"github.com/regimport/regimport/registry"
	"go.podman.io/image/v5/types"
)

// TestFindListedSkipsOnlyWhatAListingDenies: on a registry without the
// referrers API, FindListed sends no request for a referrers tag the
// listing did not have, and sends it for one the listing had or without a
// listing; with a registries.conf mirror that serves tag pulls, a listing
// of the registry denies nothing (the mirror may hold the tag), while a
// digest-only mirror leaves tags to the registry alone.
func TestFindListedSkipsOnlyWhatAListingDenies(t *testing.T) {
	ctx := context.Background()
	e := startReferrersEnv(t, false)
	var l registry.ReferrerLookup
	subject := e.manifest.Digest
	if _, err := l.Find(ctx, e.repo, e.manifest.Source, subject); err != nil { // learns that the host has no API
		t.Fatal(err)
	}
	if !e.repo.TagsOnlyFromOrigin() {
		t.Fatal("a repository without mirrors reads tags from elsewhere")
	}
	denied := func(string) bool { return false }
	granted := func(tag string) bool { return tag == registry.ReferrersTag(subject) }
	for _, c := range []struct {
		name   string
		listed func(string) bool
		want   int64
	}{{"not listed", denied, 0}, {"listed", granted, 1}, {"no listing", nil, 1}} {
		e.reg.ResetRequests()
		list, err := l.FindListed(ctx, e.repo, e.manifest.Source, subject, c.listed)
		if err != nil || len(list.Items) != 0 || list.Via != registry.ReferrersViaTag {
			t.Fatalf("%s: %+v, %v", c.name, list, err)
		}
		if got := e.reg.Requests().Get(testregistry.KindReferrers); got != c.want {
			t.Errorf("%s: %d referrers-tag requests, want %d", c.name, got, c.want)
		}
	}

	for _, mode := range []string{"all", "digest-only"} {
		t.Run("mirror "+mode, func(t *testing.T) {
			primary := newWorld(t, regfront.Options{})
			mirror := newWorld(t, regfront.Options{})
			primary.push(t, "team/app", 1, "v1")
			conf := writeFile(t, t.TempDir(), "registries.conf", fmt.Sprintf(`
[[registry]]
location = %q
insecure = true
[[registry.mirror]]
location = %q
insecure = true
pull-from-mirror = %q
`, primary.reg.Host(), mirror.reg.Host(), mode), 0o644)
			c := client(registry.Options{Sys: &types.SystemContext{SystemRegistriesConfPath: conf, RootForImplicitAbsolutePaths: hermetic.Root()}})
			repo, err := c.Repository(primary.named(t, "team/app"))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := repo.TagsOnlyFromOrigin(), mode == "digest-only"; got != want {
				t.Errorf("TagsOnlyFromOrigin = %v with a %s mirror, want %v", got, mode, want)
			}
		})
	}
}
