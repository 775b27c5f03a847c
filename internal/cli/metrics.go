package cli

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/registry"
	"github.com/regimport/regimport/signatures"
)

// runFigures are the counts of one import run, of either mode, for the
// metrics file. references and images are keyed by label value.
type runFigures struct {
	runID       int64
	references  map[string]int // by outcome
	images      map[string]int // by state: new, stored
	verdicts    map[signatures.Verdict]int
	interrupted bool
}

// summaryFigures are the figures of an import of either mode: its
// references are what `import REF` names, or the images and repository
// tags `import -f` documents ask for.
func summaryFigures(sum importer.Summary) runFigures {
	return runFigures{
		runID:       sum.RunID,
		references:  sum.States(),
		images:      map[string]int{"new": sum.ImagesCreated, "stored": sum.ImagesUnchanged},
		verdicts:    sum.Verdicts,
		interrupted: sum.Interrupted,
	}
}

// writeMetrics writes the run's figures for node_exporter's textfile
// collector. prometheus.WriteToTextfile writes a temporary file and renames
// it, so the collector never reads half a file.
func writeMetrics(path string, fig runFigures, took time.Duration, exitCode int, hosts []registry.HostStats) error {
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, v float64) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		g.Set(v)
		reg.MustRegister(g)
	}
	refs := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "regimport_last_run_references", Help: "References of the last run by outcome (import -f: the images and repository tags its documents asked for)."}, []string{"outcome"})
	for outcome, n := range fig.references {
		refs.WithLabelValues(outcome).Set(float64(n))
	}
	reg.MustRegister(refs)
	images := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "regimport_last_run_images", Help: "Images (manifests) of the last run: new or already stored."}, []string{"state"})
	for state, n := range fig.images {
		images.WithLabelValues(state).Set(float64(n))
	}
	reg.MustRegister(images)
	verdicts := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "regimport_last_run_signature_verdicts", Help: "(repository, image) pairs evaluated in the last run, by signature verdict."}, []string{"verdict"})
	for _, v := range []signatures.Verdict{signatures.VerdictAccepted, signatures.VerdictRejected, signatures.VerdictNoPolicy, catalog.VerdictUnevaluated} {
		verdicts.WithLabelValues(string(v)).Set(float64(fig.verdicts[v]))
	}
	reg.MustRegister(verdicts)
	gauge("regimport_last_run_duration_seconds", "Wall time of the last run.", took.Seconds())
	gauge("regimport_last_run_exit_code", "Exit code of the last run (see README).", float64(exitCode))
	gauge("regimport_last_run_timestamp_seconds", "When the last run ended, Unix time.", float64(time.Now().Unix()))
	gauge("regimport_last_run_id", "Catalog id of the last run.", float64(fig.runID))
	interrupted := 0.0
	if fig.interrupted {
		interrupted = 1
	}
	gauge("regimport_last_run_interrupted", "1 when the last run was interrupted.", interrupted)
	reqs := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "regimport_last_run_registry_requests", Help: "HTTP requests of the last run per registry host."}, []string{"host"})
	throttled := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "regimport_last_run_registry_throttled", Help: "429 answers of the last run per registry host."}, []string{"host"})
	for _, h := range hosts {
		reqs.WithLabelValues(h.Host).Set(float64(h.Requests))
		throttled.WithLabelValues(h.Host).Set(float64(h.Throttled))
	}
	remaining := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "regimport_last_run_registry_ratelimit_remaining", Help: "RateLimit-Remaining a registry host announced last in the last run (hosts that announced one)."}, []string{"host"})
	limit := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "regimport_last_run_registry_ratelimit_limit", Help: "RateLimit-Limit a registry host announced in the last run."}, []string{"host"})
	exhausted := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "regimport_last_run_registry_ratelimit_exhausted", Help: "1 when a registry host's pull limit ran out in the last run and no new requests went to it."}, []string{"host"})
	for _, h := range hosts {
		if !h.RateLimit.Seen {
			continue
		}
		remaining.WithLabelValues(h.Host).Set(float64(h.RateLimit.Remaining))
		if h.RateLimit.Limit >= 0 {
			limit.WithLabelValues(h.Host).Set(float64(h.RateLimit.Limit))
		}
		ex := 0.0
		if h.RateLimit.Exhausted {
			ex = 1
		}
		exhausted.WithLabelValues(h.Host).Set(ex)
	}
	reg.MustRegister(reqs, throttled, remaining, limit, exhausted)
	return prometheus.WriteToTextfile(path, reg)
}
