package testregistry

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// seedConcurrency bounds SeedMixed's pushes in flight. The registry runs in
// this process, so more than a few per core only adds scheduling; fewer
// leaves cores idle while requests wait on loopback.
const seedConcurrency = 16

// seedLayerPool is how many distinct upper layers each SeedMixed repository
// draws from: real repositories share layers, and shared layers are
// uploaded once, which keeps seeding fast.
const seedLayerPool = 8

// MixedFormat is the format SeedMixed gives its i-th tag: in every 20 tags,
// 9 schema2, 9 OCI, 1 Docker manifest list and 1 OCI index (both
// two-platform), i.e. 45%/45%/10%.
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

// SeedRepository is the repository SeedMixed pushes its i-th tag to.
func SeedRepository(i, repos int) string { return fmt.Sprintf("seed/repo-%02d", i%max(repos, 1)) }

// SeedTag is the tag SeedMixed gives its i-th image.
func SeedTag(i int) string { return fmt.Sprintf("t%05d", i) }

// SeedMixed pushes n tags spread round-robin over repos repositories
// (SeedRepository, SeedTag), each tag its own image (Seed i+1) built on a
// shared base layer plus layers from a small per-repository pool, in the
// format mix of MixedFormat. It is deterministic: the same repos and n give
// the same digests. The result is in tag order.
func (r *Registry) SeedMixed(ctx context.Context, repos, n int) ([]Pushed, error) {
	if n < 0 {
		return nil, fmt.Errorf("seed: negative count %d", n)
	}
	start := time.Now()
	out := make([]Pushed, n)
	var done atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(seedConcurrency)
	for i := range n {
		if gctx.Err() != nil {
			break // a push failed: g.Wait reports it
		}
		g.Go(func() error {
			spec := ImageSpec{
				Repository:      SeedRepository(i, repos),
				Tags:            []string{SeedTag(i)},
				Format:          MixedFormat(i),
				Seed:            int64(i + 1),
				SharedBaseLayer: true,
				LayerPool:       seedLayerPool,
				Labels: map[string]string{
					"org.opencontainers.image.title":   SeedRepository(i, repos),
					"org.opencontainers.image.version": fmt.Sprintf("1.%d.%d", i/100, i%100),
				},
			}
			p, err := r.Push(gctx, spec)
			if err != nil {
				return fmt.Errorf("seed tag %d: %w", i, err)
			}
			out[i] = p // each goroutine writes its own element: no lock needed
			if d := done.Add(1); d%1000 == 0 {
				r.log.Debug("testregistry: seeding", "pushed", d, "of", n)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	r.log.Info("testregistry: seeded", "tags", n, "repositories", min(max(repos, 1), n), "took", time.Since(start).Round(time.Millisecond))
	return out, nil
}
