// Command regimport-bench-client holds the two small programs of `make
// bench` that must not carry the benchmark's own weight (the registry and
// every package it links, tens of MiB before main runs):
//
//   - `regimport-bench-client measure PROGRAM ARGS...` is the launcher
//     every measured process is started through. It times the process
//     from start to exit and reads its CPU and peak memory from its
//     rusage, which it writes as JSON to file descriptor 3. Being small is
//     the point: a process's maxrss counts its parent's memory up to its
//     exec (Go starts children with vfork), so the launcher's own peak is
//     the floor below which a peak cannot be seen.
//   - `regimport-bench-client baseline --url URL --targets FILE` is the
//     bare HTTP client the import section compares regimport with.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "measure":
		err = measure(os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "baseline":
		err = baseline(ctx, os.Args[2:])
	default:
		err = errors.New("usage: regimport-bench-client measure PROGRAM ARGS... | baseline --url URL --targets FILE [--concurrency N]")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "regimport-bench-client:", err)
		os.Exit(1)
	}
}

// procRun is what measure reports; cmd/regimport-bench reads the same JSON.
type procRun struct {
	Wall     time.Duration `json:"wall"`
	CPU      time.Duration `json:"cpu"`
	PeakKiB  int64         `json:"peakKiB"`
	FloorKiB int64         `json:"floorKiB"`
	ExitCode int           `json:"exitCode"`
}

// measure starts argv, waits for it and writes its procRun as JSON to file
// descriptor 3. It succeeds when it could measure, whatever the process's
// exit code, which the report carries.
func measure(argv []string) error {
	if len(argv) == 0 {
		return errors.New("measure: no program given")
	}
	report := os.NewFile(3, "report")
	if report == nil {
		return errors.New("measure: file descriptor 3 (the report) is not open")
	}
	defer report.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	// The process dies with its launcher when the benchmark is stopped.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	floor := selfPeakKiB()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	err := cmd.Wait()
	wall := time.Since(start)
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return err
	}
	r := procRun{Wall: wall, FloorKiB: floor, ExitCode: cmd.ProcessState.ExitCode()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		r.PeakKiB = ru.Maxrss // KiB on Linux
	}
	return json.NewEncoder(report).Encode(r)
}

// selfPeakKiB is this process's VmHWM so far.
func selfPeakKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// target is one repository's tags, as cmd/regimport-bench writes them.
type target struct {
	Repository string
	Tags       []string
}

// baseline reads the tags to fetch from a JSON file, fetches them with
// bareClient and prints {"images": N}.
func baseline(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	base := fs.String("url", "", "the registry's base URL")
	targets := fs.String("targets", "", "JSON file of the tags to fetch")
	concurrency := fs.Int("concurrency", 16, "requests in flight")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := os.ReadFile(*targets)
	if err != nil {
		return err
	}
	var ts []target
	if err := json.Unmarshal(b, &ts); err != nil {
		return fmt.Errorf("%s: %w", *targets, err)
	}
	images, err := bareClient(ctx, *base, ts, *concurrency)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]int{"images": images})
}

// bareClient is the baseline: a bare HTTP client doing only the GETs an
// import cannot avoid (each tag's manifest, each list's children, each
// distinct config once) over one keep-alive pool with the importer's
// concurrency. No parsing beyond finding digests, no storage.
func bareClient(ctx context.Context, base string, pushed []target, concurrency int) (images int, err error) {
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
	for _, p := range pushed {
		for _, tag := range p.Tags {
			g.Go(func() error { return fetchImage(gctx, p.Repository, tag) })
		}
	}
	err = g.Wait()
	return images, err
}
