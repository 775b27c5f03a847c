package signatures

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/opencontainers/go-digest"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	sigstoresig "github.com/sigstore/sigstore/pkg/signature"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
)

// reqKind classifies a policy requirement by what it does to one signature.
type reqKind int

const (
	kindOther    reqKind = iota // signedBaseLayer and anything not about signatures
	kindAccept                  // insecureAcceptAnything
	kindReject                  // reject
	kindSignedBy                // signedBy: simple signing
	kindSigstore                // sigstoreSigned
)

// Certificate modes of a sigstoreSigned requirement.
const (
	certNone   = ""
	certFulcio = "fulcio"
	certPKI    = "pki"
)

// requirement is one parsed policy requirement with its key material loaded once.
// lib is the containers/image object itself, used for the decisions; the rest
// serves the per-signature checks that explain them.
type requirement struct {
	lib      signature.PolicyRequirement
	kind     reqKind
	desc     string          // for messages, e.g. `signedBy GPGKeys keyPath "/keys/a.gpg"`
	identity json.RawMessage // signedIdentity, as JSON
	rule     *identityRule   // identity decoded once, for the fast path; nil when it does not decode

	unsupported string // why the requirement cannot verify anything, if so

	// signedBy GPGKeys
	keyring openpgp.EntityList
	mech    signature.SigningMechanism
	keyIDs  []string // upper-case primary-key fingerprints
	// exactMech: mech was built by containers/image from exactly the bytes its
	// own evaluation of lib reads (one key source), so it may stand in for the
	// mechanism that evaluation builds per signature (fastpath.go).
	exactMech bool

	// sigstoreSigned
	keys      []sigstoreKey // public keys; empty in a certificate mode
	certMode  string
	rekor     bool
	rekorKeys []*ecdsa.PublicKey

	// sigstoreSigned fulcio, for sigstore bundles (see bundle.go): the CA
	// certificates the policy names and the identity it expects.
	fulcioCAs    []*x509.Certificate
	oidcIssuer   string
	subjectEmail string
}

type sigstoreKey struct {
	public      crypto.PublicKey
	verifier    sigstoresig.Verifier
	fingerprint string // sha256 of the PKIX DER, hex
}

// reqJSON mirrors the fields of the containers/image requirement types that this
// package needs. Their Go types are unexported there, but they marshal to the policy
// JSON they were parsed from, which is how we read them.
type reqJSON struct {
	Type     string   `json:"type"`
	KeyType  string   `json:"keyType"`
	KeyPath  string   `json:"keyPath"`
	KeyPaths []string `json:"keyPaths"`
	KeyData  []byte   `json:"keyData"`
	KeyDatas [][]byte `json:"keyDatas"`
	Fulcio   *struct {
		CAPath       string `json:"caPath"`
		CAData       []byte `json:"caData"`
		OIDCIssuer   string `json:"oidcIssuer"`
		SubjectEmail string `json:"subjectEmail"`
	} `json:"fulcio"`
	RekorPublicKeyPath  string   `json:"rekorPublicKeyPath"`
	RekorPublicKeyPaths []string `json:"rekorPublicKeyPaths"`
	RekorPublicKeyData  []byte   `json:"rekorPublicKeyData"`
	RekorPublicKeyDatas [][]byte `json:"rekorPublicKeyDatas"`
	PKI                 *struct {
		CARootsPath         string `json:"caRootsPath"`
		CARootsData         []byte `json:"caRootsData"`
		CAIntermediatesPath string `json:"caIntermediatesPath"`
		CAIntermediatesData []byte `json:"caIntermediatesData"`
	} `json:"pki"`
	SignedIdentity json.RawMessage `json:"signedIdentity"`
}

// keySource is one key blob and where it came from, for error messages.
type keySource struct {
	origin string // `key file "/x"` or `keyData`
	data   []byte
}

