// Command gen regenerates the notation CLI fixtures of package signatures:
// it starts the in-process test registry on loopback, pushes one fixed image,
// makes a root CA and two code-signing certificates under it (one valid for
// twenty years, one for a few seconds), runs the notation CLI given with
// -notation to sign the image with each (JWS and COSE envelopes), waits for
// the short-lived certificate to expire, lets the CLI verify the image, and
// writes each signature's referrer manifest and envelope with the commands it
// ran. See ../README.md; run it through ../generate.sh. It is never run by
// the tests.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
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

const repo = "fixtures/app"

// The signers' subjects, as trustedIdentities names them.
var (
	releaseSubject  = pkix.Name{CommonName: "Release Signer", Organization: []string{"regimport fixtures"}, Country: []string{"US"}, Province: []string{"WA"}}
	expiringSubject = pkix.Name{CommonName: "Expiring Signer", Organization: []string{"regimport fixtures"}, Country: []string{"US"}, Province: []string{"WA"}}
)

func main() {
	notation := flag.String("notation", "", "the notation CLI binary")
	out := flag.String("out", "", "the directory to write the fixtures to")
	flag.Parse()
	if *notation == "" || *out == "" {
		log.Fatal("usage: gen -notation PATH -out DIR")
	}
	if err := run(context.Background(), *notation, *out); err != nil {
		log.Fatal(err)
	}
}

type generator struct {
	notation, work, host string
	commands             []string
}

func run(ctx context.Context, notation, out string) error {
	work, err := os.MkdirTemp("", "regimport-notation-fixtures-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	reg, err := testregistry.Start(ctx)
	if err != nil {
		return err
	}
	defer reg.Close()
	g := &generator{notation: notation, work: work, host: reg.Host()}

	manifest, blobs := image()
	d := digest.FromBytes(manifest)
	if err := reg.PushRaw(ctx, repo, "v1", imgspecv1.MediaTypeImageManifest, manifest, blobs...); err != nil {
		return err
	}
	ref := g.host + "/" + repo + "@" + d.String()
	version, err := exec.Command(notation, "version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("notation version: %w: %s", err, version)
	}

	// The short-lived certificate expires a few seconds after it is made:
	// long enough to sign with it, expired by the time anyone verifies.
	expiresAt := time.Now().Truncate(time.Second).Add(5 * time.Second)
	rootPEM, err := g.keys(expiresAt)
	if err != nil {
		return err
	}
	files := map[string][]byte{"image.manifest.json": manifest, "root.crt": rootPEM}
	for _, s := range []struct {
		name string
		args []string
	}{
		{"jws", []string{"sign", "--insecure-registry", "--key", "release", "--signature-format", "jws", ref}},
		{"cose", []string{"sign", "--insecure-registry", "--key", "release", "--signature-format", "cose", ref}},
		{"expired", []string{"sign", "--insecure-registry", "--key", "expiring", "--signature-format", "jws", ref}},
	} {
		before, err := g.referrers(d)
		if err != nil {
			return err
		}
		if err := g.run(s.args...); err != nil {
			return err
		}
		if err := g.exportNew(d, before, s.name, files); err != nil {
			return err
		}
	}
	time.Sleep(time.Until(expiresAt.Add(time.Second)))
	// What the CLI itself checks of them, offline: the trust store and a
	// trust policy naming the release signer.
	if err := os.WriteFile(filepath.Join(work, "trustpolicy.json"), trustPolicy(), 0o600); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"cert", "add", "--type", "ca", "--store", "fixtures", "root.crt"},
		{"policy", "import", "--force", "trustpolicy.json"},
		{"verify", "--insecure-registry", ref},
	} {
		if err := g.run(args...); err != nil {
			return err
		}
	}

	info, _ := json.MarshalIndent(map[string]string{
		"repository": g.host + "/" + repo, "digest": d.String(), "notationVersion": versionLine(string(version)),
		"expiringCertificateNotAfter": expiresAt.UTC().Format(time.RFC3339),
	}, "", "  ")
	files["fixture.json"] = append(info, '\n')
	files["trustpolicy.json"] = trustPolicy()
	files["commands.txt"] = []byte(strings.Join(g.commands, "\n") + "\n")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(out, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// trustPolicy is the trust policy the CLI verifies with: strict, the
// fixture CA's store, the release signer only.
func trustPolicy() []byte {
	b, _ := json.MarshalIndent(map[string]any{"version": "1.0", "trustPolicies": []any{map[string]any{
		"name": "fixtures", "registryScopes": []string{"*"}, "signatureVerification": map[string]any{"level": "strict"},
		"trustStores": []string{"ca:fixtures"}, "trustedIdentities": []string{"x509.subject: " + subjectString(releaseSubject)},
	}}}, "", "  ")
	return append(b, '\n')
}

// subjectString is how notation spells a subject in trustedIdentities.
func subjectString(n pkix.Name) string {
	return "C=" + n.Country[0] + ", ST=" + n.Province[0] + ", O=" + n.Organization[0] + ", CN=" + n.CommonName
}

// run runs notation in the work directory, with a HOME and configuration
// directory of its own and no network but loopback, and records the command.
func (g *generator) run(args ...string) error {
	cmd := exec.Command(g.notation, args...)
	cmd.Dir = g.work
	cmd.Env = []string{"HOME=" + g.work, "XDG_CONFIG_HOME=" + filepath.Join(g.work, "config"), "PATH=/usr/bin:/bin",
		"NO_PROXY=127.0.0.1,localhost", "HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9"}
	var outBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outBuf, &outBuf
	line := "notation " + strings.ReplaceAll(strings.Join(args, " "), g.host, "$REGISTRY")
	g.commands = append(g.commands, line)
	log.Print(line)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", line, err, outBuf.String())
	}
	log.Print(strings.TrimSpace(outBuf.String()))
	return nil
}

