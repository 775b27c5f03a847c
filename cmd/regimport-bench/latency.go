package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/regimport/regimport/internal/testregistry"
)

// latencyRegistry is the in-process registry of the postgres and shards
// sections, with a delay in front of it that is zero until the shards
// section's latency case sets it.
type latencyRegistry struct {
	*testregistry.Registry
	pushed []testregistry.Pushed
	images int
	tags   int
	delay  *atomic.Int64 // nanoseconds added to every request that is not the seeder's
}

// withLatency delays every request but the seeder's by delay before the
// real registry answers it. Hand-written because the registry in this
// process answers in microseconds, and a registry across a network
// cannot: the delay stands for the network round trip (and a distant
// registry's own time), the one behaviour the real registry cannot give
// on loopback. Everything it answers is still the real registry's.
func withLatency(delay *atomic.Int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if d := time.Duration(delay.Load()); d > 0 && !testregistry.IsSeedRequest(req) {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-req.Context().Done():
					t.Stop()
					return
				}
			}
			next.ServeHTTP(w, req)
		})
	}
}

// seedLatencyRegistry starts a registry behind withLatency (no delay yet)
// and seeds it with the import benchmark's mixed tags.
func seedLatencyRegistry(ctx context.Context, c config, out io.Writer) (*latencyRegistry, error) {
	delay := new(atomic.Int64)
	reg, err := testregistry.Start(ctx, testregistry.WithMiddleware(withLatency(delay)))
	if err != nil {
		return nil, err
	}
	start := time.Now()
	pushed, err := reg.SeedMixed(ctx, c.repos, c.tags)
	if err != nil {
		reg.Close()
		return nil, err
	}
	images, tags := testregistry.Count(pushed)
	fmt.Fprintf(out, "seeded %d tags (%d images) over %d repositories in %s\n", tags, images, c.repos, time.Since(start).Round(time.Millisecond))
	return &latencyRegistry{Registry: reg, pushed: pushed, images: images, tags: tags, delay: delay}, nil
}
