package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// procRun is one measured process (the launcher's JSON report), timed and
// weighed the same way whatever it is (the baseline client, `regimport import`, `regimport report`):
// wall time from its start to its exit, its user + system CPU and its peak
// resident memory, the last two from its own rusage.
type procRun struct {
	Wall    time.Duration `json:"wall"`
	CPU     time.Duration `json:"cpu"`
	PeakKiB int64         `json:"peakKiB"`
	// FloorKiB is the launcher's own peak when it started the process. A
	// process's rusage maxrss counts the memory of whoever started it,
	// up to its exec (Go starts children with vfork), so PeakKiB is the
	// process's own peak only when it is above FloorKiB.
	FloorKiB int64 `json:"floorKiB"`
	ExitCode int   `json:"exitCode"`
	// HostCPU is the benchmark's own process's user + system CPU while
	// the measured process ran: the in-process registry's (and in the
	// signed section the lookaside store's) work for it, which shares the
	// CPUs with it. Not from the launcher.
	HostCPU time.Duration `json:"-"`
}

// selfCPU is this process's user + system CPU so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakText is the peak in MiB, or "≤ N MiB" when the launcher's own
// memory could hide it.
func (r procRun) peakText() string {
	if r.PeakKiB <= r.FloorKiB {
		return fmt.Sprintf("≤ %.0f MiB", float64(r.FloorKiB)/1024)
	}
	return fmt.Sprintf("%.0f MiB", float64(r.PeakKiB)/1024)
}

// runMeasured runs argv (program and arguments) through the launcher,
// `regimport-bench-client measure` (client/main.go): a small process of
// its own, so the measured process's maxrss is its own and not the
// benchmark's, which holds the registry and would show through vfork. The
// launcher reports on file descriptor 3; the process's own standard output
// goes to stdout. env, when not nil, is its environment.
func runMeasured(ctx context.Context, client string, argv []string, stdout io.Writer, env []string) (procRun, error) {
	report, w, err := os.Pipe()
	if err != nil {
		return procRun{}, err
	}
	defer report.Close()
	cmd := exec.CommandContext(ctx, client, append([]string{"measure"}, argv...)...)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr, cmd.Env = stdout, &stderr, env
	if f := os.Getenv("BENCH_STDERR"); f != "" {
		if fh, err := os.OpenFile(f, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
			defer fh.Close()
			cmd.Stderr = io.MultiWriter(&stderr, fh)
		}
	}
	cmd.ExtraFiles = []*os.File{w}
	hostBefore := selfCPU()
	if err := cmd.Start(); err != nil {
		w.Close()
		return procRun{}, err
	}
	w.Close()
	b, readErr := io.ReadAll(io.LimitReader(report, 1<<16))
	waitErr := cmd.Wait()
	hostCPU := selfCPU() - hostBefore
	var r procRun
	if err := json.Unmarshal(b, &r); err != nil {
		return procRun{}, fmt.Errorf("%s: the launcher reported %q (%v, %v): %w\n%s", strings.Join(argv, " "), b, readErr, waitErr, err, stderr.String())
	}
	r.HostCPU = hostCPU
	if r.ExitCode != 0 || waitErr != nil {
		return r, fmt.Errorf("%s: exit code %d (%v)\n%s", strings.Join(argv, " "), r.ExitCode, waitErr, stderr.String())
	}
	return r, nil
}
