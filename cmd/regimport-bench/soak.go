package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/regimport/regimport/internal/testregistry"
)

// soakBench is the soak section: it imports a large registry while
// `regimport serve` answers gets, list pages and a watch on the same
// catalog file: the figures say how the import fares under readers, how
// the server fares under a writer, and whether the watch saw every image.
// It is one long run, not a comparison, so it has no rounds.
func soakBench(ctx context.Context, c config, out io.Writer) (block, error) {
	reg, pushed, err := seed(ctx, c, c.soakTags, out)
	if err != nil {
		return block{}, err
	}
	defer reg.Close()
	images, tags := testregistry.Count(pushed)
	db := filepath.Join(c.work, "soak.db")
	// A first tiny import creates the catalog, so the server can open it.
	if _, err := runImport(ctx, c, reg, db, "--include", "^$"); err != nil {
		return block{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return block{}, err
	}
	addr := ln.Addr().String()
	ln.Close()
	serve := exec.CommandContext(ctx, c.bin, "serve", "--db", db, "--listen", addr, "--log-level", "error")
	serve.Stdout, serve.Stderr = io.Discard, os.Stderr
	if err := serve.Start(); err != nil {
		return block{}, err
	}
	defer func() { serve.Process.Kill(); serve.Wait() }()
	base := "http://" + addr + "/apis/image.openshift.io/v1/images"
	if err := waitReady("http://" + addr + "/readyz"); err != nil {
		return block{}, err
	}

	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var watchAdded atomic.Int64
	watchDone := make(chan error, 1)
	go func() { watchDone <- watchImages(loadCtx, base+"?watch=true&resourceVersion=0", &watchAdded) }()

	client := &http.Client{Timeout: 30 * time.Second}
	var mu sync.Mutex
	lat := map[string][]time.Duration{}
	var errs atomic.Int64
	var wg sync.WaitGroup
	for _, kind := range []string{"get", "list"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for loadCtx.Err() == nil {
				url := base + "?limit=500"
				if kind == "get" {
					url = base + "?limit=1"
				}
				start := time.Now()
				resp, err := client.Get(url)
				if err != nil {
					if loadCtx.Err() == nil {
						errs.Add(1)
					}
					continue
				}
				var page struct {
					Items []struct {
						Metadata struct{ Name string } `json:"metadata"`
					} `json:"items"`
				}
				err = json.NewDecoder(resp.Body).Decode(&page)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					errs.Add(1)
					continue
				}
				if kind == "get" && len(page.Items) == 1 {
					start = time.Now()
					r2, err := client.Get(base + "/" + page.Items[0].Metadata.Name)
					if err != nil || r2.StatusCode != http.StatusOK {
						errs.Add(1)
						continue
					}
					io.Copy(io.Discard, r2.Body)
					r2.Body.Close()
				}
				mu.Lock()
				lat[kind] = append(lat[kind], time.Since(start))
				mu.Unlock()
			}
		}()
	}
	imp, err := runImport(ctx, c, reg, db)
	if err != nil {
		return block{}, err
	}
	// Give the watch its poll interval to catch up, then stop the load.
	deadline := time.Now().Add(10 * time.Second)
	for watchAdded.Load() < int64(images) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	stopLoad()
	wg.Wait()
	<-watchDone

	if err := checkCatalog(db, images, tags); err != nil {
		return block{}, fmt.Errorf("soak: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d tags, %d images; a watch, a get loop and a list loop against `regimport serve` on the same file, during one import. One run: a soak, not a comparison.\n\n", tags, images)
	b.WriteString("| what is counted | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| the import, while the server answers: images stored / the import process's wall time; its peak memory (maxrss) | %.0f images/s (%s), peak %s |\n", float64(images)/imp.Wall.Seconds(), imp.Wall.Round(time.Millisecond), imp.peakText())
	labels := map[string]string{
		"get":  "GETs of one image by name answered 200 during the import (each after a list of 1 to pick the name; latency of the GET alone)",
		"list": "first pages of a list of 500 answered 200 during the import (latency of the whole page)",
	}
	for _, kind := range []string{"get", "list"} {
		p50, p99 := percentiles(lat[kind])
		fmt.Fprintf(&b, "| %s | %d requests, p50 %s, p99 %s |\n", labels[kind], len(lat[kind]), p50, p99)
	}
	fmt.Fprintf(&b, "| ADDED events one watch (from resourceVersion 0) received, of the images the import stored | %d of %d |\n", watchAdded.Load(), images)
	fmt.Fprintf(&b, "| requests of the get and list loops that failed (socket error, non-200 or undecodable answer) | %d |\n", errs.Load())
	return block{
		name:  "soak",
		title: "Soak: import while serving",
		flags: fmt.Sprintf("-soak-tags %d -concurrency %d -repos %d", c.soakTags, c.concurrency, c.repos),
		body:  b.String(),
	}, nil
}

func waitReady(url string) error {
	for i := 0; i < 100; i++ {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s never answered 200", url)
}

// watchImages reads a watch stream and counts ADDED events.
func watchImages(ctx context.Context, url string, added *atomic.Int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var ev struct{ Type string }
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Type == "ADDED" {
			added.Add(1)
		}
	}
	return nil
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2].Round(time.Microsecond), d[len(d)*99/100].Round(time.Microsecond)
}
