package importer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/regimport/regimport/catalog"
	"go.podman.io/image/v5/docker/reference"
)

// Request is what a user asked to import.
type Request struct {
	// References are host/repo:tag, host/repo@sha256:..., a repository
	// (with AllTags), or a registry host, optionally host/namespace (with Catalog).
	References []string
	// AllTags imports every tag of each repository reference.
	AllTags bool
	// Catalog treats each reference as a registry (or namespace) and imports
	// every tag of every repository /v2/_catalog lists.
	Catalog bool
	// Repositories are imported with every tag, whatever AllTags says.
	Repositories []string
	// Registries (host or host/namespace) are imported whole, whatever Catalog says.
	Registries []string
	// Command is recorded with the run (never include credentials).
	Command string
	// TagFilters replace the Importer's TagFilter for single Repositories
	// or Registries entries, keyed by the entry as written.
	TagFilters map[string]TagFilter
	// Shard, when set, imports only the repositories ShardOf gives to
	// Shard.Index, and removes only tags and repositories of those: N runs
	// with shards 0 to N-1 import together what one unsharded run imports.
	Shard catalog.Shard
}

// target is one manifest to import: a repository and a tag or a digest.
type target struct {
	repo reference.Named // as the user wrote it, normalized, no tag
	tag  string
	dgst string
	// input is what the user typed that led here, for error messages.
	input string
	// spelled is the repository as written when input does not say it
	// (see source).
	spelled string
	// known is the image the catalog's tag pointed at when the run listed
	// the repository ("" when it had no such tag); knownRead says it was
	// read then. A listed repository's current tags are read once, for
	// the comparison with its tag list; a target not from a listing has
	// its tag looked up when it is imported.
	known     string
	knownRead bool
}

// targetList is targets that became known together: references given
// one by one (targets), or one listed repository's tags (repo and tags),
// whose targets are made one at a time as they are handed to the workers,
// so that a listing waiting for workers holds its tag names and not a
// target per tag.
type targetList struct {
	targets []target
	// repo, input and spelled are those of every target of tags.
	repo           reference.Named
	input, spelled string
	tags           []string
	// known is the catalog's current tags of repo (tag to image) when the
	// listing read them, else nil.
	known map[string]string
}

func (l targetList) len() int { return len(l.targets) + len(l.tags) }

// at is the i-th target, 0 <= i < len().
func (l targetList) at(i int) target {
	if i < len(l.targets) {
		return l.targets[i]
	}
	t := target{repo: l.repo, tag: l.tags[i-len(l.targets)], input: l.input, spelled: l.spelled}
	if l.known != nil {
		t.known, t.knownRead = l.known[t.tag], true
	}
	return t
}

func (t target) String() string {
	if t.dgst != "" {
		return t.repo.Name() + "@" + t.dgst
	}
	return t.repo.Name() + ":" + t.tag
}

// ErrBadReference marks references that do not parse.
var ErrBadReference = errors.New("invalid reference")

// parseReference reads a tag, digest or bare repository reference.
func parseReference(s string) (reference.Named, error) {
	named, err := reference.ParseNormalizedNamed(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrBadReference, s, err)
	}
	return named, nil
}

// targetsOf turns one non-catalog reference into targets, or returns the
// repository whose tags must be listed first.
func targetsOf(s string, allTags bool) ([]target, reference.Named, error) {
	named, err := parseReference(s)
	if err != nil {
		return nil, nil, err
	}
	repo := reference.TrimNamed(named)
	if c, ok := named.(reference.Canonical); ok {
		if allTags {
			return nil, nil, fmt.Errorf("%w %q: --all-tags takes a repository, not a digest", ErrBadReference, s)
		}
		t := target{repo: repo, dgst: c.Digest().String(), input: s}
		if tagged, ok := named.(reference.Tagged); ok {
			t.tag = tagged.Tag() // repo:tag@digest: import the digest, tag it
		}
		return []target{t}, nil, nil
	}
	if tagged, ok := named.(reference.Tagged); ok {
		if allTags {
			return nil, nil, fmt.Errorf("%w %q: --all-tags takes a repository without a tag", ErrBadReference, s)
		}
		return []target{{repo: repo, tag: tagged.Tag(), input: s}}, nil, nil
	}
	if allTags {
		return nil, repo, nil
	}
	return []target{{repo: repo, tag: "latest", input: s}}, nil, nil
}

