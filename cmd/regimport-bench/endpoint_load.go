package main

// The endpoint section's load test: catalogs of synthetic images served by
// `regimport serve` and loaded with wrk (endpoint.go is the section).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	digest "github.com/opencontainers/go-digest"
	"github.com/openshift/api/image/docker10"
	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
)

// EndpointConfig tunes the endpoint benchmark; the zero value is the
// `make bench` run (about a minute on two CPUs).
type EndpointConfig struct {
	Images      int           // catalog size (default 10,000)
	SmallImages int           // the smaller catalog that shows pages do not slow with size (default 1,000)
	PageSize    int           // list limit (default 500)
	Duration    time.Duration // each wrk run (default 5s)
	Connections int           // wrk connections (default: the number of CPUs, at least 2)
	Threads     int           // wrk threads (default 1: wrk and the server share the machine)
	WorkDir     string        // where the catalogs are built (default: a temporary directory, removed)
	Wrk         string        // the wrk binary (default: wrk on PATH, installed with apt-get when missing and root)
	Regimport   string        // the regimport binary whose `serve` is measured (required)
	Log         io.Writer     // progress lines; nil discards them
}

// EndpointResult is one measured request kind on one catalog.
type EndpointResult struct {
	Name           string        // what was asked
	CatalogImages  int           // images in the catalog
	Requests       int64         // answered in the run
	Errors         int64         // non-2xx answers and socket errors
	RequestsPerSec float64       // wrk's figure
	P50, P99       time.Duration // latency seen by wrk
	ServerTime     time.Duration // mean time to answer, from the server's own /metrics
	ResponseBytes  int64         // size of one answer
}

// EndpointReport is the endpoint part of `make bench`.
type EndpointReport struct {
	Connections, Threads int
	Duration             time.Duration
	Results              []EndpointResult
}

// Endpoint builds catalogs of synthetic images, serves each with a
// `regimport serve` process on 127.0.0.1, as users run it, and loads it with wrk: GET one image, and a list
// page of PageSize at the start and deep in the catalog, on the full and the
// small catalog.
func Endpoint(ctx context.Context, cfg EndpointConfig) (EndpointReport, error) {
	cfg = cfg.withDefaults()
	if cfg.Regimport == "" {
		return EndpointReport{}, errors.New("the endpoint benchmark needs the regimport binary")
	}
	rep := EndpointReport{Connections: cfg.Connections, Threads: cfg.Threads, Duration: cfg.Duration}
	wrk, err := findWrk(ctx, cfg)
	if err != nil {
		return rep, err
	}
	dir := cfg.WorkDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "regimport-bench-endpoint-"); err != nil {
			return rep, err
		}
		defer os.RemoveAll(dir)
	}
	for _, size := range []int{cfg.Images, cfg.SmallImages} {
		res, err := measureCatalog(ctx, cfg, wrk, filepath.Join(dir, fmt.Sprintf("catalog-%d.db", size)), size, size == cfg.Images)
		rep.Results = append(rep.Results, res...)
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func (c EndpointConfig) withDefaults() EndpointConfig {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Images, 10000)
	def(&c.SmallImages, 1000)
	def(&c.PageSize, 500)
	def(&c.Connections, max(2, runtime.NumCPU()))
	def(&c.Threads, 1)
	if c.Duration <= 0 {
		c.Duration = 5 * time.Second
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return c
}

// findWrk returns the wrk binary, installing Debian's package when it is
// missing and this process may (root); otherwise it says how to install it.
func findWrk(ctx context.Context, cfg EndpointConfig) (string, error) {
	if cfg.Wrk != "" {
		return cfg.Wrk, nil
	}
	if p, err := exec.LookPath("wrk"); err == nil {
		return p, nil
	}
	if os.Geteuid() != 0 {
		return "", errors.New("the endpoint benchmark needs wrk: install it with `sudo apt-get install -y wrk` (Debian/Ubuntu) or from https://github.com/wg/wrk")
	}
	fmt.Fprintln(cfg.Log, "endpoint: installing wrk with apt-get")
	install := func() error {
		cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "--no-install-recommends", "wrk")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("apt-get install wrk: %w\n%s", err, out)
		}
		return nil
	}
	if err := install(); err != nil {
		if out, uerr := exec.CommandContext(ctx, "apt-get", "update").CombinedOutput(); uerr != nil {
			return "", fmt.Errorf("%v; apt-get update: %w\n%s", err, uerr, out)
		}
		if err := install(); err != nil {
			return "", err
		}
	}
	return exec.LookPath("wrk")
}

