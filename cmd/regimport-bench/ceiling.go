package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/regimport/regimport/internal/testregistry"
	"golang.org/x/sync/errgroup"
)

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