// parseRegistry reads host or host/namespace for --catalog.
func parseRegistry(s string) (host, namespace string, err error) {
	host, namespace, _ = strings.Cut(strings.Trim(strings.TrimSpace(s), "/"), "/")
	if host == "" || !(strings.ContainsAny(host, ".:") || host == "localhost") {
		return "", "", fmt.Errorf("%w %q: --catalog takes a registry host such as registry.example.com or 127.0.0.1:5000, optionally /namespace", ErrBadReference, s)
	}
	if strings.ContainsAny(host, "@ ") || strings.ContainsAny(namespace, "@: ") {
		return "", "", fmt.Errorf("%w %q: a registry host with an optional namespace, no tag or digest", ErrBadReference, s)
	}
	if namespace != "" {
		if _, err := reference.ParseNormalizedNamed(host + "/" + namespace); err != nil {
			return "", "", fmt.Errorf("%w %q: namespace: %v", ErrBadReference, s, err)
		}
	}
	return host, namespace, nil
}

// expand lists tags and catalogs so that every reference becomes targets,
// handing them to emit as they become known (from several goroutines).
// Failures to list are per input, not for the run.
func (r *run) expand(ctx, dbctx context.Context, req Request, emit func(targetList, []catalog.Failure)) {
	imp := r.imp
	var targets []target
	var failures []catalog.Failure
	var repos []reference.Named
	var repoInputs []string
	type input struct {
		ref              string
		allTags, catalog bool
	}
	var inputs []input
	for _, in := range req.References {
		inputs = append(inputs, input{in, req.AllTags, req.Catalog})
	}
	for _, in := range req.Repositories {
		inputs = append(inputs, input{in, true, false})
	}
	for _, in := range req.Registries {
		inputs = append(inputs, input{in, false, true})
	}
	mine := func(name string) bool { return inShard(req.Shard, name) }
	for _, each := range inputs {
		in := each.ref
		if each.catalog {
			host, ns, err := parseRegistry(in)
			if err != nil {
				if mine(in) {
					failures = append(failures, catalog.Failure{Reference: in, Reason: err.Error()})
				}
				continue
			}
			names, err := imp.reg.Catalog(ctx, host, ns)
			if err != nil {
				failures = append(failures, catalog.Failure{Reference: in, Reason: "list repositories: " + err.Error()})
				continue
			}
			// Each shard lists the whole catalog and takes its share; the
			// listing stays whole for reconcileRepositories, which removes
			// only repositories of this shard's share.
			var listed []reference.Named
			for _, n := range names {
				named, err := parseReference(host + "/" + n)
				if err != nil {
					if mine(host + "/" + n) {
						failures = append(failures, catalog.Failure{Reference: host + "/" + n, Reason: err.Error()})
					}
					continue
				}
				listed = append(listed, named)
				if mine(named.Name()) {
					repos, repoInputs = append(repos, named), append(repoInputs, in)
				}
			}
			if len(listed) == len(names) {
				// Only a listing whose every name was usable is complete.
				r.reconcileRepositories(ctx, dbctx, in, host, ns, listed, req.Shard)
			}
			continue
		}
		ts, repo, err := targetsOf(in, each.allTags)
		if err != nil {
			if mine(in) {
				failures = append(failures, catalog.Failure{Reference: in, Reason: err.Error()})
			}
			continue
		}
		if repo == nil && !mine(ts[0].repo.Name()) || repo != nil && !mine(repo.Name()) {
			continue
		}
		targets = append(targets, ts...)
		if repo != nil {
			repos, repoInputs = append(repos, repo), append(repoInputs, in)
		}
	}
	emit(targetList{targets: targets}, failures)
	r.listTags(ctx, dbctx, req, repos, repoInputs, emit)
}
