package registry_test

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/regimport/regimport/registry"
	"go.podman.io/image/v5/types"
)

// dualServer serves TLS and plain HTTP on one loopback port, so that a
// redirect can go from https://H:P to http://H:P: the same host and port,
// only the scheme downgraded. Hand-written: the in-process registry serves
// plain HTTP only, and no real registry serves both on one port.
type dualServer struct {
	host    string
	certDir string
	// plainAuth counts plain-HTTP requests that carried an Authorization
	// header; plain counts them all.
	plain, plainAuth atomic.Int64
}

func newDualServer(t *testing.T, https http.HandlerFunc) *dualServer {
	t.Helper()
	d := &dualServer{}
	tlsSrv := httptest.NewUnstartedServer(nil)
	tlsSrv.StartTLS() // only for its certificate
	cfg := tlsSrv.TLS.Clone()
	cfg.NextProtos = []string{"http/1.1"}
	d.certDir = t.TempDir()
	if err := os.WriteFile(filepath.Join(d.certDir, "ca.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	tlsSrv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.host = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			https(w, r)
			return
		}
		d.plain.Add(1)
		if r.Header.Get("Authorization") != "" {
			d.plainAuth.Add(1)
		}
		http.Error(w, "plain", http.StatusNotFound)
	})}
	go srv.Serve(sniffListener{ln, cfg})
	t.Cleanup(func() { srv.Close() })
	return d
}

// sniffListener hands TLS connections (first byte 0x16, a handshake record)
// to tls.Server and the others through as plain HTTP.
type sniffListener struct {
	net.Listener
	cfg *tls.Config
}

func (l sniffListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(c)
	first, err := br.Peek(1)
	pc := &peekedConn{Conn: c, r: br}
	if err == nil && first[0] == 0x16 {
		return tls.Server(pc, l.cfg), nil
	}
	return pc, nil
}

type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// client reads the server with credentials for it; insecure marks the host
// as the user would (--tls-verify=false).
func (d *dualServer) client(t *testing.T, insecure bool) *registry.Client {
	auth := writeFile(t, t.TempDir(), "auth.json", `{"auths":{"`+d.host+`":{"auth":"`+base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))+`"}}}`, 0o600)
	sys := &types.SystemContext{DockerCertPath: d.certDir, AuthFilePath: auth}
	if insecure {
		sys.DockerInsecureSkipTLSVerify = types.OptionalBoolTrue
	}
	return registry.New(registry.Options{Sys: sys, DockerConfig: auth, CertsDirs: []string{}, MaxRetries: 1})
}

// basicRedirecting is a Basic-auth registry whose manifests redirect to
// plain http on the same host and port.
func basicRedirecting(host string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := r.BasicAuth(); !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="reg"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/v2/" {
			return
		}
		http.Redirect(w, r, "http://"+host+r.URL.Path, http.StatusFound)
	}
}

// realmRedirecting is a token-auth registry whose realm redirects to plain
// http on the same host and port.
func realmRedirecting(host string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			http.Redirect(w, r, "http://"+host+"/token?"+r.URL.RawQuery, http.StatusTemporaryRedirect)
			return
		}
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="https://%s/token",service="reg"`, host))
		w.WriteHeader(http.StatusUnauthorized)
	}
}

// A same-host redirect from https to http never carries the registry's
// credentials, whether from the registry (Basic) or from its token realm:
// it is refused, and for a host marked insecure it is followed without
// them.
func TestDowngradeRedirectCarriesNoCredentials(t *testing.T) {
	for _, tc := range []struct {
		name     string
		handler  func(host string) http.HandlerFunc
		insecure bool
	}{
		{"basic registry", basicRedirecting, false},
		{"basic registry marked insecure", basicRedirecting, true},
		{"token realm", realmRedirecting, false},
		{"token realm of a registry marked insecure", realmRedirecting, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var host atomic.Value
			d := newDualServer(t, func(w http.ResponseWriter, r *http.Request) { tc.handler(host.Load().(string))(w, r) })
			host.Store(d.host)
			repo, err := d.client(t, tc.insecure).Repository(mustNamed(t, d.host+"/team/app"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = repo.GetManifest(ctx, "v1")
			if err == nil {
				t.Fatal("no error")
			}
			if d.plainAuth.Load() != 0 {
				t.Fatalf("%d plain-HTTP requests carried the credentials (%v)", d.plainAuth.Load(), err)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("the error names the password: %v", err)
			}
			switch {
			case !tc.insecure && (d.plain.Load() != 0 || !strings.Contains(err.Error(), "plain http")):
				t.Fatalf("%d plain-HTTP requests, %v; want the downgrade refused", d.plain.Load(), err)
			case tc.insecure && d.plain.Load() == 0:
				t.Fatalf("the redirect of a host marked insecure was not followed (%v): the test proves nothing", err)
			}
		})
	}
}
