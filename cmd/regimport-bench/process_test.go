package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regimport/regimport/internal/testregistry"
)

var (
	clientOnce sync.Once
	clientPath string
	clientErr  error
)

// buildClient builds regimport-bench-client (the launcher and the bare
// client) once for the tests.
func buildClient(t *testing.T) string {
	t.Helper()
	clientOnce.Do(func() {
		dir, err := os.MkdirTemp("", "regimport-bench-client-")
		if err != nil {
			clientErr = err
			return
		}
		clientPath = filepath.Join(dir, "regimport-bench-client")
		out, err := exec.Command("go", "build", "-o", clientPath, "./client").CombinedOutput()
		if err != nil {
			clientErr = err
			t.Logf("%s", out)
		}
	})
	if clientErr != nil {
		t.Fatalf("build the client: %v", clientErr)
	}
	return clientPath
}

// allocatorSource is a child of known size: it touches argv[1] MiB, waits
// 0.2 s (or argv[2] milliseconds) and exits. It is built on its own,
// without the race detector this test may run under, whose shadow memory
// would double what it touches.
const allocatorSource = `package main

import (
	"os"
	"strconv"
	"time"
)

func main() {
	n, err := strconv.Atoi(os.Args[1])
	if err != nil {
		os.Exit(2)
	}
	b := make([]byte, n<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	wait := 200
	if len(os.Args) > 2 {
		if wait, err = strconv.Atoi(os.Args[2]); err != nil {
			os.Exit(2)
		}
	}
	time.Sleep(time.Duration(wait) * time.Millisecond)
	if n > 0 && b[0] != 1 {
		os.Exit(1)
	}
}
`

func buildAllocator(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src, bin := filepath.Join(dir, "alloc.go"), filepath.Join(dir, "alloc")
	if err := os.WriteFile(src, []byte(allocatorSource), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", bin, src)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the allocating child: %v\n%s", err, out)
	}
	return bin
}

// TestLauncherMeasuresTheProcessAlone: the launcher times a process start
// to exit, reports its exit code, and its peak memory is the process's own:
// neither this test's large heap, which a child started directly would
// show through vfork, nor less than what the process touched.
func TestLauncherMeasuresTheProcessAlone(t *testing.T) {
	client := buildClient(t)
	alloc := buildAllocator(t)
	ctx := context.Background()
	ballast := make([]byte, 200<<20) // 200 MiB touched in this process
	for i := range ballast {
		ballast[i] = 1
	}
	small, err := runMeasured(ctx, client, []string{alloc, "0"}, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	if small.Wall < 200*time.Millisecond || small.Wall > 10*time.Second {
		t.Errorf("wall time %s for a 0.2 s sleep", small.Wall)
	}
	if small.PeakKiB > 100<<10 {
		t.Errorf("a sleeping child peaked at %d KiB: this process's 200 MiB leaked into its maxrss", small.PeakKiB)
	}
	if small.FloorKiB <= 0 || small.FloorKiB > 50<<10 {
		t.Errorf("the launcher's own peak is %d KiB; it must be small and known", small.FloorKiB)
	}
	big, err := runMeasured(ctx, client, []string{alloc, "300"}, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	if big.PeakKiB < 300<<10 || big.PeakKiB > 400<<10 {
		t.Errorf("a process that touched 300 MiB peaked at %d KiB", big.PeakKiB)
	}
	if big.CPU <= 0 {
		t.Errorf("CPU %s", big.CPU)
	}
	_, err = runMeasured(ctx, client, []string{"/bin/sh", "-c", "echo oops >&2; exit 3"}, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "exit code 3") || !strings.Contains(err.Error(), "oops") {
		t.Errorf("a failing process gave %v, want its exit code and standard error", err)
	}
	_ = ballast[len(ballast)-1]
}

// TestBareClientFetchesWhatAnImportCannotAvoid: the baseline fetches each
// tag's manifest, each list child and each distinct config once, and
// nothing else, counted at the registry.
func TestBareClientFetchesWhatAnImportCannotAvoid(t *testing.T) {
	client := buildClient(t)
	ctx := context.Background()
	reg, err := testregistry.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	pushed, err := reg.SeedMixed(ctx, 3, 40)
	if err != nil {
		t.Fatal(err)
	}
	images, tags := testregistry.Count(pushed)
	targets := filepath.Join(t.TempDir(), "targets.json")
	if err := writeTargets(targets, pushed); err != nil {
		t.Fatal(err)
	}
	r, err := runBaseline(ctx, config{client: client, concurrency: 4}, reg, targets, images)
	if err != nil {
		t.Fatal(err)
	}
	counts := reg.Requests()
	configs := images - (images-tags)/2 // every image has a config but the lists (two children each)
	if got := counts.Get(testregistry.KindManifestGet); got != int64(images) {
		t.Errorf("manifest GETs %d, want %d (each tag and each list child)", got, images)
	}
	if got := counts.Get(testregistry.KindBlobGet); got > int64(configs) || got == 0 {
		t.Errorf("blob GETs %d, want at most %d (each distinct config once)", got, configs)
	}
	if r.requests != counts.Total() || counts.Total() != counts.Get(testregistry.KindManifestGet)+counts.Get(testregistry.KindBlobGet) {
		t.Errorf("requests %d, counts %v: the bare client sent something else", r.requests, counts)
	}
	if r.Wall <= 0 || r.CPU <= 0 || r.PeakKiB <= 0 {
		t.Errorf("baseline run not measured: %+v", r.procRun)
	}
}

// TestLauncherReportsTheHostsCPU: HostCPU is this process's CPU while the
// measured one ran (the in-process registry's work for it): a goroutine
// spinning here through a 1 s child shows, and an idle host does not. The
// child waits 1 s, not 0.2 s, because make test runs packages side by side
// on two CPUs: with 0.2 s the spinner could get under 0.1 s of CPU and the
// test failed on a busy machine.
func TestLauncherReportsTheHostsCPU(t *testing.T) {
	client := buildClient(t)
	alloc := buildAllocator(t)
	ctx := context.Background()
	idle, err := runMeasured(ctx, client, []string{alloc, "0"}, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	spun := make(chan struct{})
	go func() {
		defer close(spun)
		for {
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	busy, err := runMeasured(ctx, client, []string{alloc, "0", "1000"}, io.Discard, nil)
	close(stop)
	<-spun
	if err != nil {
		t.Fatal(err)
	}
	if busy.HostCPU < 100*time.Millisecond {
		t.Errorf("this process spun through a 1 s child, and HostCPU says %s", busy.HostCPU)
	}
	if idle.HostCPU >= busy.HostCPU/2 {
		t.Errorf("HostCPU %s with this process idle, %s with it spinning", idle.HostCPU, busy.HostCPU)
	}
}
