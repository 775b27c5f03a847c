package importer_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/internal/testregistry"
	"github.com/regimport/regimport/registry"
	"go.podman.io/image/v5/types"
)

// Each hostile answer below is something a real registry does not do on
// demand, so it is injected by a handler in front of the real one; the
// assertion is always the same: a clear error naming the cause, bounded
// time and memory, and a catalog without the image.
func TestHostileRegistryAnswers(t *testing.T) {
	endless := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")
		chunk := bytes.Repeat([]byte(" "), 64<<10)
		for range 4096 { // 256 MiB if nobody stops reading
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
	for name, tc := range map[string]struct {
		fault func(w http.ResponseWriter, r *http.Request, next http.Handler)
		want  string
		is    error
	}{
		"connection reset": {func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}, "EOF", nil},
		"stall": {func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}, "deadline exceeded", nil},
		"truncated body": {func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.distribution.manifest.v2+json\r\nContent-Length: 900\r\n\r\n{\"schemaVersion\": 2"))
			conn.Close()
		}, "unexpected EOF", nil},
		"huge Content-Length": {func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			w.Header().Set("Content-Length", "104857600")
			w.WriteHeader(http.StatusOK)
		}, "Content-Length 104857600", registry.ErrTooLarge},
		"endless body": {func(w http.ResponseWriter, r *http.Request, _ http.Handler) { endless(w) }, "body over", registry.ErrTooLarge},
		"wrong Docker-Content-Digest": {func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			next.ServeHTTP(&headerRewriter{ResponseWriter: w, key: "Docker-Content-Digest", value: "sha256:" + strings.Repeat("1", 64)}, r)
		}, "announced sha256:1111", registry.ErrDigestMismatch},
		"deeply nested JSON": {func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			w.Header().Set("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")
			w.Write([]byte(strings.Repeat("[", 200000) + strings.Repeat("]", 200000)))
		}, "not valid JSON", nil},
		"huge JSON": {func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			w.Header().Set("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")
			w.Write([]byte(`{"schemaVersion":2,"layers":[` + strings.Repeat(`{"digest":"sha256:`+strings.Repeat("a", 64)+`","size":1},`, 30000) + `{}]}`))
		}, "digest", nil},
		"invalid UTF-8": {func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
			w.Write([]byte("{\"schemaVersion\":2,\"manifests\":[],\"annotations\":{\"x\":\"\xff\xfe\"}}"))
		}, "not valid UTF-8", nil},
		"429 without end": {func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "no", http.StatusTooManyRequests)
		}, "429", registry.ErrRateLimited},
	} {
		t.Run(name, func(t *testing.T) {
			var faulted atomic.Int64
			e := newEnvWith(t, registry.Options{RequestTimeout: 2 * time.Second, MaxRetries: 2, ThrottleCoolDown: 100 * time.Millisecond},
				testregistry.WithMiddleware(func(next http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if !testregistry.IsSeedRequest(r) && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/") {
							faulted.Add(1)
							tc.fault(w, r, next)
							return
						}
						next.ServeHTTP(w, r)
					})
				}))
			p := e.push(t, testregistry.ImageSpec{Repository: "hostile/app", Tags: []string{"v1"}, Format: testregistry.Schema2, Seed: 7})
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			s := e.run(t, importer.Request{References: []string{e.reg.Host() + "/hostile/app:v1"}})
			took := time.Since(start)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if faulted.Load() == 0 {
				t.Fatal("the fault was never served")
			}
			if len(s.Failures) != 1 || !strings.Contains(s.Failures[0].Reason, tc.want) {
				t.Fatalf("failures %+v, want one mentioning %q", s.Failures, tc.want)
			}
			if tc.is != nil && !errors.Is(s.Results[0].Err, tc.is) {
				t.Errorf("error %v is not %v", s.Results[0].Err, tc.is)
			}
			if took > 20*time.Second {
				t.Errorf("took %s", took)
			}
			if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 64<<20 {
				t.Errorf("heap grew by %d MiB", grew>>20)
			}
			if ok, _ := e.cat.HasImage(context.Background(), p.Digest.String()); ok {
				t.Error("the image was stored anyway")
			}
			if rv, _ := e.cat.ResourceVersion(context.Background()); rv != 0 {
				t.Errorf("the catalog changed: resourceVersion %d", rv)
			}
		})
	}
}

type headerRewriter struct {
	http.ResponseWriter
	key, value string
	done       bool
}

func (h *headerRewriter) WriteHeader(code int) {
	if !h.done {
		h.done = true
		h.Header().Set(h.key, h.value)
	}
	h.ResponseWriter.WriteHeader(code)
}

func (h *headerRewriter) Write(p []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	return h.ResponseWriter.Write(p)
}

