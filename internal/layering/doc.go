// Package layering enforces the one-way data flow README.md draws:
// cmd -> importer -> {registry, signatures} -> catalog, and cmd -> mirror ->
// {registry, catalog}, with apiserver and
// report reading catalog only (its domain and interfaces, opened by
// catalog/catalogdb), and catalog's own packages below everything: the
// domain, then the shared SQL, then each backend, then the opener. Its test reads the real import graph with
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
	// Exact: the rule is about Package itself, not the packages under it.
	Exact bool
	// Direct: only Package's own imports count, not what they import in
	// turn (the opener, catalog/catalogdb, may reach both backends; its
	// callers may not name one).
	Direct bool
}

// Rules are README's "How the code is laid out", as import rules. Paths are
// relative to Module.
func Rules() []Rule {
	return []Rule{
		{"catalog", []string{"importer", "registry", "signatures", "apiserver", "report", "jobconfig", "mirror", "internal/cli", "cmd"},
			"catalog is the bottom layer: everything writes to or reads from it, it knows none of them", false, false},
		{"catalog", []string{"catalog/catalogdb", "catalog/sqlite", "catalog/postgres", "catalog/internal", "catalog/dbschema", "catalog/catalogtest"},
			"catalog is the domain: types and store interfaces, no SQL; its implementations sit under it, never the other way", true, false},
		{"catalog/internal", []string{"catalog/catalogdb", "catalog/sqlite", "catalog/postgres"},
			"the SQL shared by both backends takes a dialect; it knows neither backend", false, false},
		{"catalog/sqlite", []string{"catalog/catalogdb", "catalog/postgres"},
			"each backend is on its own; only the opener, catalog/catalogdb, knows both", false, false},
		{"catalog/postgres", []string{"catalog/catalogdb", "catalog/sqlite"},
			"each backend is on its own; only the opener, catalog/catalogdb, knows both", false, false},
		{"registry", []string{"importer", "mirror", "apiserver", "report", "internal/cli", "cmd"},
			"registry is called by importer, never the other way", false, false},
		{"signatures", []string{"importer", "apiserver", "report", "internal/cli", "cmd"},
			"signatures is called by importer, never the other way", false, false},
		{"importer", []string{"apiserver", "report", "internal/cli", "cmd", "importer/streamimport"},
			"importer is called by the command line and writes the catalog; it does not serve or report, and its core and orchestration know nothing of the ImageStreamImport mode built on them", false, false},
		{"importer", []string{"catalog/catalogdb", "catalog/sqlite", "catalog/postgres"},
			"importer writes through the catalog.Catalog the command line opened; nothing below the command line opens a catalog or knows its backend", false, false},
		{"registry", []string{"catalog/catalogdb", "catalog/sqlite", "catalog/postgres"},
			"nothing below the command line opens a catalog or knows its backend", false, false},
		{"signatures", []string{"catalog/catalogdb", "catalog/sqlite", "catalog/postgres"},
			"nothing below the command line opens a catalog or knows its backend", false, false},
		{"importer/imagestream", []string{"importer", "registry", "signatures"},
			"imagestream is OpenShift's image stream rules, shared by both import modes; it knows neither mode nor any registry", false, false},
		{"apiserver", []string{"importer", "registry", "signatures", "report", "mirror", "internal/cli", "cmd"},
			"apiserver reads the catalog only and never talks to a registry", false, false},
		{"apiserver", []string{"catalog/sqlite", "catalog/postgres", "catalog/dbschema", "catalog/catalogtest"},
			"apiserver reads the catalog through its interfaces (catalog), opened by catalog/catalogdb; it names no backend", false, true},
		{"report", []string{"importer", "registry", "signatures", "apiserver", "mirror", "internal/cli", "cmd"},
			"report reads the catalog only, offline", false, false},
		{"mirror", []string{"importer", "signatures", "apiserver", "report", "jobconfig", "internal/cli", "cmd"},
			"mirror turns catalog facts into copies: cmd -> mirror -> {registry, catalog}; it imports nothing, verifies nothing, and serves and reports nothing", false, false},
		{"mirror", []string{"catalog/sqlite", "catalog/postgres"},
			"mirror reads and records through the catalog.Catalog the command line opened; it names no backend", false, false},
		{"report", []string{"catalog/sqlite", "catalog/postgres", "catalog/dbschema", "catalog/catalogtest"},
			"report reads a catalog.ReportSource snapshot and owns its queries (report/query); it names no backend", false, true},
		{"internal/imageview", []string{"importer", "registry", "signatures", "internal/cli", "cmd"},
			"imageview renders catalog records for apiserver and get; it reads the catalog only", false, false},
		{"internal/imageview", []string{"catalog/catalogdb", "catalog/sqlite", "catalog/postgres"},
			"imageview renders catalog records it is given; it opens no catalog", false, false},
	}
}
