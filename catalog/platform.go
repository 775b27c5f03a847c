package catalog

// Platform is where an image runs, as its config says: the wire schema
// keeps only the architecture, the catalog keeps all three.
type Platform struct {
	Architecture, OS, Variant string
}

// String is the platform as os/architecture[/variant], the one spelling
// every listing uses (the report's SQL spells a list's children by the
// same rule, report/query).
func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}
