package registry_test

// Flow control claims of the README, each against the real registry with a
// small hand-written middleware for what it cannot do (429, RateLimit
// headers, a slow answer to measure concurrency).

import (
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regimport/regimport/internal/regfront"
	"github.com/regimport/regimport/internal/testregistry"
	"github.com/regimport/regimport/registry"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/types"
)

// inflight measures the most manifest GETs in flight at once, each held for
// delay; first, when set, answers the first manifest GET itself.
type inflight struct {
	now, peak atomic.Int64
	delay     time.Duration
	once      sync.Once
	first     func(http.ResponseWriter)
}

func (m *inflight) option() testregistry.Option {
	return testregistry.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if testregistry.IsSeedRequest(r) || r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/manifests/") {
				next.ServeHTTP(w, r)
				return
			}
			answered := false
			if m.first != nil {
				m.once.Do(func() { m.first(w); answered = true })
			}
			if answered {
				return
			}
			n := m.now.Add(1)
			defer m.now.Add(-1)
			for p := m.peak.Load(); n > p && !m.peak.CompareAndSwap(p, n); p = m.peak.Load() {
			}
			time.Sleep(m.delay)
			next.ServeHTTP(w, r)
		})
	})
}

func parallelGets(t *testing.T, repo *registry.Repository, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := repo.GetManifest(ctx, "v1")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func hostStats(c *registry.Client, host string) registry.HostStats {
	for _, s := range c.Stats() {
		if s.Host == host {
			return s
		}
	}
	return registry.HostStats{}
}

// A 429 halves the host's permits; they come back after the cool-down.
func TestThrottleHalvesPermitsAndRecovers(t *testing.T) {
	m := &inflight{delay: 50 * time.Millisecond, first: func(w http.ResponseWriter) {
		http.Error(w, `{"errors":[{"code":"TOOMANYREQUESTS"}]}`, http.StatusTooManyRequests)
	}}
	w := newWorld(t, regfront.Options{}, m.option())
	w.push(t, "team/app", 1, "v1")
	c := client(registry.Options{PerHostConcurrency: 8, ThrottleCoolDown: time.Second})
	repo, _ := c.Repository(w.named(t, "team/app"))
	if _, err := repo.GetManifest(ctx, "v1"); err != nil {
		t.Fatalf("after one 429: %v", err)
	}
	st := hostStats(c, w.reg.Host())
	if st.Throttled != 1 || st.Concurrency != 4 {
		t.Fatalf("after a 429: %+v, want 1 throttled and concurrency 4 of 8", st)
	}
	parallelGets(t, repo, 16)
	if p := m.peak.Load(); p > 4 {
		t.Fatalf("%d requests in flight while throttled, want at most 4", p)
	}
	deadline := time.Now().Add(10 * time.Second)
	for hostStats(c, w.reg.Host()).Concurrency != 8 {
		if time.Now().After(deadline) {
			t.Fatalf("concurrency %d 10 s after the 429, want 8 again", hostStats(c, w.reg.Host()).Concurrency)
		}
		time.Sleep(50 * time.Millisecond)
	}
	m.peak.Store(0)
	parallelGets(t, repo, 16)
	if p := m.peak.Load(); p < 5 {
		t.Fatalf("only %d in flight after recovery, want more than the halved 4", p)
	}
}

// RateLimit-Remaining is read: 0 with RateLimit-Reset pauses every request
// to the host until the reset; the figure is in Stats.
func TestRateLimitRemainingPausesUntilReset(t *testing.T) {
	m := &inflight{}
	var once sync.Once
	w := newWorld(t, regfront.Options{}, m.option(), testregistry.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if !testregistry.IsSeedRequest(r) && strings.Contains(r.URL.Path, "/manifests/") {
				once.Do(func() {
					rw.Header().Set("RateLimit-Limit", "50;w=60")
					rw.Header().Set("RateLimit-Remaining", "0;w=60")
					rw.Header().Set("RateLimit-Reset", "1")
				})
			}
			next.ServeHTTP(rw, r)
		})
	}))
	w.push(t, "team/app", 1, "v1")
	c := client(registry.Options{})
	repo, _ := c.Repository(w.named(t, "team/app"))
	if _, err := repo.GetManifest(ctx, "v1"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := repo.GetManifest(ctx, "v1"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 800*time.Millisecond {
		t.Fatalf("the request after Remaining 0, Reset 1 went out after %s, want a pause of about 1 s", took)
	}
	if rl := hostStats(c, w.reg.Host()).RateLimit; !rl.Seen || rl.Limit != 50 || rl.Remaining != 0 || rl.Exhausted {
		t.Fatalf("rate limit %+v", rl)
	}
}

// Per-host concurrency and requestsPerSecond of the configuration.
func TestPerHostConcurrencyAndRate(t *testing.T) {
	m := &inflight{delay: 100 * time.Millisecond}
	w := newWorld(t, regfront.Options{}, m.option())
	w.push(t, "team/app", 1, "v1")
	c := client(registry.Options{PerHostConcurrency: 16, Hosts: map[string]registry.HostOptions{w.reg.Host(): {Concurrency: 2}}})
	repo, _ := c.Repository(w.named(t, "team/app"))
	parallelGets(t, repo, 10)
	if p := m.peak.Load(); p != 2 {
		t.Fatalf("%d requests in flight with concurrency: 2", p)
	}

	m.delay = 0
	c = client(registry.Options{Hosts: map[string]registry.HostOptions{w.reg.Host(): {RequestsPerSecond: 10}}})
	repo, _ = c.Repository(w.named(t, "team/app"))
	start := time.Now()
	parallelGets(t, repo, 20) // a burst of 10, then 10 a second
	if took := time.Since(start); took < 800*time.Millisecond {
		t.Fatalf("21 requests at 10 a second took %s", took)
	}
}

// http: "1.1" forces HTTP/1.1 on a host that offers HTTP/2. A TLS server of
// our own, since the in-process registry speaks plain HTTP/1.1 only.
func TestHTTP11PerHost(t *testing.T) {
	const body = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`
	var proto atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto.Store(int64(r.ProtoMajor))
		if strings.HasSuffix(r.URL.Path, "/manifests/v1") {
			w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
			fmt.Fprint(w, body)
		}
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ca.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	host := strings.TrimPrefix(srv.URL, "https://")
	named, _ := reference.ParseNormalizedNamed(host + "/team/app")
	for _, tc := range []struct {
		http1 bool
		want  int64
	}{{false, 2}, {true, 1}} {
		c := registry.New(registry.Options{Sys: &types.SystemContext{DockerCertPath: dir}, CertsDirs: []string{},
			Hosts: map[string]registry.HostOptions{host: {HTTP1: tc.http1}}})
		repo, _ := c.Repository(named)
		if _, err := repo.GetManifest(ctx, "v1"); err != nil {
			t.Fatal(err)
		}
		if proto.Load() != tc.want {
			t.Fatalf("HTTP1=%v: the registry saw HTTP/%d", tc.http1, proto.Load())
		}
	}
}

// Lookaside signature stores are read under the same flow control, retries
// and counts as registries. A hand-written web server: a lookaside is one.
func TestLookasideGoesThroughTheLayers(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		fmt.Fprint(w, "signature")
	}))
	defer srv.Close()
	c := client(registry.Options{})
	resp, err := c.BlobClient(false).Get(srv.URL + "/team/app@sha256=00/signature-1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d after one 429, want the retry's 200", resp.StatusCode)
	}
	st := hostStats(c, strings.TrimPrefix(srv.URL, "http://"))
	if st.Requests != 2 || st.Throttled != 1 {
		t.Fatalf("lookaside host stats %+v, want 2 requests, 1 throttled", st)
	}
}
