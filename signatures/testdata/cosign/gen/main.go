// Command gen regenerates the cosign CLI fixtures of package signatures: it
// starts the in-process test registry on loopback, pushes one fixed image,
// runs the cosign CLI given with -cosign against it (offline: a key pair,
// a signing config with no services), and writes what cosign stored back
// out of the registry, with the commands it ran. See ../README.md; run it
// through ../generate.sh. It is never run by the tests.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/regimport/regimport/internal/testregistry"
)

const (
	repo     = "fixtures/app"
	password = "regimport-fixture" // the throwaway key pair's passphrase
)

func main() {
	cosign := flag.String("cosign", "", "the cosign v3 binary")
	out := flag.String("out", "", "the directory to write the fixtures to")
	flag.Parse()
	if *cosign == "" || *out == "" {
		log.Fatal("usage: gen -cosign PATH -out DIR")
	}
	if err := run(context.Background(), *cosign, *out); err != nil {
		log.Fatal(err)
	}
}

type generator struct {
	cosign, work, out string
	host, tsaURL      string
	rekorURL          string
	commands          []string
}

func run(ctx context.Context, cosign, out string) error {
	work, err := os.MkdirTemp("", "regimport-cosign-fixtures-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	reg, err := testregistry.Start(ctx)
	if err != nil {
		return err
	}
	defer reg.Close()
	g := &generator{cosign: cosign, work: work, out: out, host: reg.Host()}

	manifest, blobs := image()
	d := digest.FromBytes(manifest)
	if err := reg.PushRaw(ctx, repo, "v1", imgspecv1.MediaTypeImageManifest, manifest, blobs...); err != nil {
		return err
	}
	ref := g.host + "/" + repo + "@" + d.String()
	version, err := exec.Command(cosign, "version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("cosign version: %w: %s", err, version)
	}
	auth, err := startTSA()
	if err != nil {
		return err
	}
	defer auth.close()
	g.tsaURL = auth.url()
	rekor, err := startRekor()
	if err != nil {
		return err
	}
	defer rekor.close()
	g.rekorURL = rekor.url()

	if err := g.cosignRun("generate-key-pair"); err != nil {
		return err
	}
	ca, err := certificateAuthority(work)
	if err != nil {
		return err
	}
	steps := [][]string{
		{"signing-config", "create", "--out", "offline.json"},
		// cosign v3's default: a sigstore bundle stored as an OCI 1.1 referrer
		// (here through the referrers tag schema), no log entry.
		{"sign", "--key", "cosign.key", "--signing-config", "offline.json", "--allow-http-registry", "--yes", ref},
		// The same with an RFC 3161 timestamp from the loopback authority:
		// a signing config whose only service is that TSA.
		{"signing-config", "create", "--tsa", "url=" + g.tsaURL + ",api-version=1,start-time=2024-01-01T00:00:00Z,operator=regimport-fixture",
			"--tsa-config", "ANY", "--out", "tsa.json"},
		{"sign", "--key", "cosign.key", "--signing-config", "tsa.json", "--allow-http-registry", "--yes", ref},
		// An attestation with a predicate of our own, also a bundle referrer.
		{"attest", "--key", "cosign.key", "--signing-config", "offline.json", "--allow-http-registry", "--yes",
			"--type", "https://example.com/regimport/fixture/v1", "--predicate", "predicate.json", ref},
		// cosign v2's format, which v3 still writes on request: the legacy
		// sha256-<hex>.sig attachment.
		{"sign", "--key", "cosign.key", "--new-bundle-format=false", "--use-signing-config=false", "--tlog-upload=false",
			"--allow-http-registry", "--yes", ref},
		// The key with a Fulcio-shaped certificate of the fixture CA, as a
		// legacy .sig (a second layer there) and as a bundle with an RFC 3161
		// timestamp: what cosign can do of keyless signing offline.
		{"sign", "--key", "cosign.key", "--certificate", "leaf.pem", "--certificate-chain", "chain.pem",
			"--new-bundle-format=false", "--use-signing-config=false", "--tlog-upload=false", "--allow-http-registry", "--yes", ref},
		{"sign", "--key", "cosign.key", "--certificate", "leaf.pem",
			"--signing-config", "tsa.json", "--allow-http-registry", "--yes", ref},
		// With the chain too, cosign v3.1.3 puts an x509CertificateChain into
		// a v0.3 bundle, which the bundle specification (and sigstore-go)
		// does not allow there.
		{"sign", "--key", "cosign.key", "--certificate", "leaf.pem", "--certificate-chain", "chain.pem",
			"--signing-config", "tsa.json", "--allow-http-registry", "--yes", ref},
		// What `cosign sign --key` does by default, with a log of our own on
		// loopback for the public Rekor: a bundle with a Rekor entry.
		{"signing-config", "create", "--rekor", "url=" + g.rekorURL + ",api-version=1,start-time=2024-01-01T00:00:00Z,operator=regimport-fixture",
			"--rekor-config", "ANY", "--out", "rekor.json"},
		{"sign", "--key", "cosign.key", "--signing-config", "rekor.json", "--allow-http-registry", "--yes", ref},
		// What cosign checks of each, offline.
		{"verify", "--key", "cosign.pub", "--insecure-ignore-tlog=true", "--allow-http-registry", ref},
		{"verify", "--key", "cosign.pub", "--trusted-root", "tsa.trusted_root.json", "--insecure-ignore-tlog=true", "--allow-http-registry", ref},
		{"verify", "--key", "cosign.pub", "--trusted-root", "rekor.trusted_root.json", "--allow-http-registry", ref},
	}
	rekorRoot, err := rekor.trustedRoot()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(work, "rekor.trusted_root.json"), rekorRoot, 0o600); err != nil {
		return err
	}
	trustedRoot, err := auth.trustedRoot()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(work, "tsa.trusted_root.json"), trustedRoot, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(work, "predicate.json"), []byte(`{"fixture":"regimport"}`+"\n"), 0o600); err != nil {
		return err
	}
	for _, args := range steps {
		if err := g.cosignRun(args...); err != nil {
			return err
		}
	}

	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	pub, err := os.ReadFile(filepath.Join(work, "cosign.pub"))
	if err != nil {
		return err
	}
	certRoot, err := certTrustedRoot(ca, auth)
	if err != nil {
		return err
	}
	caPEM, err := os.ReadFile(filepath.Join(work, "ca.pem"))
	if err != nil {
		return err
	}
	rekorPub, err := rekor.publicKeyPEM()
	if err != nil {
		return err
	}
	files := map[string][]byte{"cosign.pub": pub, "rekor.pub": rekorPub, "rekor.trusted_root.json": rekorRoot, "image.manifest.json": manifest, "tsa.trusted_root.json": trustedRoot,
		"ca.pem": caPEM, "cert.trusted_root.json": certRoot}
	if err := g.export(d, files); err != nil {
		return err
	}
	info, _ := json.MarshalIndent(map[string]string{
		"repository": g.host + "/" + repo, "digest": d.String(), "cosignVersion": gitVersion(string(version)),
	}, "", "  ")
	files["fixture.json"] = append(info, '\n')
	files["commands.txt"] = []byte(strings.Join(g.commands, "\n") + "\n")
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(out, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// cosignRun runs cosign in the work directory, with a HOME of its own and
// no network but loopback (the registry, the timestamp authority), and
// records the command.
func (g *generator) cosignRun(args ...string) error {
	cmd := exec.Command(g.cosign, args...)
	cmd.Dir = g.work
	cmd.Env = []string{"HOME=" + g.work, "PATH=/usr/bin:/bin", "COSIGN_PASSWORD=" + password,
		"TUF_ROOT=" + filepath.Join(g.work, "tuf"), "SIGSTORE_NO_CACHE=true",
		// Anything but loopback goes to a closed port: nothing leaves the machine.
		"NO_PROXY=127.0.0.1,localhost", "HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9"}
	var outBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outBuf, &outBuf
	line := "cosign " + strings.NewReplacer(g.tsaURL, "$TSA_URL", g.rekorURL, "$REKOR_URL", g.host, "$REGISTRY").Replace(strings.Join(args, " "))
	g.commands = append(g.commands, line)
	log.Print(line)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", line, err, outBuf.String())
	}
	return nil
}

