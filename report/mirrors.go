package report

import (
	"context"
	"fmt"
	"strconv"

	"github.com/regimport/regimport/catalog"
)

// MirrorDestination is one mirror destination's state (`regimport mirror
// apply`): what its newest run covered, how many of those tags it has at
// their current digest, which it lacks (behind: changed upstream since the
// last copy, or never copied) and which policy holds back. The section is
// in the report only when the catalog has mirror runs, so reports of
// catalogs that never mirrored are unchanged.
type MirrorDestination = catalog.MirrorDestinationStatus

// mirrors reads the mirror section.
func (r *renderer) mirrors(ctx context.Context) error {
	dests, err := r.snap.MirrorStatus(ctx)
	if err != nil {
		return fmt.Errorf("mirror status: %w", err)
	}
	r.doc.Mirrors = dests
	return nil
}

// mirrorTables are the CSV and Markdown tables of the mirror section: one
// row per destination, and one per tag a destination lacks or is held
// back from. None when the catalog has no mirror runs, unless asked for by
// name (a CSV of just the header then).
func (r *renderer) mirrorTables() []table {
	d := r.doc.Mirrors
	if len(d) == 0 && r.opts.Table != "mirrors" && r.opts.Table != "mirror-lag" {
		return nil
	}
	type lag struct {
		dest, state string
		catalog.MirrorLag
	}
	var lags []lag
	for _, m := range d {
		for _, l := range m.Behind {
			lags = append(lags, lag{m.Destination, "behind", l})
		}
		for _, l := range m.HeldBack {
			lags = append(lags, lag{m.Destination, "held back", l})
		}
	}
	return []table{
		{name: "mirrors", title: "Mirror destinations", note: "Per destination, the current tags in its newest mirror run's scope: in sync, behind (changed upstream and not yet copied) and held back by policy.",
			columns: []string{"destination", "lastRun", "lastRunStatus", "lastRunAt", "repositoryGlob", "requireAccepted", "inSync", "behind", "heldBack"},
			rows: sliceRows(d, func(v MirrorDestination) []string {
				return []string{v.Destination, itoa(v.LastRun), v.LastRunStatus, stamp(v.LastRunAt), v.RepositoryGlob, strconv.FormatBool(v.RequireAccepted),
					itoa(v.InSync), itoa(len(v.Behind)), itoa(len(v.HeldBack))}
			})},
		{name: "mirror-lag", title: "Tags a mirror destination lacks", columns: []string{"destination", "state", "repository", "tag", "digest", "mirrored", "reason"},
			rows: sliceRows(lags, func(v lag) []string {
				return []string{v.dest, v.state, v.Repository, v.Tag, v.Image, v.Mirrored, v.Reason}
			})},
	}
}
