package cli

import (
	"context"
	"strconv"

	"github.com/regimport/regimport/jobconfig"
	"github.com/regimport/regimport/mirror"
)

// runConfiguredMirrors runs, after an `import --config` run, a mirror
// apply for each destination the configuration's sources name, over what
// that run (or a later one) added or moved in those sources'
// repositories, with the import's session: credentials, TLS, registry
// client and lock. It returns the worse of the import's exit code and the
// mirrors'. Nothing is mirrored after a fatal or interrupted import.
func runConfiguredMirrors(ctx context.Context, sess *importSession, jobs []jobconfig.MirrorJob, runID int64, code int, s Streams) int {
	if len(jobs) == 0 || runID == 0 || code == ExitFatal || code == ExitInterrupted {
		return code
	}
	for _, j := range jobs {
		dest, err := mirror.ParseDestination(j.To)
		if err != nil {
			code = worseExit(code, fail(s, ExitUsage, "import: mirror: %v", err))
			continue
		}
		since := strconv.FormatInt(runID, 10)
		plan, err := mirror.Build(ctx, sess.cat, mirror.Options{Destination: dest, Repository: j.Glob(), Since: since, RequireAccepted: j.RequireAccepted})
		if err != nil {
			code = worseExit(code, fail(s, ExitFatal, "import: mirror to %s: %v", j.To, err))
			continue
		}
		command := "regimport mirror apply --to " + j.To + " --repository " + j.Glob() + " --since " + since + " (after import run " + since + ")"
		code = worseExit(code, applyMirrorPlan(ctx, sess, plan, command, false, j.Prune, sess.f.verbose, s))
		if ctx.Err() != nil {
			break
		}
	}
	return code
}

// worseExit ranks exit codes as an import does: fatal, interrupted,
// usage, partial, rejected, ok.
func worseExit(a, b int) int {
	rank := map[int]int{ExitOK: 0, ExitRejected: 1, ExitPartial: 2, ExitUsage: 3, ExitInterrupted: 4, ExitFatal: 5, ExitLocked: 5}
	if rank[b] > rank[a] {
		return b
	}
	return a
}
