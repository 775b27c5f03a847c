package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	digest "github.com/opencontainers/go-digest"
	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/dbtest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// syncBuffer is a stderr that the server's goroutines and the test share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func serveTestImage(i int) catalog.ImageRecord {
	manifest := fmt.Sprintf(`{"schemaVersion":2,"serve":%d}`, i)
	config := fmt.Sprintf(`{"architecture":"amd64","os":"linux","serve":%d}`, i)
	name := digest.FromString(manifest).String()
	return catalog.ImageRecord{
		Image: &imagev1.Image{
			ObjectMeta:                   metav1.ObjectMeta{Name: name, Annotations: map[string]string{imagev1.DockerImageLayersOrderAnnotation: "ascending"}},
			DockerImageReference:         "registry.example.com/serve@" + name,
			DockerImageMetadata:          runtime.RawExtension{Raw: []byte(fmt.Sprintf(`{"kind":"DockerImage","apiVersion":"image.openshift.io/1.0","Architecture":"amd64","Size":%d}`, 100+i))},
			DockerImageMetadataVersion:   "1.0",
			DockerImageManifest:          manifest,
			DockerImageConfig:            config,
			DockerImageManifestMediaType: "application/vnd.oci.image.manifest.v1+json",
			DockerImageLayers:            []imagev1.ImageLayer{{Name: digest.FromString(fmt.Sprint("layer", i)).String(), LayerSize: int64(i), MediaType: "application/vnd.oci.image.layer.v1.tar+gzip"}},
		},
		ConfigMediaType: "application/vnd.oci.image.config.v1+json", OS: "linux",
	}
}

