package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/regimport/regimport/internal/testregistry"
)

// TestKilledImportsLoseNothing kills the import with SIGKILL at random
// points of its run, checks after every kill that the catalog is intact and
// holds only whole images, and finally that a re-run completes to the same
// catalog as an uninterrupted import. A kill counts only when it happened
// mid-import: after the run was recorded in the catalog and before it was
// recorded as finished; a run that finished first is repeated with new
// work. REGIMPORT_KILLS sets the number of kills (default 12; the
// reliability figure in the README uses 50).
func TestKilledImportsLoseNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it many times")
	}
	kills := 12
	if v, err := strconv.Atoi(os.Getenv("REGIMPORT_KILLS")); err == nil && v > 0 {
		kills = v
	}
	bin := buildBinary(t)
	ctx := context.Background()
	reg, err := testregistry.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if _, err := reg.SeedMixed(ctx, 6, 400); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "killed.db")
	args := []string{"import", "--db", db, "--tls-verify=false", "--catalog", "--progress", "never", "--log-level", "error", reg.Host()}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	midImport, finishedFirst := 0, 0
	start := time.Now()
	for attempt := 0; midImport < kills; attempt++ {
		if attempt >= 3*kills {
			t.Fatalf("only %d of %d attempts were killed mid-import (%d runs finished before the kill); the import is too fast for this test", midImport, attempt, finishedFirst)
		}
		// New tags before each run, so that every run has fresh work to be killed in.
		for j := range 40 {
			n := 10000 + attempt*40 + j
			if _, err := reg.Push(ctx, testregistry.ImageSpec{Repository: testregistry.SeedRepository(n, 6), Tags: []string{testregistry.SeedTag(n)},
				Format: testregistry.MixedFormat(n), Seed: int64(n), SharedBaseLayer: true, LayerPool: 8}); err != nil {
				t.Fatal(err)
			}
		}
		before := lastRun(db)
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		// The kill falls at a random point after the run was recorded.
		var waitErr error
		if waitRunStarted(db, before.id, exited, &waitErr) {
			time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
			_ = cmd.Process.Signal(syscall.SIGKILL)
			waitErr = <-exited
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !(ok && ws.Signaled()) && waitErr != nil {
			t.Fatalf("attempt %d: import failed on its own: %v", attempt+1, waitErr)
		}
		checkIntact(t, db, fmt.Sprintf("after attempt %d", attempt+1))
		if r := lastRun(db); r.id > before.id && r.status == "running" {
			midImport++
		} else {
			finishedFirst++
		}
	}
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	checkIntact(t, db, "after the final run")
	ref := filepath.Join(dir, "reference.db")
	refArgs := append([]string{}, args...)
	refArgs[2] = ref
	if out, err := exec.Command(bin, refArgs...).CombinedOutput(); err != nil {
		t.Fatalf("reference run: %v\n%s", err, out)
	}
	for _, q := range []string{
		`SELECT name || ' ' || docker_image_reference || ' ' || size FROM images`,
		`SELECT r.name || ':' || t.tag || ' ' || t.image_name FROM tags t JOIN repositories r ON r.id = t.repository_id`,
		`SELECT image_name || ' ' || position || ' ' || digest FROM image_layers`,
		`SELECT list_name || ' ' || position || ' ' || digest FROM image_manifests`,
	} {
		a, b := rows(t, db, q), rows(t, ref, q)
		if strings.Join(a, "\n") != strings.Join(b, "\n") {
			t.Errorf("%s: the resumed catalog has %d rows, an uninterrupted import %d", q, len(a), len(b))
		}
	}
	t.Logf("%d kills, all mid-import (%d more runs finished before their kill and were repeated), catalog intact after each, re-run equal to an uninterrupted import (%s)",
		midImport, finishedFirst, time.Since(start).Round(time.Second))
}

// run is the newest import run recorded in a catalog.
type run struct {
	id     int64
	status string
}

// lastRun reads the newest run; the zero run when there is no catalog yet.
func lastRun(path string) run {
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		return run{}
	}
	defer db.Close()
	var r run
	if err := db.QueryRow(`SELECT id, status FROM import_runs ORDER BY id DESC LIMIT 1`).Scan(&r.id, &r.status); err != nil {
		return run{}
	}
	return r
}

// waitRunStarted polls the catalog until a run newer than after is recorded
// and reports true, or reports false when the process exited first (its
// Wait error in *exitErr).
func waitRunStarted(path string, after int64, exited <-chan error, exitErr *error) bool {
	for {
		select {
		case err := <-exited:
			*exitErr = err
			return false
		case <-time.After(5 * time.Millisecond):
		}
		if _, err := os.Stat(path); err == nil && lastRun(path).id > after {
			return true
		}
	}
}

func rows(t *testing.T, path, q string) []string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []string
	for r.Next() {
		var s string
		r.Scan(&s)
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// checkIntact asserts SQLite's integrity and that every stored image is
// whole: all its layers or list entries, its config, no dangling rows.
func checkIntact(t *testing.T, path, when string) {
	t.Helper()
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return // killed before the catalog was created
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?_foreign_keys=on")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ok string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("%s: integrity_check: %q %v", when, ok, err)
	}
	fk, err := db.Query(`PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	if fk.Next() {
		t.Fatalf("%s: foreign key violations", when)
	}
	fk.Close()
	r, err := db.Query(`SELECT name, manifest, manifest_media_type, config_digest,
		(SELECT count(*) FROM image_layers l WHERE l.image_name = i.name),
		(SELECT count(*) FROM image_manifests m WHERE m.list_name = i.name)
		FROM images i`)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return // killed during the first migration: nothing stored
		}
		t.Fatal(err)
	}
	defer r.Close()
	for r.Next() {
		var name, mt string
		var manifest []byte
		var config sql.NullString
		var layers, entries int
		if err := r.Scan(&name, &manifest, &mt, &config, &layers, &entries); err != nil {
			t.Fatal(err)
		}
		var m struct {
			Layers    []json.RawMessage `json:"layers"`
			Manifests []json.RawMessage `json:"manifests"`
		}
		json.Unmarshal(manifest, &m)
		if layers != len(m.Layers) || entries != len(m.Manifests) {
			t.Fatalf("%s: image %s has %d layers and %d list entries stored, its manifest %d and %d", when, name, layers, entries, len(m.Layers), len(m.Manifests))
		}
		if len(m.Layers) > 0 && !config.Valid {
			t.Fatalf("%s: image %s lacks its config", when, name)
		}
	}
	var orphans int
	db.QueryRow(`SELECT count(*) FROM image_manifests m WHERE NOT EXISTS (SELECT 1 FROM images i WHERE i.name = m.digest)`).Scan(&orphans)
	if orphans != 0 {
		t.Fatalf("%s: %d list entries whose child image is missing", when, orphans)
	}
}
