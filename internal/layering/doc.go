// Package layering enforces the one-way data flow README.md draws:
// cmd -> importer -> {registry, signatures} -> catalog, and cmd -> mirror ->
// {registry, catalog}, with apiserver and report reading catalog only. Its test reads the real import graph with
// `go list -deps -json` and fails naming the import that breaks a rule.
package layering

// Module is the import path every rule is relative to.
const Module = "github.com/regimport/regimport"

// Rule forbids Package (and the packages under it) to depend, directly or
// through other packages of the module, on any of Forbidden.
type Rule struct {
	Package   string
	Forbidden []string
	Why       string
}

// Rules are README's "How the code is laid out", as import rules. Paths are
// relative to Module.
func Rules() []Rule {
	return []Rule{
		{"catalog", []string{"importer", "registry", "signatures", "apiserver", "report", "jobconfig", "mirror", "internal/cli", "cmd"},
			"catalog is the bottom layer: everything writes to or reads from it, it knows none of them"},
		{"registry", []string{"importer", "mirror", "apiserver", "report", "internal/cli", "cmd"},
			"registry is called by importer, never the other way"},
		{"signatures", []string{"importer", "apiserver", "report", "internal/cli", "cmd"},
			"signatures is called by importer, never the other way"},
		{"importer", []string{"apiserver", "report", "internal/cli", "cmd", "importer/streamimport"},
			"importer is called by the command line and writes the catalog; it does not serve or report, and its core and orchestration know nothing of the ImageStreamImport mode built on them"},
		{"importer/imagestream", []string{"importer", "registry", "signatures"},
			"imagestream is OpenShift's image stream rules, shared by both import modes; it knows neither mode nor any registry"},
		{"apiserver", []string{"importer", "registry", "signatures", "report", "mirror", "internal/cli", "cmd"},
			"apiserver reads the catalog only and never talks to a registry"},
		{"report", []string{"importer", "registry", "signatures", "apiserver", "mirror", "internal/cli", "cmd"},
			"report reads the catalog only, offline"},
		{"mirror", []string{"importer", "signatures", "apiserver", "report", "jobconfig", "internal/cli", "cmd"},
			"mirror turns catalog facts into copies: cmd -> mirror -> {registry, catalog}; it imports nothing, verifies nothing, and serves and reports nothing"},
		{"internal/imageview", []string{"importer", "registry", "signatures", "internal/cli", "cmd"},
			"imageview renders catalog records for apiserver and get; it reads the catalog only"},
	}
}