// loadPolicy parses the policy file and prepares the requirements of its default and
// of its "docker" transport scopes.
func loadPolicy(path string) (*signature.Policy, map[signature.PolicyRequirement]*requirement, error) {
	policy, err := signature.NewPolicyFromFile(path) // its errors name the file
	if err != nil {
		return nil, nil, fmt.Errorf("loading signature policy: %w", err)
	}
	reqs := map[signature.PolicyRequirement]*requirement{}
	prepareAll := func(scope string, list signature.PolicyRequirements) error {
		for i, lib := range list {
			if _, done := reqs[lib]; done {
				continue
			}
			r, err := prepareRequirement(lib)
			if err != nil {
				return fmt.Errorf("signature policy %s, scope %s, requirement %d: %w", path, scope, i+1, err)
			}
			reqs[lib] = r
		}
		return nil
	}
	if err := prepareAll(`"default"`, policy.Default); err != nil {
		return nil, nil, err
	}
	scopes := policy.Transports[docker.Transport.Name()]
	for _, name := range slices.Sorted(maps.Keys(scopes)) { // the same error every time
		if err := prepareAll(fmt.Sprintf("docker %q", name), scopes[name]); err != nil {
			return nil, nil, err
		}
	}
	return policy, reqs, nil
}

func prepareRequirement(lib signature.PolicyRequirement) (*requirement, error) {
	raw, err := json.Marshal(lib)
	if err != nil {
		return nil, fmt.Errorf("reading back the parsed requirement: %w", err)
	}
	var j reqJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("reading back the parsed requirement: %w", err)
	}
	r := &requirement{lib: lib, desc: j.Type, identity: j.SignedIdentity, rule: decodeIdentityRule(j.SignedIdentity)}
	switch j.Type {
	case "insecureAcceptAnything":
		r.kind = kindAccept
	case "reject":
		r.kind = kindReject
	case "signedBy":
		r.kind = kindSignedBy
		return r, r.loadGPG(j)
	case "sigstoreSigned":
		r.kind = kindSigstore
		return r, r.loadSigstore(j)
	default:
		r.kind = kindOther
	}
	return r, nil
}

func (r *requirement) loadGPG(j reqJSON) error {
	r.desc = "signedBy " + j.KeyType + describeKeys(j.KeyPath, j.KeyPaths, j.KeyData != nil)
	if j.KeyType != string(signature.SBKeyTypeGPGKeys) {
		r.unsupported = fmt.Sprintf("keyType %q is not implemented by containers/image", j.KeyType)
		return nil
	}
	sources, err := readKeySources(j.KeyPath, j.KeyPaths, j.KeyData, nil)
	if err != nil {
		return err
	}
	var serialized bytes.Buffer
	for _, src := range sources {
		list, err := openpgp.ReadKeyRing(bytes.NewReader(src.data))
		if err != nil {
			armored, errArmored := openpgp.ReadArmoredKeyRing(bytes.NewReader(src.data))
			if errArmored != nil {
				return fmt.Errorf("reading OpenPGP keys from %s: %w", src.origin, err)
			}
			list = armored
		}
		if len(list) == 0 {
			return fmt.Errorf("%s holds no OpenPGP public key", src.origin)
		}
		for _, e := range list {
			if err := e.Serialize(&serialized); err != nil {
				return fmt.Errorf("re-serializing OpenPGP key from %s: %w", src.origin, err)
			}
		}
		r.keyring = append(r.keyring, list...)
	}
	// One mechanism over all keys (containers/image takes one blob; armored files
	// cannot simply be concatenated, re-serialized binary packets can). With one
	// source, the source's own bytes: what containers/image's evaluation loads.
	blob := serialized.Bytes()
	if len(sources) == 1 {
		blob = sources[0].data
	}
	mech, ids, err := signature.NewEphemeralGPGSigningMechanism(blob)
	if err != nil {
		return fmt.Errorf("loading OpenPGP keys into containers/image: %w", err)
	}
	r.mech, r.keyIDs, r.exactMech = mech, ids, len(sources) == 1
	return nil
}

