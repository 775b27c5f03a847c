package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regimport/regimport/internal/dbtest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// unroutable is an address of TEST-NET-1 (RFC 5737): not loopback, and
// never one of this machine's, so serve stops at listening on it at the
// latest, and listens nowhere beyond loopback.
const unroutable = "192.0.2.1:8080"

func serveExit(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var stderr bytes.Buffer
	code := Main(context.Background(), append([]string{"serve"}, args...), Streams{In: strings.NewReader(""), Out: io.Discard, Err: &stderr})
	return code, stderr.String()
}

// TestServeRefusesATokenInClear: beyond loopback a bearer token needs TLS,
// or a flag saying the network is trusted; the error says why.
func TestServeRefusesATokenInClear(t *testing.T) {
	dir := t.TempDir()
	db := dbtest.New(t)
	serveTestCatalog(t, db, 0, 1)
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("tok-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, _ := selfSignedCert(t, dir)

	code, stderr := serveExit(t, "--db", db, "--listen", unroutable, "--token-file", tokenFile)
	if code != ExitUsage || !strings.Contains(stderr, "in clear") || !strings.Contains(stderr, "--tls-cert") ||
		!strings.Contains(stderr, "--insecure-trusted-network") {
		t.Errorf("a token over plain HTTP on %s: exit %d, %q; want %d naming the risk and the ways out", unroutable, code, stderr, ExitUsage)
	}
	// Past the rule, serve goes on to listen, which fails on an address
	// this machine does not have.
	for _, extra := range [][]string{{"--insecure-trusted-network"}, {"--tls-cert", certFile, "--tls-key", keyFile}} {
		code, stderr := serveExit(t, append([]string{"--db", db, "--listen", unroutable, "--token-file", tokenFile}, extra...)...)
		if code != ExitFatal || strings.Contains(stderr, "in clear") {
			t.Errorf("%v: exit %d, %q; want %d from listening", extra, code, stderr, ExitFatal)
		}
	}
	// On loopback the token needs no TLS.
	url, _, _ := startServe(t, "--db", db, "--token-file", tokenFile)
	req, _ := http.NewRequest("GET", url+"/apis/image.openshift.io/v1/images", nil)
	req.Header.Set("Authorization", "Bearer tok-123")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("token over loopback HTTP: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// TestServeAllowsOnlyLocalHostsOnLoopback: on loopback serve answers only
// Host headers naming loopback on its port (and names from --allowed-host),
// so a web page rebinding its own name to 127.0.0.1 reads nothing.
func TestServeAllowsOnlyLocalHostsOnLoopback(t *testing.T) {
	db := dbtest.New(t)
	serveTestCatalog(t, db, 0, 1)
	call := func(url, path, host string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", url+path, nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	const images = "/apis/image.openshift.io/v1/images"

	url, _, _ := startServe(t, "--db", db)
	port := url[strings.LastIndex(url, ":")+1:]
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "LocalHost:" + port, "[::1]:" + port} {
		if code, b := call(url, images, host); code != 200 {
			t.Errorf("Host %s: %d %s, want 200", host, code, b)
		}
	}
	for _, host := range []string{"evil.example:" + port, "evil.example", "127.0.0.1:1", "localhost", "127.0.0.1.evil.example:" + port} {
		for _, path := range []string{images, "/healthz"} {
			code, b := call(url, path, host)
			if code != http.StatusForbidden {
				t.Errorf("Host %s, %s: %d, want 403", host, path, code)
				continue
			}
			var st metav1.Status
			if err := json.Unmarshal(b, &st); err != nil || st.Kind != "Status" || st.Reason != metav1.StatusReasonForbidden ||
				!strings.Contains(st.Message, "DNS rebinding") || !strings.Contains(st.Message, "--allowed-host") {
				t.Errorf("Host %s: 403 body %s", host, b)
			}
		}
	}

	url, _, _ = startServe(t, "--db", db, "--allowed-host", "dev.example", "--allowed-host", "tunnel.example:9999")
	port = url[strings.LastIndex(url, ":")+1:]
	for host, want := range map[string]int{
		"dev.example:" + port: 200, "tunnel.example:9999": 200, "localhost:" + port: 200,
		"tunnel.example:" + port: 403, "dev.example:9999": 403, "evil.example:" + port: 403,
	} {
		if code, b := call(url, images, host); code != want {
			t.Errorf("--allowed-host, Host %s: %d %s, want %d", host, code, b, want)
		}
	}

	if code, stderr := serveExit(t, "--db", db, "--listen", unroutable, "--insecure-listen-any", "--allowed-host", "x"); code != ExitUsage ||
		!strings.Contains(stderr, "--allowed-host") {
		t.Errorf("--allowed-host beyond loopback: exit %d %q, want %d", code, stderr, ExitUsage)
	}
}

// TestServeLimitFlags: the limit flags reach the server, and nonsense
// values are refused before it starts.
func TestServeLimitFlags(t *testing.T) {
	db := dbtest.New(t)
	serveTestCatalog(t, db, 0, 5)
	url, _, _ := startServe(t, "--db", db, "--max-page-size", "2", "--max-watches-per-client", "1")
	l := getImageList(t, url, map[string][]string{"limit": {"100"}})
	if len(l.Items) != 2 || l.Metadata.Continue == "" {
		t.Errorf("limit=100 with --max-page-size 2: %d items, continue %q", len(l.Items), l.Metadata.Continue)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch := func() *http.Response {
		req, _ := http.NewRequestWithContext(ctx, "GET", url+"/apis/image.openshift.io/v1/images?watch=true", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	if r := watch(); r.StatusCode != 200 {
		t.Fatalf("first watch: %d", r.StatusCode)
	}
	if r := watch(); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Errorf("second watch with --max-watches-per-client 1: %d, Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}

	for _, args := range [][]string{
		{"--max-page-size", "0"}, {"--max-watches", "0"}, {"--max-watches-per-client", "-1"},
		{"--request-timeout", "0s"}, {"--max-watch-timeout", "10ms"},
	} {
		if code, stderr := serveExit(t, append([]string{"--db", db}, args...)...); code != ExitUsage || !strings.Contains(stderr, args[0]) {
			t.Errorf("%v: exit %d %q, want %d naming the flag", args, code, stderr, ExitUsage)
		}
	}
}

// TestServeWatchOutlivesTheRequestTimeout: over TLS, by HTTP/2 and by
// HTTP/1.1, a watch runs past --request-timeout, which cuts every other
// request, and still delivers an image imported after it.
func TestServeWatchOutlivesTheRequestTimeout(t *testing.T) {
	dir := t.TempDir()
	db := dbtest.New(t)
	serveTestCatalog(t, db, 0, 1)
	certFile, keyFile, pool := selfSignedCert(t, dir)
	url, _, _ := startServe(t, "--db", db, "--tls-cert", certFile, "--tls-key", keyFile, "--request-timeout", "1s", "--watch-poll-interval", "20ms")
	for i, proto := range []string{"HTTP/2.0", "HTTP/1.1"} {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: proto == "HTTP/2.0"}
		if proto == "HTTP/1.1" {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		from := rvOf(t, getImageListWith(t, &http.Client{Transport: tr}, url).Metadata.ResourceVersion)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/apis/image.openshift.io/v1/images?watch=true&resourceVersion=%d&timeoutSeconds=10", url, from), nil)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Proto != proto || resp.StatusCode != 200 {
			t.Fatalf("watch: %s %s, want %s 200", resp.Proto, resp.Status, proto)
		}
		time.Sleep(2500 * time.Millisecond)
		serveTestCatalog(t, db, 1+i, 2+i)
		var ev struct {
			Type   string
			Object struct{ Metadata struct{ Name string } }
		}
		if err := json.NewDecoder(resp.Body).Decode(&ev); err != nil || ev.Type != "ADDED" || ev.Object.Metadata.Name != serveTestImage(1+i).Image.Name {
			t.Errorf("%s: after 2.5 s (request timeout 1 s) the watch gave %+v, %v", proto, ev, err)
		}
		resp.Body.Close()
		cancel()
	}
}

func getImageListWith(t *testing.T, c *http.Client, base string) imageList {
	t.Helper()
	resp, err := c.Get(base + "/apis/image.openshift.io/v1/images")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l imageList
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		t.Fatal(err)
	}
	return l
}
