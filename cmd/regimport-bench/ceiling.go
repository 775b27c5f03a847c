package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/regimport/regimport/internal/testregistry"
	"golang.org/x/sync/errgroup"
)

// baselineRun is one measured baseline process.
type baselineRun struct {
	Images   int           `json:"images"`
	Requests int           `json:"requests"`
	Took     time.Duration `json:"took"`
	cpu      time.Duration // user + system time of the process, from its rusage
}

// runBaselineMain is the baseline process: `regimport-bench baseline`. It
// reads the tags to fetch from a JSON file, fetches them and prints what it
// did as JSON. It runs in a process of its own, with Go's default GC, so
// neither the registry's work nor its settings are counted with it.
func runBaselineMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("regimport-bench baseline", flag.ContinueOnError)
	base := fs.String("url", "", "the registry's base URL")
	targets := fs.String("targets", "", "JSON file of the pushed tags")
	concurrency := fs.Int("concurrency", 16, "requests in flight")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := os.ReadFile(*targets)
	if err != nil {
		return err
	}
	var pushed []testregistry.Pushed
	if err := json.Unmarshal(b, &pushed); err != nil {
		return fmt.Errorf("%s: %w", *targets, err)
	}
	images, took, requests, err := ceiling(ctx, *base, pushed, *concurrency)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(baselineRun{Images: images, Requests: requests, Took: took})
}

// writeTargets saves the pushed tags (repository and tags only: the
// baseline reads everything else from the registry) for the baseline process.
func writeTargets(dir string, pushed []testregistry.Pushed) (string, error) {
	type target struct {
		Repository string
		Tags       []string
	}
	ts := make([]target, len(pushed))
	for i, p := range pushed {
		ts[i] = target{p.Repository, p.Tags}
	}
	b, err := json.Marshal(ts)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "targets.json")
	return path, os.WriteFile(path, b, 0o644)
}

// runBaseline runs the baseline in its own process (this binary, as
// `regimport-bench baseline`) and returns its figures and CPU time.
func runBaseline(ctx context.Context, c config, base, targets string) (baselineRun, error) {
	self, err := os.Executable()
	if err != nil {
		return baselineRun{}, err
	}
	cmd := exec.CommandContext(ctx, self, "baseline", "--url", base, "--targets", targets, "--concurrency", fmt.Sprint(c.concurrency))
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return baselineRun{}, fmt.Errorf("baseline process: %w\n%s", err, stderr.String())
	}
	var r baselineRun
	if err := json.Unmarshal([]byte(stdout.String()), &r); err != nil {
		return baselineRun{}, fmt.Errorf("baseline process printed %q: %w", stdout.String(), err)
	}
	r.cpu = cpuTime(cmd.ProcessState)
	return r, nil
}

// cpuTime is the user and system CPU time a finished process used.
func cpuTime(ps *os.ProcessState) time.Duration {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return ps.UserTime() + ps.SystemTime()
}

// ceiling measures a bare HTTP client doing only the unavoidable GETs of an
// import — each tag's manifest, each list's children, each distinct config
// once — over one keep-alive pool with the importer's concurrency. No
// parsing beyond finding digests, no storage: the most this machine allows.
func ceiling(ctx context.Context, base string, pushed []testregistry.Pushed, concurrency int) (images int, took time.Duration, requests int, err error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency * 2, MaxIdleConns: 256}}
	accept := []string{
		"application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
		"application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v2+json",
	}
	var mu sync.Mutex
	configs := map[string]bool{}
	get := func(ctx context.Context, url string, withAccept bool) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		if withAccept {
			for _, a := range accept {
				req.Header.Add("Accept", a)
			}
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		mu.Lock()
		requests++
		mu.Unlock()
		return b, err
	}
	type parsed struct {
		Config struct {
			Digest string `json:"digest"`
		} `json:"config"`
		Manifests []struct {
			Digest string `json:"digest"`
		} `json:"manifests"`
	}
	var fetchImage func(ctx context.Context, repo, ref string) error
	fetchImage = func(ctx context.Context, repo, ref string) error {
		b, err := get(ctx, base+"/v2/"+repo+"/manifests/"+ref, true)
		if err != nil {
			return err
		}
		var m parsed
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		mu.Lock()
		images++
		needConfig := m.Config.Digest != "" && !configs[m.Config.Digest]
		if needConfig {
			configs[m.Config.Digest] = true
		}
		mu.Unlock()
		for _, c := range m.Manifests {
			if err := fetchImage(ctx, repo, c.Digest); err != nil {
				return err
			}
		}
		if needConfig {
			_, err = get(ctx, base+"/v2/"+repo+"/blobs/"+m.Config.Digest, false)
		}
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrency)
	start := time.Now()
	for _, p := range pushed {
		for _, tag := range p.Tags {
			g.Go(func() error { return fetchImage(gctx, p.Repository, tag) })
		}
	}
	err = g.Wait()
	return images, time.Since(start), requests, err
}