// export reads back what cosign stored for the image: the referrers tag
// schema index and each bundle it lists, and the legacy .sig attachment.
func (g *generator) export(d digest.Digest, files map[string][]byte) error {
	tag := "sha256-" + d.Encoded()
	index, err := g.get("/v2/"+repo+"/manifests/"+tag, imgspecv1.MediaTypeImageIndex)
	if err != nil {
		return fmt.Errorf("referrers tag schema index: %w", err)
	}
	var idx imgspecv1.Index
	if err := json.Unmarshal(index, &idx); err != nil {
		return err
	}
	for _, desc := range idx.Manifests {
		m, err := g.get("/v2/"+repo+"/manifests/"+desc.Digest.String(), desc.MediaType)
		if err != nil {
			return err
		}
		var art imgspecv1.Manifest
		if err := json.Unmarshal(m, &art); err != nil {
			return err
		}
		if len(art.Layers) != 1 || art.Subject == nil || art.Subject.Digest != d {
			return fmt.Errorf("referrer %s: %d layers, subject %v", desc.Digest, len(art.Layers), art.Subject)
		}
		layer, err := g.get("/v2/"+repo+"/blobs/"+art.Layers[0].Digest.String(), "")
		if err != nil {
			return err
		}
		name := "sign"
		switch {
		case hasTlogEntries(layer):
			name = "sign.rekor"
		case art.Annotations["dev.sigstore.bundle.predicateType"] != "https://sigstore.dev/cosign/sign/v1":
			name = "attest"
		case bytes.Contains(layer, []byte(`"x509CertificateChain"`)):
			name = "sign.certchain"
		case !bytes.Contains(layer, []byte(`"publicKey"`)):
			name = "sign.cert"
		case bytes.Contains(layer, []byte(`"rfc3161Timestamps"`)):
			name = "sign.tsa"
		}
		if files[name+".bundle.json"] != nil {
			return fmt.Errorf("two %s bundles", name)
		}
		files[name+".manifest.json"], files[name+".bundle.json"] = m, layer
	}
	for _, name := range []string{"sign", "sign.rekor", "sign.tsa", "sign.cert", "sign.certchain", "attest"} {
		if files[name+".bundle.json"] == nil {
			return fmt.Errorf("the referrers index lists no %s bundle", name)
		}
	}
	sig, err := g.get("/v2/"+repo+"/manifests/"+tag+".sig", imgspecv1.MediaTypeImageManifest)
	if err != nil {
		return fmt.Errorf("legacy .sig attachment: %w", err)
	}
	var att imgspecv1.Manifest
	if err := json.Unmarshal(sig, &att); err != nil {
		return err
	}
	// One layer per signature: the key's, then the certificate's. cosign
	// writes the same payload for both, so there is one blob.
	if len(att.Layers) != 2 || att.Layers[0].Digest != att.Layers[1].Digest {
		return fmt.Errorf("legacy .sig attachment with %d layers, want two of one payload", len(att.Layers))
	}
	payload, err := g.get("/v2/"+repo+"/blobs/"+att.Layers[0].Digest.String(), "")
	if err != nil {
		return err
	}
	files["legacy.sig.manifest.json"], files["legacy.sig.payload.json"] = sig, payload
	return nil
}