// measureCatalog builds one catalog and runs the request kinds against it.
func measureCatalog(ctx context.Context, cfg EndpointConfig, wrk, path string, size int, withGet bool) ([]EndpointResult, error) {
	start := time.Now()
	if err := buildCatalog(ctx, path, size); err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Log, "endpoint: built a catalog of %d images in %s\n", size, time.Since(start).Round(time.Millisecond))
	origin, stop, err := startServe(ctx, cfg.Regimport, path)
	if err != nil {
		return nil, err
	}
	defer stop()
	base := origin + "/apis/image.openshift.io/v1/images"

	names, deep, err := walkTargets(ctx, base, cfg.PageSize)
	if err != nil {
		return nil, err
	}
	var targets [][2]string
	if withGet {
		targets = append(targets, [2]string{"GET one image", base + "/" + names[len(names)/2]})
	}
	targets = append(targets,
		[2]string{fmt.Sprintf("list %d, first page", cfg.PageSize), base + "?limit=" + strconv.Itoa(cfg.PageSize)},
		[2]string{fmt.Sprintf("list %d, last page", cfg.PageSize), base + "?limit=" + strconv.Itoa(cfg.PageSize) + "&continue=" + url.QueryEscape(deep)})

	var results []EndpointResult
	for _, tg := range targets {
		res := EndpointResult{Name: tg[0], CatalogImages: size}
		if res.ResponseBytes, err = warm(ctx, tg[1]); err != nil {
			return results, fmt.Errorf("%s: %w", tg[0], err)
		}
		n0, t0, err := serverTime(ctx, origin)
		if err != nil {
			return results, err
		}
		if err := runWrk(ctx, cfg, wrk, tg[1], &res); err != nil {
			return results, fmt.Errorf("%s: %w", tg[0], err)
		}
		n1, t1, err := serverTime(ctx, origin)
		if err != nil {
			return results, err
		}
		if n1 > n0 {
			res.ServerTime = time.Duration((t1 - t0) / (n1 - n0) * float64(time.Second))
		}
		fmt.Fprintf(cfg.Log, "endpoint: %s on %d images: %.0f req/s, p99 %s, server %s\n", res.Name, size, res.RequestsPerSec, res.P99, res.ServerTime)
		results = append(results, res)
	}
	return results, nil
}

// walkTargets lists every name (for the GET) and returns the continue token
// of the catalog's last full page, as a client walking it would hold.
func walkTargets(ctx context.Context, base string, pageSize int) ([]string, string, error) {
	var names []string
	cont, deep := "", ""
	for {
		u := base + "?limit=" + strconv.Itoa(pageSize)
		if cont != "" {
			u += "&continue=" + url.QueryEscape(cont)
		}
		var list imagev1.ImageList
		if err := getJSON(ctx, u, &list); err != nil {
			return nil, "", err
		}
		for _, img := range list.Items {
			names = append(names, img.Name)
		}
		if list.Continue == "" {
			break
		}
		cont = list.Continue
		if list.RemainingItemCount != nil && *list.RemainingItemCount >= int64(pageSize) {
			deep = cont // the deepest page that is still full
		}
	}
	if len(names) == 0 || deep == "" {
		return nil, "", fmt.Errorf("the catalog served %d images: too few for two full pages", len(names))
	}
	return names, deep, nil
}

func getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %s: %s", u, resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// warm sends a few requests so that SQLite's page cache and the
// connection pools are as they are under load; it returns the answer size.
func warm(ctx context.Context, u string) (int64, error) {
	var size int64
	for range 20 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return 0, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		size, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET %s: %s", u, resp.Status)
		}
	}
	return size, nil
}

