package cli

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/internal/testregistry"
)

// runCLI runs the whole program in-process, as cmd/regimport does.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
	return code, out.String(), errOut.String()
}

func startRegistry(t *testing.T) *testregistry.Registry {
	t.Helper()
	reg, err := testregistry.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	for i, f := range []testregistry.Format{testregistry.Schema2, testregistry.OCI, testregistry.OCIIndex} {
		if _, err := reg.Push(context.Background(), testregistry.ImageSpec{Repository: "team/app", Tags: []string{fmt.Sprintf("v%d", i)}, Format: f, Seed: int64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

func TestImportWithConfigFileMetricsAndExitCodes(t *testing.T) {
	reg := startRegistry(t)
	dir := t.TempDir()
	db := dbtest.New(t)
	cfg := filepath.Join(dir, "job.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`apiVersion: regimport.io/v1
kind: Config
catalog: %[2]q
tlsVerify: false
metricsFile: job.prom
registries:
  - host: %[1]s
    concurrency: 2
    requestsPerSecond: 500
    http: "1.1"
sources:
  - repository: %[1]s/team/app
  - images: [%[1]s/team/app:v0]
`, reg.Host(), db)), 0o644)

	code, out, errOut := runCLI(t, "import", "--config", cfg, "--progress", "never")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "0 failed") || !strings.Contains(out, "images: 5 new") {
		t.Errorf("summary: %s", out)
	}
	prom, err := os.ReadFile(filepath.Join(dir, "job.prom"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`regimport_last_run_exit_code 0`,
		`regimport_last_run_images{state="new"} 5`,
		fmt.Sprintf(`regimport_last_run_registry_requests{host=%q}`, reg.Host()),
		`regimport_last_run_references{outcome="failed"} 0`,
	} {
		if !strings.Contains(string(prom), want) {
			t.Errorf("metrics lack %q:\n%s", want, prom)
		}
	}

	// The run is recorded; `runs` lists it.
	code, out, _ = runCLI(t, "runs", "--db", db)
	if code != ExitOK || !strings.Contains(out, "succeeded") {
		t.Errorf("runs: %d %s", code, out)
	}

	// A missing tag: the others import, exit 3, the failure is printed.
	code, out, _ = runCLI(t, "import", "--db", db, "--tls-verify=false", "--progress", "never",
		reg.Host()+"/team/app:v1", reg.Host()+"/team/app:nope")
	if code != ExitPartial || !strings.Contains(out, "failed    "+reg.Host()+"/team/app:nope") {
		t.Errorf("partial failure: exit %d\n%s", code, out)
	}
}

func TestImportRefusesBadInputBeforeTouchingTheCatalog(t *testing.T) {
	dir := t.TempDir()
	db := dbtest.New(t)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("apiVersion: regimport.io/v1\nkind: Config\nsorces: []\n"), 0o644)
	for name, args := range map[string][]string{
		"config typo":    {"import", "--db", db, "--config", bad},
		"no refs":        {"import", "--db", db},
		"both modes":     {"import", "--db", db, "--all-tags", "--catalog", "r.example.com"},
		"missing policy": {"import", "--db", db, "--policy", filepath.Join(dir, "nope.json"), "r.example.com/a:1"},
		"bad log level":  {"import", "--db", db, "--log-level", "loud", "r.example.com/a:1"},
		"unknown flag":   {"import", "--db", db, "--frobnicate", "r.example.com/a:1"},
	} {
		code, _, errOut := runCLI(t, args...)
		if code != ExitUsage {
			t.Errorf("%s: exit %d, want %d (%s)", name, code, ExitUsage, errOut)
		}
		if name == "config typo" && !(strings.Contains(errOut, bad) && strings.Contains(errOut, "line 3")) {
			t.Errorf("config typo: %q does not name the file and line", errOut)
		}
	}
	if tables := catalogTables(t, db); tables != 0 {
		t.Errorf("bad input created the catalog: %d tables", tables)
	}
}

func TestSecondRunOnALockedCatalogSaysWhoHoldsIt(t *testing.T) {
	db := dbtest.New(t)
	// A short command: PostgreSQL keeps 63 bytes of the holder's
	// application_name, where its pid, host and command are written.
	lock, err := catalogdb.LockRuns(db, "import -c n.yaml", catalog.Shard{})
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	code, _, errOut := runCLI(t, "import", "--db", db, "r.example.com/a:1")
	if code != ExitLocked || !strings.Contains(errOut, fmt.Sprintf("pid %d", os.Getpid())) || !strings.Contains(errOut, "import -c n.yaml") {
		t.Errorf("exit %d, %q; want %d naming the holder", code, errOut, ExitLocked)
	}
}

func TestProgressLine(t *testing.T) {
	line := renderProgress(200, 50, 3, 10*time.Second)
	for _, want := range []string{"50/200", "5.0/s", "ETA 30s", "3 failed", "[=======>"} {
		if !strings.Contains(line, want) {
			t.Errorf("%q lacks %q", line, want)
		}
	}
	var buf bytes.Buffer
	bar := newProgressBar(&buf, "always")
	bar.Start(4)
	bar.Stop()
	if !strings.Contains(buf.String(), "0/4") || !strings.HasSuffix(buf.String(), "\n") {
		t.Errorf("bar output %q", buf.String())
	}
	if newProgressBar(&buf, "auto") != nil {
		t.Error("a bar was drawn on something that is not a terminal")
	}
}

// catalogTables counts the tables of the catalog db: 0 when the file or
// database does not exist or is empty.
func catalogTables(t *testing.T, db string) int {
	t.Helper()
	if !catalog.IsPostgres(db) {
		if _, err := os.Stat(db); os.IsNotExist(err) {
			return 0
		}
	}
	driver := "sqlite3"
	count := `SELECT count(*) FROM sqlite_master WHERE type = 'table'`
	if catalog.IsPostgres(db) {
		driver = "pgx"
		count = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	conn, err := sql.Open(driver, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRow(count).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
