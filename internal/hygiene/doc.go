// Package hygiene holds checks on the repository itself rather than on
// any package's code: what is tracked, and how CI runs. It has no code
// of its own; its tests read the work tree through git.
package hygiene
