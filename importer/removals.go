package importer

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/importer/imagestream"
	"github.com/regimport/regimport/registry"
	"go.podman.io/image/v5/docker/reference"
)

// How the catalog follows the registry (README, "Scheduled mirroring"):
//
//   - Only a complete, successful listing removes anything. registry's
//     Tags and Catalog return an error for any page that failed, was cut
//     short or did not parse (5xx, 401, a truncated body, a bad Link): that
//     repository or registry fails and nothing is removed.
//   - Removal compares the catalog's current tags with the registry's whole
//     tag list, never with the tags a filter selected: tags that newest N or
//     max-tags leave out, or that a changed filter no longer selects, are
//     still listed and so are not removed. Tags that include, exclude or
//     semver do not select are outside the question and are never removed
//     by that listing.
//   - An empty listing where tags were current is not known to be complete
//     (a wiped repository and a token without list rights answer alike):
//     each such tag is then asked for with one HEAD, and only a 404 removes
//     it. The others stay current and the repository is reported failed.
//     An empty /v2/_catalog is treated the same way, a repository being
//     confirmed gone by a 404 on its tag list.
//   - Tag lists are always asked of the repository's own registry, never of
//     a registries.conf mirror (a pull-through cache lists only what it
//     holds), so a mirrored repository follows its registry too.
//   - Artifact tags (cosign sha256-<hex>.sig/.att/.sbom, sha256-<hex>
//     referrers) are not images and are never counted as removed.

// covers reports whether tag is within what the filter asks about: its
// include, exclude and semver rules (newest N and max-tags choose among
// listed tags and do not narrow the question).
func (f TagFilter) covers(tag string) bool { return len(f.Match([]string{tag})) == 1 }

// errTagNotFound marks a tag fetched by name that the registry answers 404 for.
type errTagNotFound struct{ err error }

func (e *errTagNotFound) Error() string { return e.err.Error() }
func (e *errTagNotFound) Unwrap() error { return e.err }

// reconcileTags removes the current tags of a repository that a complete
// tag list no longer has (see the rules above). It returns the catalog's
// current tags (tag to image) it compared with, nil when it could not read
// them: the repository's targets look their tags up there (see
// unchangedTag) rather than each in the catalog again.
func (r *run) reconcileTags(ctx, dbctx context.Context, name reference.Named, listed []string, filter TagFilter) map[string]string {
	repo, err := r.main.repository(name)
	if err != nil {
		r.fail(catalog.Failure{Reference: name.Name(), Reason: "compare with the catalog: " + err.Error()})
		return nil
	}
	current, err := r.imp.cat.CurrentTags(ctx, name.Name())
	if err != nil {
		r.fail(catalog.Failure{Reference: name.Name(), Reason: "compare with the catalog: " + err.Error()})
		return nil
	}
	gone, reason, doubt := goneFrom(ctx, repo, current, listed, filter)
	if doubt != "" {
		r.fail(catalog.Failure{Reference: name.Name(), Reason: doubt})
	}
	r.removeTags(dbctx, name.Name(), gone, reason)
	return current
}

// goneTags works out which current tags of a repository a complete tag
// list removes, and why; doubt says which tags an empty list could not
// confirm gone (they stay).
func (imp *Importer) goneTags(ctx context.Context, repo *registry.Repository, listed []string, filter TagFilter) (gone []string, reason, doubt string, err error) {
	current, err := imp.cat.CurrentTags(ctx, repo.Name().Name())
	if err != nil {
		return nil, "", "", err
	}
	gone, reason, doubt = goneFrom(ctx, repo, current, listed, filter)
	return gone, reason, doubt, nil
}