// A registry that wants Basic auth gets the auth file's credentials; a
// redirect to another host (blob storage) must not carry them, and the
// secret must appear in no log line, error or catalog row.
func TestCredentialsStayWithTheirRegistry(t *testing.T) {
	const user, secret = "robot", "s3cr3t-planted-password"
	var leaked atomic.Bool
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Store(true)
		}
		http.NotFound(w, r)
	}))
	defer elsewhere.Close()
	var authed atomic.Int64
	e := newEnvWith(t, registry.Options{MaxRetries: 1}, testregistry.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if testregistry.IsSeedRequest(r) {
				next.ServeHTTP(w, r)
				return
			}
			u, p, ok := r.BasicAuth()
			if !ok || u != user || p != secret {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
				return
			}
			authed.Add(1)
			if strings.Contains(r.URL.Path, "/blobs/") {
				http.Redirect(w, r, elsewhere.URL+"/storage"+r.URL.Path, http.StatusTemporaryRedirect)
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	authFile := filepath.Join(t.TempDir(), "auth.json")
	os.WriteFile(authFile, []byte(`{"auths":{"`+e.reg.Host()+`":{"auth":"`+base64.StdEncoding.EncodeToString([]byte(user+":"+secret))+`"}}}`), 0o600)
	var logs bytes.Buffer
	client := registry.New(registry.Options{Sys: &types.SystemContext{AuthFilePath: authFile, DockerInsecureSkipTLSVerify: types.OptionalBoolTrue},
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), MaxRetries: 1})
	imp, _ := importer.New(importer.Options{Catalog: e.cat, Registry: client, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	e.push(t, testregistry.ImageSpec{Repository: "private/app", Tags: []string{"v1"}, Format: testregistry.Schema2, Seed: 8})
	s, err := imp.Run(context.Background(), importer.Request{References: []string{e.reg.Host() + "/private/app:v1"}, Command: "import private/app:v1"})
	if err != nil {
		t.Fatal(err)
	}
	if authed.Load() == 0 {
		t.Fatal("the registry never saw the credentials")
	}
	if leaked.Load() {
		t.Error("the redirect to another host carried the Authorization header")
	}
	if len(s.Failures) != 1 { // the config blob lives "elsewhere" and is missing there
		t.Fatalf("failures %+v", s.Failures)
	}
	everything := logs.String() + s.Failures[0].Reason
	fs, _ := e.cat.RunFailures(context.Background(), s.RunID)
	for _, f := range fs {
		everything += f.Reason + f.Reference
	}
	runs, _ := e.cat.Runs(context.Background(), 0)
	for _, r := range runs {
		everything += r.Command
	}
	for _, needle := range []string{secret, base64.StdEncoding.EncodeToString([]byte(user + ":" + secret))} {
		if strings.Contains(everything, needle) {
			t.Errorf("the secret %q leaked into logs, errors or the catalog", needle)
		}
	}
	_ = catalog.ErrNotFound
}

func newEnvWith(t *testing.T, ro registry.Options, opts ...testregistry.Option) *env {
	t.Helper()
	e := newEnv(t, opts...)
	ro.Sys = &types.SystemContext{DockerInsecureSkipTLSVerify: types.OptionalBoolTrue}
	imp, err := importer.New(importer.Options{Catalog: e.cat, Registry: registry.New(ro), Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	e.imp = imp
	return e
}

// A registry that answers 401 to every token it handed out must not be
// asked forever: one fresh token, then Unauthorized.
func TestUnauthorizedLoopEnds(t *testing.T) {
	var tokens atomic.Int64
	tokenServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokens.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"token":"t","expires_in":300}`))
	}))
	defer tokenServer.Close()
	var denied atomic.Int64
	e := newEnvWith(t, registry.Options{MaxRetries: 3}, testregistry.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if testregistry.IsSeedRequest(r) {
				next.ServeHTTP(w, r)
				return
			}
			denied.Add(1)
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+tokenServer.URL+`/token",service="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
		})
	}))
	e.push(t, testregistry.ImageSpec{Repository: "locked/app", Tags: []string{"v1"}, Format: testregistry.Schema2, Seed: 9})
	start := time.Now()
	s := e.run(t, importer.Request{References: []string{e.reg.Host() + "/locked/app:v1"}})
	if len(s.Failures) != 1 || len(s.Results) != 1 || importer.ReasonOf(s.Results[0].Err) != "Unauthorized" {
		t.Fatalf("failures %+v, want one Unauthorized", s.Failures)
	}
	if denied.Load() > 4 || tokens.Load() > 2 || time.Since(start) > 5*time.Second {
		t.Errorf("%d denied requests, %d tokens in %s: the 401 loop was not cut short", denied.Load(), tokens.Load(), time.Since(start))
	}
}
