package cli

import (
	"flag"

	"github.com/regimport/regimport/signatures"
)

// modernSignatureFlags are the trust material of signatures stored as OCI
// 1.1 referrers: sigstore's trusted root for keyless cosign bundles, and
// notation's trust policy and trust store. import and verify share them.
type modernSignatureFlags struct {
	trustedRoot    string
	notationPolicy string
	notationStore  string
}

func (f *modernSignatureFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.trustedRoot, "sigstore-trusted-root", "", "sigstore trusted_root.json (Fulcio CAs, Rekor logs, timestamp authorities) for keyless cosign bundles")
	fs.StringVar(&f.notationPolicy, "notation-trust-policy", "", "notation trustpolicy.json to verify notation signatures against")
	fs.StringVar(&f.notationStore, "notation-trust-store", "", "notation trust store directory (holding x509/ca/NAME/...) the trust policy names")
}

func (f *modernSignatureFlags) apply(o *signatures.Options) {
	o.SigstoreTrustedRoot, o.NotationTrustPolicy, o.NotationTrustStore = f.trustedRoot, f.notationPolicy, f.notationStore
}
