package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/regimport/regimport/internal/testregistry"
)

// exitCode runs the binary and returns its exit code and output.
func exitCode(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

// TestExitCodesAtTheCommandLine: README's exit codes 1 (fatal: the catalog
// cannot be used) and 4 (the policy rejected an image), from the real binary.
func TestExitCodesAtTheCommandLine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	ctx := context.Background()
	reg, err := testregistry.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if _, err := reg.SeedMixed(ctx, 1, 3); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	t.Run("1: the catalog file is not a catalog", func(t *testing.T) {
		db := filepath.Join(dir, "notes.db")
		content := []byte("not a database: someone's notes\n")
		if err := os.WriteFile(db, content, 0o644); err != nil {
			t.Fatal(err)
		}
		code, out := exitCode(t, bin, "import", "--db", db, "--tls-verify=false", "--catalog", reg.Host())
		if code != 1 || !strings.Contains(out, db) {
			t.Errorf("exit %d, want 1 with a message naming %s:\n%s", code, db, out)
		}
		if b, _ := os.ReadFile(db); !bytes.Equal(b, content) {
			t.Errorf("the file that is not a catalog was changed to %q", b)
		}
	})
	t.Run("1: the catalog is a directory", func(t *testing.T) {
		db := filepath.Join(dir, "adir")
		if err := os.Mkdir(db, 0o755); err != nil {
			t.Fatal(err)
		}
		if code, out := exitCode(t, bin, "import", "--db", db, "--tls-verify=false", "--catalog", reg.Host()); code != 1 {
			t.Errorf("exit %d, want 1:\n%s", code, out)
		}
	})
	t.Run("4: the policy rejects the images", func(t *testing.T) {
		policy := filepath.Join(dir, "policy.json")
		if err := os.WriteFile(policy, []byte(`{"default":[{"type":"reject"}]}`), 0o644); err != nil {
			t.Fatal(err)
		}
		db := filepath.Join(dir, "rejected.db")
		code, out := exitCode(t, bin, "import", "--db", db, "--tls-verify=false", "--policy", policy, "--catalog", reg.Host())
		if code != 4 {
			t.Fatalf("exit %d, want 4:\n%s", code, out)
		}
		// A rejected image is still stored, with its verdict.
		if n := count(t, db, `SELECT count(*) FROM images WHERE signature_verdict = 'rejected'`); n == 0 {
			t.Errorf("no image stored as rejected:\n%s", out)
		}
	})
}

func count(t *testing.T, path, q string) int {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestInterruptedImportAtTheCommandLine sends SIGINT to `regimport import
// REF` in the middle of a run: it stops starting new work, commits what was
// fetched, records the run as interrupted and exits 130 within its grace.
func TestInterruptedImportAtTheCommandLine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	ctx := context.Background()
	// Slow manifests (50 ms each) keep the run busy long enough to be
	// interrupted in its middle; a real registry cannot be slowed on demand,
	// so this wraps it without changing what it answers.
	slow := testregistry.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/") {
				time.Sleep(50 * time.Millisecond)
			}
			next.ServeHTTP(w, r)
		})
	})
	reg, err := testregistry.Start(ctx, slow)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	pushed, err := reg.SeedMixed(ctx, 1, 300)
	if err != nil {
		t.Fatal(err)
	}
	repo := reg.Host() + "/" + pushed[0].Repository
	db := filepath.Join(t.TempDir(), "interrupted.db")
	cmd := exec.Command(bin, "import", "--db", db, "--tls-verify=false", "--concurrency", "4", "--progress", "never", "--all-tags", repo)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var waitErr error
	if !waitRunStarted(db, 0, exited, &waitErr) {
		t.Fatalf("the import ended before its run was recorded: %v\n%s", waitErr, out.String())
	}
	// Some images committed, so the interrupt falls in the middle.
	var stored int
	for deadline := time.Now().Add(30 * time.Second); stored < 20; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s only %d images are stored", stored)
		}
		stored = countLenient(db, `SELECT count(*) FROM images`)
	}
	signalled := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("still running 20 s after SIGINT (the grace is 10 s)\n%s", out.String())
	}
	took := time.Since(signalled)
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("exit %d after SIGINT, want 130\n%s", code, out.String())
	}
	// The references in flight take 50 ms each: they finish long before the
	// 10 s grace runs out.
	if took > 5*time.Second {
		t.Errorf("took %s to stop after SIGINT with only 50 ms requests in flight", took)
	}
	checkIntact(t, db, "after SIGINT")
	r := lastRun(db)
	if r.status != "interrupted" {
		t.Errorf("the run is recorded as %q, want interrupted", r.status)
	}
	if n := count(t, db, `SELECT count(*) FROM import_runs WHERE finished_at IS NULL`); n != 0 {
		t.Errorf("%d runs without an end", n)
	}
	images, _ := testregistry.Count(pushed)
	final := count(t, db, `SELECT count(*) FROM images`)
	if final < stored || final >= images {
		t.Errorf("%d images stored at SIGINT, %d after; the registry holds %d: want what was fetched kept and the rest skipped", stored, final, images)
	}
	if imported := count(t, db, `SELECT imported FROM import_runs ORDER BY id DESC LIMIT 1`); imported == 0 {
		t.Errorf("the interrupted run records nothing imported, though %d images are stored", final)
	}
	// A second run finishes the job.
	if code, out := exitCode(t, bin, "import", "--db", db, "--tls-verify=false", "--progress", "never", "--all-tags", repo); code != 0 {
		t.Fatalf("re-run: exit %d\n%s", code, out)
	}
	if n := count(t, db, `SELECT count(*) FROM images`); n != images {
		t.Errorf("after the re-run %d images, want %d", n, images)
	}
}

// countLenient counts, or returns 0 while the catalog is being created.
func countLenient(path, q string) int {
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		return 0
	}
	defer db.Close()
	var n int
	db.QueryRow(q).Scan(&n)
	return n
}
