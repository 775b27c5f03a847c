package mirror

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"

	"go.podman.io/image/v5/docker/reference"
)

// Destination says where each source repository goes: under a registry
// with an optional path prefix (src-host/ns/repo -> DEST/ns/repo), or as a
// mapping file says.
type Destination struct {
	// Spec is DEST as the user gave it (the registry and prefix, or the
	// mapping file's name): the key mirror runs are recorded under.
	Spec string
	// prefix is registry[/path] for the prefix form.
	prefix string
	// rules of a mapping file, longest source first.
	rules []mappingRule
}

type mappingRule struct {
	source, target string
	tree           bool // source ends in "/": a namespace, everything under it
}

// ParseDestination reads DEST: a registry host with an optional path
// prefix, such as mirror.example.com:5000/team.
func ParseDestination(dest string) (Destination, error) {
	dest = strings.TrimSuffix(strings.TrimPrefix(dest, "docker://"), "/")
	if dest == "" {
		return Destination{}, fmt.Errorf("destination is empty: want a registry host with an optional path prefix")
	}
	// Check it the way a repository name is checked: a probe name under it
	// must parse as a fully qualified reference with this host.
	probe := dest + "/x"
	named, err := reference.ParseNormalizedNamed(probe)
	if err != nil || reference.Domain(named)+"/"+reference.Path(named) != probe {
		return Destination{}, fmt.Errorf("destination %q: want a registry host (with a dot, a port or localhost) and an optional lower-case path prefix", dest)
	}
	return Destination{Spec: dest, prefix: dest}, nil
}

// ReadMapping reads a mapping file: one "SOURCE=TARGET" per line, where
// SOURCE is a repository (host/path) or a namespace ending in "/" that
// maps everything under it to TARGET/...; # starts a comment. The longest
// matching SOURCE wins; a repository no line matches is not mirrored.
func ReadMapping(name string, r io.Reader) (Destination, error) {
	d := Destination{Spec: name}
	sc := bufio.NewScanner(io.LimitReader(r, 1<<20))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = strings.TrimSpace(text[:i])
		}
		if text == "" {
			continue
		}
		src, dst, ok := strings.Cut(text, "=")
		src, dst = strings.TrimSpace(src), strings.TrimSuffix(strings.TrimSpace(dst), "/")
		if !ok || src == "" || dst == "" {
			return Destination{}, fmt.Errorf("mapping %s line %d: want SOURCE=TARGET", name, line)
		}
		if _, err := ParseDestination(dst); err != nil {
			return Destination{}, fmt.Errorf("mapping %s line %d: %w", name, line, err)
		}
		d.rules = append(d.rules, mappingRule{source: strings.TrimSuffix(src, "/"), target: dst, tree: strings.HasSuffix(src, "/")})
	}
	if err := sc.Err(); err != nil {
		return Destination{}, fmt.Errorf("mapping %s: %w", name, err)
	}
	if len(d.rules) == 0 {
		return Destination{}, fmt.Errorf("mapping %s: no SOURCE=TARGET line", name)
	}
	sort.SliceStable(d.rules, func(i, j int) bool { return len(d.rules[i].source) > len(d.rules[j].source) })
	return d, nil
}

// Repository is where a source repository (host/path) goes, and false when
// a mapping file does not name it.
func (d Destination) Repository(source string) (string, bool) {
	if d.prefix != "" {
		_, path, ok := strings.Cut(source, "/")
		if !ok {
			return "", false
		}
		return d.prefix + "/" + path, true
	}
	for _, r := range d.rules {
		switch {
		case source == r.source:
			return r.target, true
		case r.tree && strings.HasPrefix(source, r.source+"/"):
			return r.target + "/" + strings.TrimPrefix(source, r.source+"/"), true
		}
	}
	return "", false
}