// startServe runs `regimport serve` on a free loopback port and waits
// until it is ready; stop ends it.
func startServe(ctx context.Context, bin, db string) (origin string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.CommandContext(ctx, bin, "serve", "--db", db, "--listen", addr, "--log-level", "error")
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait() }
	origin = "http://" + addr
	for i := 0; ; i++ {
		if resp, err := http.Get(origin + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return origin, stop, nil
			}
		}
		if i == 200 {
			stop()
			return "", nil, fmt.Errorf("regimport serve on %s was not ready after 10 s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var durationSeries = regexp.MustCompile(`(?m)^apiserver_request_duration_seconds_(sum|count)\{([^}]*)\} ([0-9.e+-]+)$`)

// serverTime reads the server's own totals of GET and LIST requests from its
// /metrics: how many were answered and the seconds spent answering them.
func serverTime(ctx context.Context, origin string) (count, seconds float64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, origin+"/metrics", nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	found := false
	for _, m := range durationSeries.FindAllStringSubmatch(string(b), -1) {
		if !strings.Contains(m[2], `verb="GET"`) && !strings.Contains(m[2], `verb="LIST"`) {
			continue
		}
		v, _ := strconv.ParseFloat(m[3], 64)
		if m[1] == "sum" {
			seconds += v
		} else {
			count += v
		}
		found = true
	}
	if !found && resp.StatusCode == http.StatusOK {
		// No request answered yet: the series do not exist.
		return 0, 0, nil
	}
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("GET %s/metrics: %s", origin, resp.Status)
	}
	return count, seconds, nil
}

var (
	wrkPercentile = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$`)
	wrkRate       = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkRequests   = regexp.MustCompile(`(\d+) requests in`)
	wrkNon2xx     = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSocket     = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

func runWrk(ctx context.Context, cfg EndpointConfig, wrk, u string, res *EndpointResult) error {
	cmd := exec.CommandContext(ctx, wrk, "--latency", "-t"+strconv.Itoa(cfg.Threads), "-c"+strconv.Itoa(cfg.Connections),
		"-d"+strconv.Itoa(int(cfg.Duration.Seconds()))+"s", "--timeout", "10s", u)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("wrk: %w\n%s", err, out)
	}
	return parseWrk(string(out), res)
}

func parseWrk(out string, res *EndpointResult) error {
	m := wrkRate.FindStringSubmatch(out)
	n := wrkRequests.FindStringSubmatch(out)
	if m == nil || n == nil {
		return fmt.Errorf("cannot read wrk's output:\n%s", out)
	}
	res.RequestsPerSec, _ = strconv.ParseFloat(m[1], 64)
	res.Requests, _ = strconv.ParseInt(n[1], 10, 64)
	for _, p := range wrkPercentile.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(p[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[p[3]]
		d := time.Duration(v * float64(unit))
		if p[1] == "50" {
			res.P50 = d
		} else {
			res.P99 = d
		}
	}
	if e := wrkNon2xx.FindStringSubmatch(out); e != nil {
		v, _ := strconv.ParseInt(e[1], 10, 64)
		res.Errors += v
	}
	if e := wrkSocket.FindStringSubmatch(out); e != nil {
		for _, s := range e[1:] {
			v, _ := strconv.ParseInt(s, 10, 64)
			res.Errors += v
		}
	}
	return nil
}

// String renders the report as a Markdown section.
func (r EndpointReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wrk on loopback, %d thread(s), %d connections, %s per run; "+
		"each catalog is served by one `regimport serve` process; server time is its mean time to answer, from its own /metrics "+
		"(apiserver_request_duration_seconds), so it excludes wrk's and the kernel's share.\n\n", r.Threads, r.Connections, r.Duration)
	b.WriteString("| request | catalog | req/s | p50 | p99 | server time | answer | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, x := range r.Results {
		fmt.Fprintf(&b, "| %s | %d | %.0f | %s | %s | %s | %s | %d |\n", x.Name, x.CatalogImages, x.RequestsPerSec,
			round(x.P50), round(x.P99), round(x.ServerTime), kib(x.ResponseBytes), x.Errors)
	}
	// Pages must not slow down as the catalog grows: compare the list
	// server times of the two catalog sizes.
	var big, small []time.Duration
	var bigN, smallN int
	for _, x := range r.Results {
		if !strings.HasPrefix(x.Name, "list") {
			continue
		}
		if bigN == 0 || x.CatalogImages == bigN {
			bigN, big = x.CatalogImages, append(big, x.ServerTime)
		} else {
			smallN, small = x.CatalogImages, append(small, x.ServerTime)
		}
	}
	if len(big) > 0 && len(small) > 0 && mean(small) > 0 {
		fmt.Fprintf(&b, "\nA list page at %d images takes %.2f× the server time it takes at %d.\n", bigN, float64(mean(big))/float64(mean(small)), smallN)
	}
	b.WriteString("\nOne wrk run per row: a load test, not a comparison.\n")
	return b.String()
}

func mean(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

func round(d time.Duration) string {
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	case d >= 100*time.Microsecond:
		return d.Round(time.Microsecond).String()
	}
	return d.String()
}

func kib(n int64) string {
	if n < 10<<10 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.0f KiB", float64(n)/1024)
}

// buildCatalog writes size synthetic images of realistic shape (five
// layers, a config with environment and labels) through the catalog writer.
func buildCatalog(ctx context.Context, path string, size int) error {
	cat, err := catalogdb.Open(ctx, path, catalog.Options{})
	if err != nil {
		return err
	}
	defer cat.Close()
	w, err := cat.NewWriter(ctx, catalog.WriterOptions{BatchSize: 512})
	if err != nil {
		return err
	}
	var failed atomic.Pointer[error]
	for i := range size {
		if err := w.PutImage(ctx, syntheticImage(i), func(_ catalog.Outcome, err error) {
			if err != nil {
				failed.CompareAndSwap(nil, &err)
			}
		}); err != nil {
			w.Close()
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	if e := failed.Load(); e != nil {
		return *e
	}
	return nil
}

func syntheticImage(i int) catalog.ImageRecord {
	layers := make([]imagev1.ImageLayer, 5)
	manifestLayers := make([]string, len(layers))
	for l := range layers {
		d := digest.FromString(fmt.Sprintf("layer-%d-%d", i%97, l)).String()
		if l == len(layers)-1 {
			d = digest.FromString(fmt.Sprintf("app-layer-%d", i)).String()
		}
		layers[l] = imagev1.ImageLayer{Name: d, LayerSize: int64(1000000*(l+1) + i), MediaType: "application/vnd.oci.image.layer.v1.tar+gzip"}
		manifestLayers[l] = fmt.Sprintf(`{"mediaType":%q,"digest":%q,"size":%d}`, layers[l].MediaType, d, layers[l].LayerSize)
	}
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", fmt.Sprintf("APP_BUILD=%d", i), "LANG=C.UTF-8"}
	labels := map[string]string{"org.opencontainers.image.source": "https://git.example.com/team/app", "org.opencontainers.image.revision": fmt.Sprintf("%040x", i)}
	configDoc := map[string]any{"architecture": "amd64", "os": "linux", "created": "2024-05-01T10:00:00Z",
		"config": map[string]any{"Env": env, "Entrypoint": []string{"/app"}, "Labels": labels, "WorkingDir": "/srv"},
		"rootfs": map[string]any{"type": "layers"}}
	config, _ := json.Marshal(configDoc)
	configDigest := digest.FromBytes(config)
	manifest := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},"layers":[%s]}`,
		configDigest, len(config), strings.Join(manifestLayers, ","))
	name := digest.FromString(manifest).String()
	meta, _ := json.Marshal(docker10.DockerImage{
		TypeMeta: metav1.TypeMeta{Kind: "DockerImage", APIVersion: "image.openshift.io/1.0"},
		ID:       configDigest.String(), Created: metav1.NewTime(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)),
		Config:       &docker10.DockerConfig{Env: env, Entrypoint: []string{"/app"}, Labels: labels, WorkingDir: "/srv"},
		Architecture: "amd64", Size: int64(len(config)) + 15000000 + int64(5*i),
	})
	return catalog.ImageRecord{
		Image: &imagev1.Image{
			ObjectMeta:                   metav1.ObjectMeta{Name: name, Annotations: map[string]string{imagev1.DockerImageLayersOrderAnnotation: "ascending"}},
			DockerImageReference:         fmt.Sprintf("registry.example.com/team/app%d@%s", i%50, name),
			DockerImageMetadata:          k8sruntime.RawExtension{Raw: meta},
			DockerImageMetadataVersion:   "1.0",
			DockerImageManifest:          manifest,
			DockerImageConfig:            string(config),
			DockerImageManifestMediaType: "application/vnd.oci.image.manifest.v1+json",
			DockerImageLayers:            layers,
		},
		ConfigMediaType: "application/vnd.oci.image.config.v1+json", OS: "linux",
	}
}