// serveTestCatalog writes images [from, to) into the catalog at path.
func serveTestCatalog(t *testing.T, path string, from, to int) {
	t.Helper()
	ctx := context.Background()
	c, err := catalogdb.Open(ctx, path, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w, err := c.NewWriter(ctx, catalog.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := from; i < to; i++ {
		if err := w.PutImage(ctx, serveTestImage(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

var servingOn = regexp.MustCompile(`serving on (https?://[0-9.:\[\]]+)`)

// startServe runs `regimport serve` in-process and returns its URL, a stop
// function and the exit code channel.
func startServe(t *testing.T, args ...string) (string, func() int, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{}
	code := make(chan int, 1)
	go func() {
		code <- Main(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), Streams{In: strings.NewReader(""), Out: io.Discard, Err: stderr})
	}()
	var once sync.Once
	exit := -1
	stop := func() int {
		once.Do(func() {
			cancel()
			select {
			case exit = <-code:
			case <-time.After(15 * time.Second):
				t.Error("serve did not stop")
			}
		})
		return exit
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if m := servingOn.FindStringSubmatch(stderr.String()); m != nil {
			t.Cleanup(func() { stop() })
			return m[1], stop, stderr
		}
		select {
		case c := <-code:
			t.Fatalf("serve exited with %d: %s", c, stderr.String())
		default:
		}
	}
	cancel()
	t.Fatalf("serve never said where it listens: %s", stderr.String())
	return "", nil, nil
}

func TestServeMatchesGetAndSeesNewImports(t *testing.T) {
	db := dbtest.New(t)
	serveTestCatalog(t, db, 0, 7)
	url, stop, stderr := startServe(t, "--db", db, "--watch-poll-interval", "20ms")
	if !strings.HasPrefix(url, "http://127.0.0.1:") || strings.HasSuffix(url, ":0") {
		t.Fatalf("serving on %s", url)
	}

	// `regimport get images -o json`, in-process.
	var getOut, getErr bytes.Buffer
	if code := Main(context.Background(), []string{"get", "images", "--db", db, "-o", "json"}, Streams{Out: &getOut, Err: &getErr}); code != ExitOK {
		t.Fatalf("get: %d %s", code, getErr.String())
	}
	var fromGet struct{ Items []any }
	if err := json.Unmarshal(getOut.Bytes(), &fromGet); err != nil {
		t.Fatal(err)
	}

	// The same catalog through the endpoint: kubectl when installed, else client-go's wire format via HTTP.
	var fromServer struct{ Items []any }
	if kubectl, err := exec.LookPath("kubectl"); err == nil {
		home := t.TempDir()
		kubeconfig := filepath.Join(home, "config")
		os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\n"), 0o600)
		cmd := exec.Command(kubectl, "--kubeconfig="+kubeconfig, "--server="+url, "--cache-dir="+filepath.Join(home, "cache"),
			"get", "images.image.openshift.io", "-o", "json")
		cmd.Env = []string{"HOME=" + home, "KUBECONFIG=" + kubeconfig}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("kubectl: %v", err)
		}
		json.Unmarshal(out, &fromServer)
	} else {
		if os.Getenv("CI") == "true" {
			t.Fatal("kubectl is not on PATH (CI=true: a missing tool fails the run; make test-deps installs it)")
		}
		t.Log("kubectl is not on PATH: comparing the endpoint's own list instead")
		resp, err := http.Get(url + "/apis/image.openshift.io/v1/images")
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&fromServer)
		resp.Body.Close()
	}
	if len(fromServer.Items) != 7 || !reflect.DeepEqual(fromServer.Items, fromGet.Items) {
		t.Errorf("the endpoint's items differ from `regimport get images -o json`:\n%v\n%v", fromServer.Items, fromGet.Items)
	}

	// A watch is open when an import writes: it sees the image, and
	// shutdown still ends promptly.
	resp, err := http.Get(url + "/apis/image.openshift.io/v1/images?watch=true&resourceVersion=7")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	serveTestCatalog(t, db, 7, 8)
	var ev struct {
		Type   string
		Object imagev1.Image
	}
	if err := json.NewDecoder(resp.Body).Decode(&ev); err != nil || ev.Type != "ADDED" || ev.Object.Name != serveTestImage(7).Image.Name {
		t.Errorf("watch event %+v, %v", ev, err)
	}
	started := time.Now()
	if code := stop(); code != ExitOK {
		t.Errorf("exit code %d after shutdown: %s", code, stderr.String())
	}
	if took := time.Since(started); took > 5*time.Second {
		t.Errorf("shutdown with an open watch took %s", took)
	}
	if !strings.Contains(stderr.String(), "shutting down") {
		t.Errorf("stderr: %s", stderr.String())
	}
}

func TestServeTLSAndToken(t *testing.T) {
	dir := t.TempDir()
	db := dbtest.New(t)
	serveTestCatalog(t, db, 0, 2)
	certFile, keyFile, pool := selfSignedCert(t, dir)
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("tok-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	url, _, _ := startServe(t, "--db", db, "--tls-cert", certFile, "--tls-key", keyFile, "--token-file", tokenFile)
	if !strings.HasPrefix(url, "https://127.0.0.1:") {
		t.Fatalf("serving on %s", url)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	call := func(path, token string) int {
		req, _ := http.NewRequest("GET", url+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := call("/apis/image.openshift.io/v1/images", ""); c != 401 {
		t.Errorf("no token: %d", c)
	}
	if c := call("/apis/image.openshift.io/v1/images", "tok-12"); c != 401 {
		t.Errorf("wrong token: %d", c)
	}
	if c := call("/apis/image.openshift.io/v1/images", "tok-123"); c != 200 {
		t.Errorf("token: %d", c)
	}
	if c := call("/healthz", ""); c != 200 {
		t.Errorf("healthz without a token: %d", c)
	}
}

func TestServeFlagErrors(t *testing.T) {
	dir := t.TempDir()
	db := dbtest.New(t)
	serveTestCatalog(t, db, 0, 1)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--listen", "0.0.0.0:0"}, ExitUsage, "without --token-file"},
		{[]string{"--listen", ":8080"}, ExitUsage, "--insecure-listen-any"},
		{[]string{"--listen", "nonsense"}, ExitUsage, "--listen"},
		{[]string{"--tls-cert", "c.pem"}, ExitUsage, "--tls-cert and --tls-key go together"},
		{[]string{"--tls-cert", "c.pem", "--tls-key", "k.pem"}, ExitUsage, "--tls-cert/--tls-key"},
		{[]string{"--token-file", empty}, ExitUsage, "one token on one line"},
		{[]string{"--token-file", filepath.Join(dir, "absent")}, ExitUsage, "--token-file"},
		{[]string{"--db", filepath.Join(dir, "absent.db"), "--listen", "127.0.0.1:0"}, ExitFatal, "absent.db"},
		// An unreachable PostgreSQL catalog: named without its password.
		{[]string{"--db", "postgres://user:secret@127.0.0.1:1/none", "--listen", "127.0.0.1:0"}, ExitFatal, "open catalog postgres://user@127.0.0.1:1/none"},
		{[]string{"extra"}, ExitUsage, "unexpected argument"},
	} {
		var stderr bytes.Buffer
		args := append([]string{"serve", "--db", db}, tc.args...)
		if code := Main(context.Background(), args, Streams{Out: io.Discard, Err: &stderr}); code != tc.code || !strings.Contains(stderr.String(), tc.msg) ||
			strings.Contains(stderr.String(), "secret") {
			t.Errorf("%v: exit %d, want %d; stderr %q should mention %q (and no password)", tc.args, code, tc.code, stderr.String(), tc.msg)
		}
	}
	for host, want := range map[string]bool{"127.0.0.1": true, "::1": true, "localhost": true, "": false, "0.0.0.0": false, "10.0.0.1": false, "example.com": false} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v", host, got)
		}
	}
}

func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "regimport test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
