package signatures

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
	"github.com/regimport/regimport/internal/redact"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/types"
	"go.yaml.in/yaml/v3"
)

// Registries answers, per repository, where its signatures live according to one
// registries.d directory: the lookaside base URL (computed by containers/image) and
// whether sigstore attachments are enabled (containers/image keeps that unexported,
// so the directory is parsed here too). The directory is read once; results are
// cached per repository. Safe for concurrent use.
type Registries struct {
	sys       types.SystemContext
	docker    map[string]registryNamespace
	def       *registryNamespace
	tagScoped bool // some namespace names a tag or digest: cache per identity, not per repository

	mu    sync.Mutex
	bases map[string]*url.URL
}

// registryNamespace is the part of a registries.d entry read here.
type registryNamespace struct {
	Lookaside              string `yaml:"lookaside"`
	SigStore               string `yaml:"sigstore"` // deprecated spelling of lookaside
	UseSigstoreAttachments *bool  `yaml:"use-sigstore-attachments"`
}

type registriesFile struct {
	DefaultDocker *registryNamespace           `yaml:"default-docker"`
	Docker        map[string]registryNamespace `yaml:"docker"`
}

// LoadRegistries reads sys.RegistriesDirPath, which must be set: without it
// containers/image falls back to the system directories and to a local default
// lookaside directory even for remote registries. A missing directory is an empty
// configuration, as for containers/image; a file that does not parse, or a namespace
// defined twice, is an error naming the file.
func LoadRegistries(sys *types.SystemContext) (*Registries, error) {
	if sys == nil || sys.RegistriesDirPath == "" {
		return nil, errors.New("registries.d: SystemContext.RegistriesDirPath must be set")
	}
	r := &Registries{sys: *sys, docker: map[string]registryNamespace{}, bases: map[string]*url.URL{}}
	entries, err := os.ReadDir(sys.RegistriesDirPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("registries.d: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	defFrom, nsFrom := "", map[string]string{}
	for _, name := range names {
		path := filepath.Join(sys.RegistriesDirPath, name)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("registries.d: %w", err)
		}
		var f registriesFile
		if err := yaml.Unmarshal(data, &f); err != nil {
			return nil, fmt.Errorf("registries.d: parsing %s: %w", path, err)
		}
		if f.DefaultDocker != nil {
			if defFrom != "" {
				return nil, fmt.Errorf(`registries.d: "default-docker" defined both in %s and %s`, defFrom, path)
			}
			r.def, defFrom = f.DefaultDocker, path
		}
		for ns, cfg := range f.Docker {
			if prev, dup := nsFrom[ns]; dup {
				return nil, fmt.Errorf(`registries.d: "docker" namespace %q defined both in %s and %s`, ns, prev, path)
			}
			r.docker[ns], nsFrom[ns] = cfg, path
			if strings.ContainsAny(lastPathSegment(ns), ":@") { // a tag or digest
				r.tagScoped = true
			}
		}
	}
	return r, nil
}

// TagNamespaces are the "docker" namespaces that name a tag
// ("registry.example.com/app:latest"). containers/image consults one only
// for a pull of that tag, and a pair's signatures are looked up for a pull
// by digest (importer.pairIdentity), so no lookup regimport makes follows
// it.
func (r *Registries) TagNamespaces() []string {
	var out []string
	for ns := range r.docker {
		if namesATag(ns) {
			out = append(out, ns)
		}
	}
	sort.Strings(out)
	return out
}

// LookasideBase returns the lookaside URL of ref's repository (containers/image's
// SignatureStorageBaseURL: the configured "lookaside" plus "/<repository path>", or
// its built-in local directory when none is configured) and whether
// use-sigstore-attachments applies to ref. ref may be name-only, tagged or digested.
// The URL is the caller's to modify.
func (r *Registries) LookasideBase(ref reference.Named) (*url.URL, bool, error) {
	imgRef, err := lookupReference(ref)
	if err != nil {
		return nil, false, err
	}
	key := ref.Name()
	if r.tagScoped {
		key = imgRef.PolicyConfigurationIdentity()
	}
	// Per repository, looked up under the lock: containers/image reads and
	// parses all of registries.d for each lookup, and the workers that start
	// on one repository together would otherwise each do it. Per tag, the
	// lookups are as many as the images, so they are made outside the lock.
	r.mu.Lock()
	base, ok := r.bases[key]
	if !ok && !r.tagScoped {
		defer r.mu.Unlock()
	} else {
		r.mu.Unlock()
	}
	if !ok {
		base, err = docker.SignatureStorageBaseURL(&r.sys, imgRef, false)
		if err != nil {
			return nil, false, fmt.Errorf("lookaside for %s: %w", ref, err)
		}
		if r.tagScoped {
			r.mu.Lock()
			defer r.mu.Unlock()
		}
		r.bases[key] = base
	}
	u := *base
	return &u, r.useSigstoreAttachments(imgRef), nil
}

// UseSigstoreAttachments reports whether registries.d enables sigstore attachments
// for ref (the most specific "docker" namespace that sets it, else "default-docker").
func (r *Registries) UseSigstoreAttachments(ref reference.Named) bool {
	imgRef, err := lookupReference(ref)
	if err != nil {
		return false
	}
	return r.useSigstoreAttachments(imgRef)
}

func (r *Registries) useSigstoreAttachments(ref types.ImageReference) bool {
	for _, ns := range append([]string{ref.PolicyConfigurationIdentity()}, ref.PolicyConfigurationNamespaces()...) {
		if cfg, ok := r.docker[ns]; ok && cfg.UseSigstoreAttachments != nil {
			return *cfg.UseSigstoreAttachments
		}
	}
	if r.def != nil && r.def.UseSigstoreAttachments != nil {
		return *r.def.UseSigstoreAttachments
	}
	return false
}

func lookupReference(ref reference.Named) (types.ImageReference, error) {
	if ref == nil {
		return nil, errors.New("lookaside: reference is nil")
	}
	var imgRef types.ImageReference
	var err error
	switch {
	case reference.IsNameOnly(ref):
		imgRef, err = docker.NewReferenceUnknownDigest(ref)
	default:
		imgRef, err = policyReference(ref, "")
	}
	if err != nil {
		return nil, fmt.Errorf("lookaside for %s: %w", ref, err)
	}
	return imgRef, nil
}

// FetchLookaside reads the signatures of manifest d from a lookaside store: base is
// LookasideBase's URL (it already ends in the repository path), and signature N is
// at <base>@sha256=<hex>/signature-N. N counts from 1 until the first missing one, so
// an image without signatures costs one request. http and https use client (nil:
// http.DefaultClient); file URLs are read from disk. Each blob is capped at
// MaxSignatureSize (ErrTooLarge); more than MaxSignatures is ErrTooManySignatures.
// Any answer but 200 and 404 is an error naming the URL; on error no signatures are
// returned.
func FetchLookaside(ctx context.Context, client *http.Client, base *url.URL, d digest.Digest) ([]Signature, error) {
	if base == nil {
		return nil, errors.New("lookaside: base URL is nil")
	}
	if err := d.Validate(); err != nil { // Encoded() panics on bad input, and a bad one could contain ../
		return nil, fmt.Errorf("lookaside: digest %q: %w", d, err)
	}
	if client == nil {
		client = http.DefaultClient
	}
	var get func(*url.URL) ([]byte, bool, error)
	switch base.Scheme {
	case "http", "https":
		get = func(u *url.URL) ([]byte, bool, error) { return getHTTP(ctx, client, u) }
	case "file":
		get = func(u *url.URL) ([]byte, bool, error) { return getFile(ctx, u) }
	default:
		return nil, fmt.Errorf("lookaside %s: unsupported URL scheme %q", redact.URL(base.String()), base.Scheme)
	}
	var out []Signature
	for n := 1; ; n++ {
		u := *base
		u.RawPath = ""
		u.Path = fmt.Sprintf("%s@%s=%s/signature-%d", base.Path, d.Algorithm(), d.Encoded(), n)
		blob, found, err := get(&u)
		if err != nil {
			return nil, err
		}
		if !found {
			return out, nil
		}
		if n > MaxSignatures {
			return nil, fmt.Errorf("lookaside %s: %w: more than %d signatures", redact.URL(base.String()), ErrTooManySignatures, MaxSignatures)
		}
		sig, err := parseStoredBlob(blob, SourceLookaside)
		if err != nil {
			return nil, fmt.Errorf("lookaside %s: %w", redact.URL(u.String()), err)
		}
		out = append(out, sig)
	}
}

func getHTTP(ctx context.Context, client *http.Client, u *url.URL) ([]byte, bool, error) {
	where := "GET " + redact.URL(u.String())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", where, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		// Go's *url.Error names the URL again (with its user name, and its
		// query unredacted): name it once, here.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, false, fmt.Errorf("%s: %w", where, err)
	}
	defer func() { _ = resp.Body.Close() }()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096)) // lets the connection be reused
		return nil, false, nil
	default:
		// The status text is Go's: the server's reason phrase is its own text.
		return nil, false, fmt.Errorf("%s: %d %s", where, resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	// A signature is binary (OpenPGP) or the stored-blob format; an HTML
	// page is a web server's answer for something else (a login page, a
	// catch-all), never a signature.
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/html" {
		return nil, false, fmt.Errorf("%s: answered %s, not a signature", where, mt)
	}
	blob, err := readCapped(resp.Body, MaxSignatureSize)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", where, err)
	}
	return blob, true, nil
}