// keys makes the root CA and the two signers' keys and certificate chains,
// and names them in notation's signingkeys.json (keys notation signs with
// from files, as `notation key add` would for a plugin). It returns the
// root in PEM.
func (g *generator) keys(expiresAt time.Time) ([]byte, error) {
	now := time.Now()
	rootKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1),
		Subject:   pkix.Name{CommonName: "regimport notation fixture CA", Organization: []string{"regimport fixtures"}, Country: []string{"US"}, Province: []string{"WA"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(20, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		return nil, err
	}
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return nil, err
	}
	rootPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER})
	type entry struct {
		Name     string `json:"name"`
		KeyPath  string `json:"keyPath"`
		CertPath string `json:"certPath"`
	}
	var entries []entry
	for i, s := range []struct {
		name     string
		subject  pkix.Name
		notAfter time.Time
	}{{"release", releaseSubject, now.AddDate(20, 0, 0)}, {"expiring", expiringSubject, expiresAt}} {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(10 + i)), Subject: s.subject, NotBefore: now.Add(-time.Minute), NotAfter: s.notAfter,
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, BasicConstraintsValid: true}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, root, key.Public(), rootKey)
		if err != nil {
			return nil, err
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		keyPath, certPath := filepath.Join(g.work, s.name+".key"), filepath.Join(g.work, s.name+".crt")
		chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), rootPEM...)
		if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
			return nil, err
		}
		if err := os.WriteFile(certPath, chain, 0o600); err != nil {
			return nil, err
		}
		entries = append(entries, entry{Name: s.name, KeyPath: keyPath, CertPath: certPath})
	}
	conf := filepath.Join(g.work, "config", "notation")
	if err := os.MkdirAll(conf, 0o700); err != nil {
		return nil, err
	}
	sk, _ := json.Marshal(map[string]any{"default": "release", "keys": entries})
	if err := os.WriteFile(filepath.Join(conf, "signingkeys.json"), sk, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(g.work, "root.crt"), rootPEM, 0o600); err != nil {
		return nil, err
	}
	return rootPEM, nil
}