func (r *requirement) loadSigstore(j reqJSON) error {
	r.desc = "sigstoreSigned" + describeKeys(j.KeyPath, j.KeyPaths, j.KeyData != nil || j.KeyDatas != nil)
	sources, err := readKeySources(j.KeyPath, j.KeyPaths, j.KeyData, j.KeyDatas)
	if err != nil {
		return err
	}
	for _, src := range sources {
		pub, err := cryptoutils.UnmarshalPEMToPublicKey(src.data)
		if err != nil {
			return fmt.Errorf("parsing public key from %s: %w", src.origin, err)
		}
		k, err := newSigstoreKey(pub)
		if err != nil {
			return fmt.Errorf("public key from %s: %w", src.origin, err)
		}
		r.keys = append(r.keys, k)
	}
	rekor, err := readKeySources(j.RekorPublicKeyPath, j.RekorPublicKeyPaths, j.RekorPublicKeyData, j.RekorPublicKeyDatas)
	if err != nil {
		return fmt.Errorf("rekor public key: %w", err)
	}
	for _, src := range rekor {
		pub, err := cryptoutils.UnmarshalPEMToPublicKey(src.data)
		if err != nil {
			return fmt.Errorf("parsing Rekor public key from %s: %w", src.origin, err)
		}
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("Rekor public key from %s is not ECDSA", src.origin)
		}
		r.rekorKeys = append(r.rekorKeys, k)
	}
	r.rekor = len(rekor) > 0
	switch {
	case j.Fulcio != nil:
		r.certMode = certFulcio
		r.desc = "sigstoreSigned fulcio"
		cas, err := readCertSource("Fulcio CA", j.Fulcio.CAPath, j.Fulcio.CAData)
		if err != nil {
			return err
		}
		r.fulcioCAs, r.oidcIssuer, r.subjectEmail = cas, j.Fulcio.OIDCIssuer, j.Fulcio.SubjectEmail
	case j.PKI != nil:
		r.certMode = certPKI
		r.desc = "sigstoreSigned pki"
		if err := checkCertSource("PKI CA roots", j.PKI.CARootsPath, j.PKI.CARootsData); err != nil {
			return err
		}
		if j.PKI.CAIntermediatesPath != "" || j.PKI.CAIntermediatesData != nil {
			if err := checkCertSource("PKI CA intermediates", j.PKI.CAIntermediatesPath, j.PKI.CAIntermediatesData); err != nil {
				return err
			}
		}
	}
	if r.rekor {
		r.desc += " with Rekor"
	}
	return nil
}

func newSigstoreKey(pub crypto.PublicKey) (sigstoreKey, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return sigstoreKey{}, fmt.Errorf("marshalling to PKIX: %w", err)
	}
	verifier, err := sigstoresig.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return sigstoreKey{}, fmt.Errorf("loading a verifier: %w", err)
	}
	sum := sha256.Sum256(der)
	return sigstoreKey{public: pub, verifier: verifier, fingerprint: hex.EncodeToString(sum[:])}, nil
}

// readKeySources reads the one configured source of key material. containers/image
// reads these files only when it evaluates, so a missing file would otherwise show
// up as every signature rejected; reading them here makes it a configuration error.
func readKeySources(path string, paths []string, data []byte, datas [][]byte) ([]keySource, error) {
	var out []keySource
	if path != "" {
		paths = append([]string{path}, paths...)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading key file named by the policy: %w", err) // names the file
		}
		out = append(out, keySource{origin: fmt.Sprintf("key file %q", p), data: b})
	}
	if data != nil {
		out = append(out, keySource{origin: "keyData", data: data})
	}
	for i, d := range datas {
		out = append(out, keySource{origin: fmt.Sprintf("keyDatas[%d]", i), data: d})
	}
	return out, nil
}

func checkCertSource(what, path string, data []byte) error {
	_, err := readCertSource(what, path, data)
	return err
}

func readCertSource(what, path string, data []byte) ([]*x509.Certificate, error) {
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading %s named by the policy: %w", what, err)
		}
		data = b
	}
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM(data)
	if err != nil {
		return nil, fmt.Errorf("parsing %s %s: %w", what, path, err)
	}
	return certs, nil
}

func describeKeys(path string, paths []string, inline bool) string {
	switch {
	case path != "":
		return fmt.Sprintf(" keyPath %q", path)
	case len(paths) > 0:
		return fmt.Sprintf(" keyPaths %q", paths)
	case inline:
		return " keyData"
	}
	return ""
}

