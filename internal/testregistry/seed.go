package testregistry

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"
)

// MixedFormat is the format SeedMixed gives its i-th tag: about 45% schema2,
// 45% OCI and 10% two-platform lists (Docker lists and OCI indexes alternating).
func MixedFormat(i int) Format {
	switch i % 20 {
	case 0:
		return DockerList
	case 11:
		return OCIIndex
	}
	if i%2 == 0 {
		return Schema2
	}
	return OCI
}

// SeedMixed pushes n tags spread over repos repositories (seed/repo-NN),
// each tag its own image drawn from a shared base layer and a small layer
// pool per repository, with the format mix of MixedFormat. It is
// deterministic: the same n and repos give the same digests.
func (r *Registry) SeedMixed(ctx context.Context, repos, n int) ([]Pushed, error) {
	if repos <= 0 {
		repos = 1
	}
	out := make([]Pushed, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	var mu sync.Mutex
	for i := range n {
		g.Go(func() error {
			spec := ImageSpec{
				Repository:      fmt.Sprintf("seed/repo-%02d", i%repos),
				Tags:            []string{fmt.Sprintf("t%05d", i)},
				Format:          MixedFormat(i),
				Seed:            int64(i + 1),
				SharedBaseLayer: true,
				LayerPool:       8,
				Labels:          map[string]string{"org.opencontainers.image.version": fmt.Sprintf("1.%d.%d", i/100, i%100)},
			}
			p, err := r.Push(gctx, spec)
			if err != nil {
				return err
			}
			mu.Lock()
			out[i] = p
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}
