package cli

import (
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/registry"
	"github.com/regimport/regimport/signatures"
	"go.podman.io/image/v5/types"
)

// Defaults of the containers tools, used when present (under --config-root).
const (
	defaultPolicy      = "/etc/containers/policy.json"
	defaultRegistriesD = "/etc/containers/registries.d"
)

type signatureFlags struct {
	policy      string
	registriesD string
	noSigs      bool
	// artifactsAsImages imports cosign and referrers-tag artifacts as plain images.
	artifactsAsImages bool
	modern            modernSignatureFlags
}

func (f *signatureFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.policy, "policy", "", "containers-policy.json to verify signatures against (default "+defaultPolicy+" under --config-root, when present)")
	fs.StringVar(&f.registriesD, "registries.d", "", "registries.d directory: lookaside stores and sigstore attachments (default "+defaultRegistriesD+" under --config-root, when present)")
	fs.BoolVar(&f.noSigs, "no-signatures", false, "do not look up or verify signatures")
	fs.BoolVar(&f.artifactsAsImages, "artifact-tags-as-images", false, "import signature and attestation tags (sha256-<hex>.sig, .att, .sbom and referrers-tag-schema indexes) of listed repositories as plain images")
	f.modern.register(fs)
}

// options builds the importer's signature options. Explicit paths must
// exist; defaults are used only when present. With neither a policy nor a
// registries.d, signatures are not looked up (nothing could judge them).
func (f *signatureFlags) options(log *slog.Logger, sys *types.SystemContext) (importer.SignatureOptions, error) {
	if f.noSigs {
		return importer.SignatureOptions{}, nil
	}
	root := sys.RootForImplicitAbsolutePaths
	policy, err := pathOrDefault("--policy", f.policy, underRoot(root, defaultPolicy))
	if err != nil {
		return importer.SignatureOptions{}, err
	}
	dir, err := pathOrDefault("--registries.d", f.registriesD, underRoot(root, defaultRegistriesD))
	if err != nil {
		return importer.SignatureOptions{}, err
	}
	if policy == "" && dir == "" && f.modern.notationPolicy == "" {
		return importer.SignatureOptions{}, nil
	}
	vo := signatures.Options{PolicyPath: policy, Logger: log, TempDir: fastTempDir()}
	f.modern.apply(&vo)
	v, err := signatures.NewVerifier(vo)
	if err != nil {
		return importer.SignatureOptions{}, err
	}
	opts := importer.SignatureOptions{Verifier: v, Referrers: &registry.ReferrerLookup{}}
	if dir != "" {
		sys.RegistriesDirPath = dir
		if opts.Registries, err = signatures.LoadRegistries(sys); err != nil {
			return importer.SignatureOptions{}, err
		}
		for _, ns := range opts.Registries.TagNamespaces() {
			log.Warn("registries.d namespace names a tag; signatures are looked up for pulls by digest, which do not consult it",
				"namespace", ns, "registries.d", dir)
		}
	}
	return opts, nil
}

func pathOrDefault(flagName, given, def string) (string, error) {
	if given != "" {
		if _, err := os.Stat(given); err != nil {
			return "", fmt.Errorf("%s %s: %w", flagName, given, err)
		}
		return given, nil
	}
	if fileExists(def) {
		return def, nil
	}
	return "", nil
}

// fastTempDir is a tmpfs when the machine has one: sigstore verification
// hands each image to containers/image through a short-lived directory,
// which costs milliseconds on a disk and well under one in memory.
func fastTempDir() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if f, err := os.CreateTemp("/dev/shm", "regimport-probe-"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return "/dev/shm"
		}
	}
	return ""
}