// policyReference is the docker transport reference the policy is evaluated for:
// the reference as written; a name-only one gets the manifest digest, one with both
// tag and digest loses the digest (containers/image accepts only one of them).
func policyReference(named reference.Named, d digest.Digest) (types.ImageReference, error) {
	if named == nil {
		return nil, errors.New("image reference is nil")
	}
	tagged, isTagged := named.(reference.NamedTagged)
	_, isDigested := named.(reference.Canonical)
	switch {
	case isTagged && isDigested:
		t, err := reference.WithTag(reference.TrimNamed(named), tagged.Tag())
		if err != nil {
			return nil, err
		}
		named = t
	case !isTagged && !isDigested:
		c, err := reference.WithDigest(reference.TrimNamed(named), d)
		if err != nil {
			return nil, fmt.Errorf("adding digest %q to %s: %w", d, named, err)
		}
		named = c
	}
	return docker.NewReference(named)
}

// scope returns the requirements of the policy that apply to ref, as containers/image
// selects them: the exact identity, then ever wider namespaces, then the transport's
// "" scope, then the policy default.
func scope(policy *signature.Policy, ref types.ImageReference) signature.PolicyRequirements {
	if scopes, ok := policy.Transports[docker.Transport.Name()]; ok {
		if reqs, ok := scopes[ref.PolicyConfigurationIdentity()]; ok {
			return reqs
		}
		for _, ns := range ref.PolicyConfigurationNamespaces() {
			if reqs, ok := scopes[ns]; ok {
				return reqs
			}
		}
		if reqs, ok := scopes[""]; ok {
			return reqs
		}
	}
	return policy.Default
}

// tagScopes are the policy's docker scopes that name a tag
// ("registry.example.com/app:latest"). containers/image consults one only
// for a pull of that tag, and a pair's verdict is for a pull by digest
// (importer.pairIdentity), so no verdict regimport records follows it.
func tagScopes(policy *signature.Policy) []string {
	var out []string
	for sc := range policy.Transports[docker.Transport.Name()] {
		if namesATag(sc) {
			out = append(out, sc)
		}
	}
	slices.Sort(out)
	return out
}

// namesATag reports whether a policy scope or registries.d namespace names
// a tag (and no digest).
func namesATag(scope string) bool {
	last := lastPathSegment(scope)
	return strings.Contains(last, ":") && !strings.Contains(last, "@")
}

// lastPathSegment is the part of a scope after its last "/", where a tag
// or digest goes; "" for a scope without a path, a host, whose ":" is a
// port's.
func lastPathSegment(scope string) string {
	i := strings.LastIndex(scope, "/")
	if i < 0 {
		return ""
	}
	return scope[i+1:]
}

// scopeFor is scope for a reference that may lack tag and digest.
func (v *Verifier) scopeFor(named reference.Named) ([]*requirement, error) {
	if v.policy == nil {
		return nil, nil
	}
	var ref types.ImageReference
	var err error
	if reference.IsNameOnly(named) {
		ref, err = docker.NewReferenceUnknownDigest(named)
	} else {
		ref, err = policyReference(named, "")
	}
	if err != nil {
		return nil, fmt.Errorf("policy scope of %s: %w", named, err)
	}
	return v.prepared(scope(v.policy, ref)), nil
}

func (v *Verifier) prepared(list signature.PolicyRequirements) []*requirement {
	out := make([]*requirement, 0, len(list))
	for _, lib := range list {
		if r, ok := v.reqs[lib]; ok {
			out = append(out, r)
		}
	}
	return out
}

// RequiresSignatures reports whether the policy in scope for ref verifies
// signatures (signedBy or sigstoreSigned), i.e. whether fetching them matters.
func (v *Verifier) RequiresSignatures(ref reference.Named) bool {
	reqs, err := v.scopeFor(ref)
	if err != nil {
		return false
	}
	for _, r := range reqs {
		if r.kind == kindSignedBy || r.kind == kindSigstore {
			return true
		}
	}
	return false
}

// RequiresSigstoreAttachments reports whether the policy in scope for ref has a
// sigstoreSigned requirement: then the sigstore attachment (tag sha256-<hex>.sig)
// must be read even when registries.d does not enable use-sigstore-attachments,
// or the image will be rejected for want of a signature.
func (v *Verifier) RequiresSigstoreAttachments(ref reference.Named) bool {
	reqs, err := v.scopeFor(ref)
	if err != nil {
		return false
	}
	for _, r := range reqs {
		if r.kind == kindSigstore {
			return true
		}
	}
	return false
}
