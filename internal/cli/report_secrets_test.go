package cli

import (
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/regimport/regimport/internal/testregistry"
)

// TestCredentialsNeverInReports: an import that needed a planted secret
// (Basic auth from --authfile) and recorded a failure leaves reports in
// every format that hold the import but not the secret, in clear or base64.
func TestCredentialsNeverInReports(t *testing.T) {
	t.Parallel()
	const user, secret = "robot$reports", "planted-s3cr3t-for-reports"
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + secret))
	var authed atomic.Int64
	ctx := context.Background()
	// distribution's own auth needs an htpasswd file and TLS; Basic auth in
	// front of the real registry is the same exchange on the wire.
	reg, err := testregistry.Start(ctx, testregistry.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if testregistry.IsSeedRequest(r) {
				next.ServeHTTP(w, r)
				return
			}
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != secret {
				w.Header().Set("WWW-Authenticate", `Basic realm="reports"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
			authed.Add(1)
			next.ServeHTTP(w, r)
		})
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	for i, tag := range []string{"v1", "v2"} {
		if _, err := reg.Push(ctx, testregistry.ImageSpec{Repository: "private/app", Tags: []string{tag}, Format: testregistry.Schema2, Seed: int64(40 + i)}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	authFile := filepath.Join(dir, "auth.json")
	if err := os.WriteFile(authFile, []byte(`{"auths":{"`+reg.Host()+`":{"auth":"`+basic+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "catalog.db")
	var out, errb strings.Builder
	code := Main(ctx, []string{"import", "--db", db, "--tls-verify=false", "--authfile", authFile, "--progress", "never",
		reg.Host() + "/private/app:v1", reg.Host() + "/private/app:v2", reg.Host() + "/private/app:missing"}, Streams{Out: &out, Err: &errb})
	if code != ExitPartial {
		t.Fatalf("import: exit %d, want %d (two imported, one missing)\n%s%s", code, ExitPartial, out.String(), errb.String())
	}
	if authed.Load() == 0 {
		t.Fatal("the registry never saw the credentials")
	}
	for _, name := range []string{"report.html", "report.json", "report.csv", "report.md"} {
		path := filepath.Join(dir, name)
		var rout, rerr strings.Builder
		if code := Main(ctx, []string{"report", "--db", db, "-o", path}, Streams{Out: &rout, Err: &rerr}); code != ExitOK {
			t.Fatalf("report %s: exit %d\n%s", name, code, rerr.String())
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b) + rout.String() + rerr.String()
		if !strings.Contains(text, "private/app") {
			t.Errorf("%s does not name the imported repository: the search below would prove nothing", name)
		}
		for _, needle := range []string{secret, basic, base64.RawStdEncoding.EncodeToString([]byte(user + ":" + secret)), base64.StdEncoding.EncodeToString([]byte(secret))} {
			if strings.Contains(text, needle) {
				t.Errorf("%s holds the secret (%q)", name, needle)
			}
		}
	}
}
