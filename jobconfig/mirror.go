package jobconfig

import (
	"fmt"
	"sort"
	"strings"

	"go.podman.io/image/v5/docker/reference"
)

// Mirror names a destination a source's changes are mirrored to after each
// import run (`regimport mirror apply --since RUN`): a registry host with
// an optional path prefix, src-host/ns/repo going to TO/ns/repo.
type Mirror struct {
	To string `yaml:"to"`
	// RequireAccepted holds back tags whose signature verdict is not
	// accepted (--require accepted).
	RequireAccepted bool `yaml:"requireAccepted"`
	// Prune also deletes there the tags a complete listing found removed.
	Prune bool `yaml:"prune"`
}

// MirrorJob is one mirror apply after an import: a destination and the
// repositories of every source that names it, as globs.
type MirrorJob struct {
	Mirror
	// Repositories are globs over host/path, one per source repository,
	// image or registry (host/* or host/namespace/*), in order.
	Repositories []string
}

// Glob joins Repositories for `mirror apply --repository`: a comma, which
// no repository name contains, separates alternatives.
func (j MirrorJob) Glob() string { return strings.Join(j.Repositories, ",") }

func (c *Config) validateMirrors() []error {
	var errs []error
	for i, s := range c.Sources {
		for j, m := range s.Mirror {
			field := fmt.Sprintf("sources[%d].mirror[%d]", i, j)
			to := strings.TrimSuffix(m.To, "/")
			named, err := reference.ParseNormalizedNamed(to + "/x")
			if m.To == "" || err != nil || reference.Domain(named)+"/"+reference.Path(named) != to+"/x" {
				errs = append(errs, fmt.Errorf("%s.to: %q: want a registry host (with a dot, a port or localhost) and an optional path prefix", field, m.To))
			}
		}
	}
	return errs
}

// MirrorJobs groups the sources' mirror destinations: one job per
// destination and settings, with the repositories of every source naming
// it, in destination order.
func (c *Config) MirrorJobs() []MirrorJob {
	byKey := map[Mirror]*MirrorJob{}
	for _, s := range c.Sources {
		for _, m := range s.Mirror {
			m.To = strings.TrimSuffix(m.To, "/")
			j, ok := byKey[m]
			if !ok {
				j = &MirrorJob{Mirror: m}
				byKey[m] = j
			}
			j.Repositories = append(j.Repositories, s.repositoryGlobs()...)
		}
	}
	out := make([]MirrorJob, 0, len(byKey))
	for _, j := range byKey {
		out = append(out, *j)
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].To != out[b].To {
			return out[a].To < out[b].To
		}
		return fmt.Sprint(out[a].Mirror) < fmt.Sprint(out[b].Mirror)
	})
	return out
}

// repositoryGlobs are the repositories a source imports, as the catalog
// names them (normalized: docker.io/library/x).
func (s Source) repositoryGlobs() []string {
	var out []string
	add := func(ref string) {
		if named, err := reference.ParseNormalizedNamed(ref); err == nil {
			out = append(out, named.Name())
		}
	}
	for _, ref := range s.Images {
		add(ref)
	}
	if s.Repository != "" {
		add(s.Repository)
	}
	if s.Registry != "" {
		for _, e := range s.entries() {
			out = append(out, e+"/*")
		}
	}
	return out
}