// goneFrom is goneTags over the current tags already read.
func goneFrom(ctx context.Context, repo *registry.Repository, current map[string]string, listed []string, filter TagFilter) (gone []string, reason, doubt string) {
	present := map[string]bool{}
	images := 0
	for _, tag := range listed {
		present[tag] = true
		if !IsArtifactTag(tag) {
			images++
		}
	}
	for tag := range current {
		if !present[tag] && !IsArtifactTag(tag) && filter.covers(tag) {
			gone = append(gone, tag)
		}
	}
	if len(gone) == 0 {
		return nil, "", ""
	}
	sort.Strings(gone)
	if images > 0 {
		return gone, catalog.ReasonNotListed, ""
	}
	confirmed, doubts := confirmTagsGone(ctx, repo, gone)
	if len(doubts) > 0 {
		doubt = fmt.Sprintf("the tag list is empty but %d tag(s) the catalog holds were not confirmed gone (%s); they stay current",
			len(doubts), strings.Join(doubts, "; "))
	}
	return confirmed, catalog.ReasonNotFound, doubt
}

// confirmTagsGone asks for each tag with one HEAD; only a 404 confirms it.
func confirmTagsGone(ctx context.Context, repo *registry.Repository, tags []string) (confirmed, doubts []string) {
	for _, tag := range tags {
		_, err := repo.HeadManifest(ctx, tag)
		switch {
		case errors.Is(err, registry.ErrNotFound):
			confirmed = append(confirmed, tag)
		case err == nil:
			doubts = append(doubts, tag+": still answers")
		default:
			doubts = append(doubts, tag+": "+err.Error())
		}
	}
	return confirmed, doubts
}

// reconcileRepositories marks removed the known repositories under
// host[/namespace] that a complete /v2/_catalog no longer lists; a shard
// only those of its own share, which no other shard touches.
func (r *run) reconcileRepositories(ctx, dbctx context.Context, input, host, namespace string, listed []reference.Named, shard catalog.Shard) {
	prefix := host + "/"
	if namespace != "" {
		prefix += strings.Trim(namespace, "/") + "/"
	}
	known, err := r.imp.cat.KnownRepositories(ctx, prefix)
	if err != nil {
		r.fail(catalog.Failure{Reference: input, Reason: "compare with the catalog: " + err.Error()})
		return
	}
	present := map[string]bool{}
	for _, n := range listed {
		present[n.Name()] = true
	}
	var gone []string
	for _, name := range known {
		if !present[name] && inShard(shard, name) {
			gone = append(gone, name)
		}
	}
	if len(listed) == 0 && len(gone) > 0 {
		var confirmed, doubts []string
		for _, name := range gone {
			named, err := parseReference(name)
			var repo *registry.Repository
			if err == nil {
				repo, err = r.main.repository(named)
			}
			if err == nil {
				_, err = repo.Tags(ctx)
			}
			if errors.Is(err, registry.ErrNotFound) {
				confirmed = append(confirmed, name)
			} else if err == nil {
				doubts = append(doubts, name+": still lists tags")
			} else {
				doubts = append(doubts, name+": "+err.Error())
			}
		}
		if len(doubts) > 0 {
			r.fail(catalog.Failure{Reference: input, Reason: fmt.Sprintf("the registry's catalog is empty but %d repositories the catalog holds were not confirmed gone (%s); they stay",
				len(doubts), strings.Join(doubts, "; "))})
		}
		gone = confirmed
	}
	for _, name := range gone {
		r.q.RemoveRepository(dbctx, name, r.removed(name))
	}
}

// removeTags queues the removal of tags of one repository.
func (r *run) removeTags(dbctx context.Context, repository string, tags []string, reason string) {
	if len(tags) > 0 {
		r.q.RemoveTags(dbctx, repository, tags, reason, r.removed(repository))
	}
}

// removed logs what the writer removed of a repository, or records why it
// could not (the queue counts the removals).
func (r *run) removed(repository string) func([]catalog.RemovedTag, error) {
	return func(removed []catalog.RemovedTag, err error) {
		if err != nil {
			r.fail(catalog.Failure{Reference: repository, Reason: "record removed tags: " + err.Error()})
			return
		}
		for _, t := range removed {
			r.imp.log.Info("tag removed", "repository", t.Repository, "tag", t.Tag, "previous", t.Previous)
		}
	}
}

// streamMarker marks, in the image streams, the tags a run removes (see
// imagestream.MarkRemovedTags).
func (imp *Importer) streamMarker() catalog.StreamMarker {
	return imagestream.MarkRemovedTags(imp.now())
}