// referrers lists the notation signatures of the image, through the
// referrers API or, where notation fell back to it, the referrers tag schema.
func (g *generator) referrers(d digest.Digest) (map[digest.Digest]imgspecv1.Descriptor, error) {
	out := map[digest.Digest]imgspecv1.Descriptor{}
	for _, path := range []string{"/v2/" + repo + "/referrers/" + d.String(), "/v2/" + repo + "/manifests/sha256-" + d.Encoded()} {
		b, status, err := g.get(path, imgspecv1.MediaTypeImageIndex)
		if err != nil {
			return nil, err
		}
		if status == http.StatusNotFound {
			continue
		}
		if status != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %d", path, status)
		}
		var idx imgspecv1.Index
		if err := json.Unmarshal(b, &idx); err != nil {
			return nil, fmt.Errorf("GET %s: %w", path, err)
		}
		for _, desc := range idx.Manifests {
			if desc.ArtifactType == "application/vnd.cncf.notary.signature" {
				out[desc.Digest] = desc
			}
		}
	}
	return out, nil
}

// exportNew finds the one signature a sign step added and stores its
// referrer manifest and envelope as NAME.manifest.json and NAME.sig.
func (g *generator) exportNew(d digest.Digest, before map[digest.Digest]imgspecv1.Descriptor, name string, files map[string][]byte) error {
	after, err := g.referrers(d)
	if err != nil {
		return err
	}
	var added []imgspecv1.Descriptor
	for dg, desc := range after {
		if _, ok := before[dg]; !ok {
			added = append(added, desc)
		}
	}
	if len(added) != 1 {
		return fmt.Errorf("%s: %d new notation signatures, want one", name, len(added))
	}
	m, status, err := g.get("/v2/"+repo+"/manifests/"+added[0].Digest.String(), imgspecv1.MediaTypeImageManifest)
	if err != nil || status != http.StatusOK {
		return fmt.Errorf("%s: signature manifest: %d %v", name, status, err)
	}
	var art imgspecv1.Manifest
	if err := json.Unmarshal(m, &art); err != nil {
		return err
	}
	if len(art.Layers) != 1 || art.Subject == nil || art.Subject.Digest != d {
		return fmt.Errorf("%s: signature manifest with %d layers, subject %v", name, len(art.Layers), art.Subject)
	}
	env, status, err := g.get("/v2/"+repo+"/blobs/"+art.Layers[0].Digest.String(), "")
	if err != nil || status != http.StatusOK {
		return fmt.Errorf("%s: envelope: %d %v", name, status, err)
	}
	files[name+".manifest.json"], files[name+".sig"] = m, env
	return nil
}

func versionLine(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Version:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func (g *generator) get(path, accept string) ([]byte, int, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+g.host+path, nil)
	if err != nil {
		return nil, 0, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return b, resp.StatusCode, err
}

// image is one fixed OCI image: the same bytes, so the same digest, on every
// run; only the signatures change.
func image() ([]byte, [][]byte) {
	var layer bytes.Buffer
	zw := gzip.NewWriter(&layer)
	tw := tar.NewWriter(zw)
	content := []byte("regimport notation fixture\n")
	_ = tw.WriteHeader(&tar.Header{Name: "fixture.txt", Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0), Format: tar.FormatPAX})
	_, _ = tw.Write(content)
	_ = tw.Close()
	_ = zw.Close()
	zr, err := gzip.NewReader(bytes.NewReader(layer.Bytes()))
	if err != nil {
		panic(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		panic(err)
	}
	config, _ := json.Marshal(imgspecv1.Image{Platform: imgspecv1.Platform{Architecture: "amd64", OS: "linux"},
		RootFS: imgspecv1.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromBytes(plain)}}})
	m := imgspecv1.Manifest{MediaType: imgspecv1.MediaTypeImageManifest,
		Config: imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageConfig, Digest: digest.FromBytes(config), Size: int64(len(config))},
		Layers: []imgspecv1.Descriptor{{MediaType: imgspecv1.MediaTypeImageLayerGzip, Digest: digest.FromBytes(layer.Bytes()), Size: int64(layer.Len())}}}
	m.SchemaVersion = 2
	raw, _ := json.Marshal(m)
	return raw, [][]byte{config, layer.Bytes()}
}
