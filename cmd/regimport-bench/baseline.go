package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/regimport/regimport/internal/testregistry"
)

// baselineOut is what the baseline process (client/main.go) prints: the
// images it fetched.
type baselineOut struct {
	Images int `json:"images"`
}

// writeTargets saves the pushed tags (repository and tags only: the
// baseline reads everything else from the registry) for the baseline process.
func writeTargets(path string, pushed []testregistry.Pushed) error {
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
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// measuredRun is one measured process with the requests the registry
// counted while it ran.
type measuredRun struct {
	procRun
	requests int64
	counts   testregistry.RequestCounts // the requests by kind
}

// runBaseline runs the baseline client in its own process against reg and
// checks that it fetched every image.
func runBaseline(ctx context.Context, c config, reg *testregistry.Registry, targets string, images int) (measuredRun, error) {
	reg.ResetRequests()
	var stdout strings.Builder
	r, err := runMeasured(ctx, c.client, []string{c.client, "baseline", "--url", reg.URL(), "--targets", targets, "--concurrency", fmt.Sprint(c.concurrency)}, &stdout, nil)
	if err != nil {
		return measuredRun{}, fmt.Errorf("baseline client: %w", err)
	}
	var out baselineOut
	if err := json.Unmarshal([]byte(stdout.String()), &out); err != nil {
		return measuredRun{}, fmt.Errorf("baseline process printed %q: %w", stdout.String(), err)
	}
	if out.Images != images {
		return measuredRun{}, fmt.Errorf("baseline client fetched %d images, the registry holds %d", out.Images, images)
	}
	counts := reg.Requests()
	return measuredRun{procRun: r, requests: counts.Total(), counts: counts}, nil
}
