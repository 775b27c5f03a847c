package cli

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regimport/regimport/internal/dbtest"
)

// Every command takes a PostgreSQL URL for --db, and the URL's password
// reaches no output, message or record. The test server trusts loopback,
// so any password is accepted; it stands for a real one here.
func TestEveryCommandOnPostgresWithoutLeakingThePassword(t *testing.T) {
	const secret = "s3cret-Pw-0f-the-catalog"
	u, err := url.Parse(dbtest.NewPostgres(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), secret)
	db := u.String()
	reg := startRegistry(t)
	policy := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(policy, []byte(`{"default": [{"type": "insecureAcceptAnything"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var seen strings.Builder
	run := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, args...)
		seen.WriteString(out + errOut)
		if code != want {
			t.Fatalf("%s: exit %d, want %d\n%s%s", strings.Join(args[:1], " "), code, want, out, errOut)
		}
		return out
	}
	run(ExitOK, "import", "--db", db, "--tls-verify=false", "--progress", "never", "-v", "--all-tags", reg.Host()+"/team/app")
	if out := run(ExitOK, "get", "images", "--db", db, "-o", "name"); strings.Count(out, "sha256:") < 3 {
		t.Errorf("get images: %q", out)
	}
	if out := run(ExitOK, "runs", "--db="+db); !strings.Contains(out, "postgres://postgres@") || !strings.Contains(out, "succeeded") {
		t.Errorf("runs does not show the redacted URL of a succeeded run:\n%s", out)
	}
	run(ExitOK, "verify", "--db", db, "--policy", policy)
	if out := run(ExitOK, "report", "--db", db, "--format", "json"); !strings.Contains(out, `"images": `) {
		t.Errorf("report: %.300s", out)
	}
	run(ExitOK, "prune", "--db", db, "--unreferenced-for", "1h", "--dry-run")
	if out := run(ExitOK, "migrate", "--db", db); !strings.Contains(out, "schema version") {
		t.Errorf("migrate: %q", out)
	}
	// A server that is not there: the message names it, not the password.
	bad := "postgres://postgres:" + secret + "@127.0.0.1:1/none?sslmode=disable"
	code, _, errOut := runCLI(t, "get", "images", "--db", bad)
	seen.WriteString(errOut)
	if code != ExitFatal || !strings.Contains(errOut, "127.0.0.1:1") {
		t.Errorf("unreachable server: exit %d: %s", code, errOut)
	}
	if strings.Contains(seen.String(), secret) {
		t.Errorf("the password appears in regimport's output:\n%s", seen.String())
	}
}
