package imagestream

import (
	"fmt"

	"go.podman.io/image/v5/docker/reference"
)

// From is a from.name read as OpenShift's reference.Parse reads it: the
// grammar of Docker references without normalization, the tag and digest
// as written.
type From struct {
	Named   reference.Named // as written, not normalized
	Tag, ID string
}

// ParseFrom applies OpenShift's grammar and messages
// (library-go's reference.Parse).
func ParseFrom(s string) (From, error) {
	ref, err := reference.Parse(s)
	if err != nil {
		return From{}, err
	}
	named, ok := ref.(reference.Named)
	if !ok {
		return From{}, fmt.Errorf("reference %s has no name", ref.String())
	}
	out := From{Named: named}
	if t, ok := named.(reference.Tagged); ok {
		out.Tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		out.ID = d.Digest().String()
	}
	return out, nil
}

// Normalized is the repository to fetch from: OpenShift's client defaults
// (docker.io, library/) as containers/image applies them. A name that
// OpenShift's grammar accepts but no registry can serve (a bare 64-hex
// name) fails here, which makes the image Invalid, as OpenShift's importer
// reports it.
func (f From) Normalized() (reference.Named, error) {
	n, err := reference.ParseNormalizedNamed(f.Named.Name())
	if err != nil {
		return nil, err
	}
	return reference.TrimNamed(n), nil
}
