package registry

// DigestSource is the source the repository's digest pulls try first (its
// first mirror, else the registry itself). It is for requests about a
// manifest already in hand, such as its signatures, when no fetch of the
// manifest told which source served it.
func (r *Repository) DigestSource() *Source { return r.byDigest[0] }
