package layering

import (
	"fmt"
	"sort"
	"strings"
)

// Graph maps each package of the module to its direct (non-test) imports.
type Graph map[string][]string

// Check returns one message per rule broken: which package reaches a
// forbidden one and through which chain of imports, the first link being
// the offending import in the package's own code.
func Check(g Graph, rules []Rule) []string {
	var broken []string
	pkgs := make([]string, 0, len(g))
	for p := range g {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, r := range rules {
		for _, p := range pkgs {
			if !within(p, Module+"/"+r.Package) || (r.Exact && p != Module+"/"+r.Package) {
				continue
			}
			for _, f := range r.Forbidden {
				if chain := path(g, p, Module+"/"+f, r.Direct); chain != nil {
					broken = append(broken, fmt.Sprintf("%s imports %s (%s): %s may not depend on %s: %s",
						trim(chain[0]), trim(chain[1]), strings.Join(trimAll(chain), " -> "), r.Package, f, r.Why))
				}
			}
		}
	}
	return broken
}

// within reports whether pkg is prefix or a package under it.
func within(pkg, prefix string) bool {
	return pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
}

// path finds the shortest chain of imports from one package to a package
// within target, or nil; direct: only from's own imports.
func path(g Graph, from, target string, direct bool) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, imp := range g[p] {
			if _, seen := prev[imp]; seen {
				continue
			}
			prev[imp] = p
			if within(imp, target) {
				var chain []string
				for q := imp; q != ""; q = prev[q] {
					chain = append([]string{q}, chain...)
				}
				return chain
			}
			if !direct {
				queue = append(queue, imp)
			}
		}
	}
	return nil
}

func trim(p string) string { return strings.TrimPrefix(p, Module+"/") }

func trimAll(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = trim(p)
	}
	return out
}