// hasTlogEntries tells a bundle with transparency-log entries.
func hasTlogEntries(bundle []byte) bool {
	var b struct {
		VerificationMaterial struct {
			TlogEntries []json.RawMessage `json:"tlogEntries"`
		} `json:"verificationMaterial"`
	}
	return json.Unmarshal(bundle, &b) == nil && len(b.VerificationMaterial.TlogEntries) > 0
}

// gitVersion is the GitVersion line of `cosign version`.
func gitVersion(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "GitVersion:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func (g *generator) get(path, accept string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+g.host+path, nil)
	if err != nil {
		return nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return b, nil
}

// image is one fixed OCI image: the same bytes, so the same digest, on every
// run; only the signatures change.
func image() ([]byte, [][]byte) {
	var layer bytes.Buffer
	zw := gzip.NewWriter(&layer)
	tw := tar.NewWriter(zw)
	content := []byte("regimport cosign fixture\n")
	_ = tw.WriteHeader(&tar.Header{Name: "fixture.txt", Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0), Format: tar.FormatPAX})
	_, _ = tw.Write(content)
	_ = tw.Close()
	_ = zw.Close()
	diffID := digest.FromBytes(uncompressed(layer.Bytes()))
	config, _ := json.Marshal(imgspecv1.Image{Platform: imgspecv1.Platform{Architecture: "amd64", OS: "linux"},
		RootFS: imgspecv1.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}}})
	m := imgspecv1.Manifest{MediaType: imgspecv1.MediaTypeImageManifest,
		Config: imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageConfig, Digest: digest.FromBytes(config), Size: int64(len(config))},
		Layers: []imgspecv1.Descriptor{{MediaType: imgspecv1.MediaTypeImageLayerGzip, Digest: digest.FromBytes(layer.Bytes()), Size: int64(layer.Len())}}}
	m.SchemaVersion = 2
	raw, _ := json.Marshal(m)
	return raw, [][]byte{config, layer.Bytes()}
}

func uncompressed(gz []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		panic(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		panic(err)
	}
	return b
}
