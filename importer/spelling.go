package importer

import (
	"strings"

	"go.podman.io/image/v5/docker/reference"
)

// spelledRepository is the repository of input as the user wrote it
// (OpenShift's reference.Parse, then Exact() without tag or digest: no
// docker.io or library/ added), when input names the repository repo;
// otherwise (a registry host for --catalog, a key built from a normalized
// name) it is repo's normalized name.
func spelledRepository(input string, repo reference.Named) string {
	ref, err := reference.Parse(strings.TrimSpace(input))
	if err != nil {
		return repo.Name()
	}
	named, ok := ref.(reference.Named)
	if !ok {
		return repo.Name()
	}
	normalized, err := reference.ParseNormalizedNamed(named.Name())
	if err != nil || normalized.Name() != repo.Name() {
		return repo.Name()
	}
	return named.Name()
}

// source is the repository as the user spelled it, for dockerImageReference;
// t.repo stays the normalized key for lookups.
func (t target) source() string {
	if t.spelled != "" {
		return t.spelled
	}
	return spelledRepository(t.input, t.repo)
}

// lookupReference is the normalized repository@digest the catalog keys on.
func (t target) lookupReference(dgst string) string {
	return t.repo.Name() + "@" + dgst
}