func getFile(ctx context.Context, u *url.URL) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	f, err := os.Open(u.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err // an *os.PathError names the file
	}
	defer func() { _ = f.Close() }()
	blob, err := readCapped(f, MaxSignatureSize)
	if err != nil {
		return nil, false, fmt.Errorf("lookaside %s: %w", u.Path, err)
	}
	return blob, true, nil
}

// readCapped reads r whole, or fails with ErrTooLarge past limit bytes.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	return b, nil
}

// parseStoredBlob reads a lookaside blob: plain OpenPGP (simple signing), or the
// marked format containers/image also uses (a zero byte, "simple-signing" or
// "sigstore-json", a newline, the data). Only a sigstore blob that does not parse is
// an error.
func parseStoredBlob(blob []byte, source string) (Signature, error) {
	switch {
	case bytes.HasPrefix(blob, []byte(storedSimplePrefix)):
		blob = blob[len(storedSimplePrefix):]
	case bytes.HasPrefix(blob, []byte(storedSigstorePrefix)):
		var env storedSigstore
		if err := json.Unmarshal(blob[len(storedSigstorePrefix):], &env); err != nil {
			return Signature{}, fmt.Errorf("sigstore signature blob: %w", err)
		}
		s := Signature{
			Source:            source,
			Type:              TypeSigstore,
			Content:           env.Payload,
			SigstoreSignature: env.Annotations[SigstoreSignatureAnnotation],
			Certificate:       env.Annotations[SigstoreCertificateAnnotation],
			Chain:             env.Annotations[SigstoreChainAnnotation],
			Bundle:            env.Annotations[SigstoreBundleAnnotation],
		}
		s.Name = SignatureName(s)
		return s, nil
	}
	// Anything else, even an unknown format, is kept as found: Verify records it as
	// a corrupt signature instead of one bad blob hiding the others.
	s := Signature{Source: source, Type: TypeAtomic, Content: blob}
	s.Name = SignatureName(s)
	return s, nil
}
