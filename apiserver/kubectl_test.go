package apiserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kubectl runs the kubectl of the machine against url, isolated from the
// user's configuration and cache.
func kubectl(t *testing.T, ctx context.Context, url string, args ...string) *exec.Cmd {
	t.Helper()
	bin, err := exec.LookPath("kubectl")
	if err != nil {
		const why = "kubectl is not on PATH: install Debian's kubectl package (make test-deps) to run the kubectl tests"
		if os.Getenv("CI") == "true" {
			t.Fatal(why + " (CI=true: a missing tool fails the run)")
		}
		t.Skip(why)
	}
	home := t.TempDir()
	kubeconfig := filepath.Join(home, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	full := append([]string{"--kubeconfig=" + kubeconfig, "--server=" + url, "--cache-dir=" + filepath.Join(home, "cache"),
		"--request-timeout=20s"}, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "KUBECONFIG=" + kubeconfig}
	return cmd
}

func runKubectl(t *testing.T, url string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := kubectl(t, ctx, url, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Logf("kubectl %s stderr: %s", strings.Join(args, " "), stderr.String())
	}
	return string(out)
}

func TestKubectl(t *testing.T) {
	f := newFixture(t, 12)
	_, ts := serve(t, f.reader, Options{})
	names := allNames(t, f.reader)
	ctx := context.Background()

	t.Run("table", func(t *testing.T) {
		out := runKubectl(t, ts.URL, "get", "images.image.openshift.io")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != len(names)+1 || strings.Join(strings.Fields(lines[0]), " ") != "NAME IMAGE REFERENCE" {
			t.Fatalf("table:\n%s", out)
		}
		for i, n := range names {
			img, _ := f.reader.GetImage(ctx, n)
			if got := strings.Fields(lines[i+1]); len(got) != 2 || got[0] != n || got[1] != img.DockerImageReference {
				t.Errorf("row %d: %q, want %s %s", i, lines[i+1], n, img.DockerImageReference)
			}
		}
	})
	t.Run("wide", func(t *testing.T) {
		out := runKubectl(t, ts.URL, "get", "images.image.openshift.io", "-o", "wide")
		if !strings.HasPrefix(out, "NAME") || !strings.Contains(out, "SIGNATURE") || !strings.Contains(out, "ARCHITECTURE") ||
			!strings.Contains(out, "linux/amd64,linux/arm64/v8") || !strings.Contains(out, "accepted") || !strings.Contains(out, "amd64") {
			t.Errorf("wide table:\n%s", out)
		}
	})
	t.Run("json equals the catalog", func(t *testing.T) {
		out := runKubectl(t, ts.URL, "get", "images.image.openshift.io", "-o", "json")
		var list struct {
			Kind  string
			Items []json.RawMessage
		}
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if list.Kind != "List" || len(list.Items) != len(names) {
			t.Fatalf("kind %s with %d items, want List with %d", list.Kind, len(list.Items), len(names))
		}
		for i, raw := range list.Items {
			img, err := f.reader.GetImage(ctx, names[i])
			if err != nil {
				t.Fatal(err)
			}
			withoutRaw(img) // as OpenShift serves imported Images
			var got any
			json.Unmarshal(raw, &got)
			if !sameJSON(t, got, img) {
				t.Errorf("item %d differs from GetImage:\n got %s", i, raw)
			}
		}
	})
	t.Run("get one by name and the legacy group", func(t *testing.T) {
		out := runKubectl(t, ts.URL, "get", "image.image.openshift.io", names[2], "-o", "name")
		if strings.TrimSpace(out) != "image.image.openshift.io/"+names[2] {
			t.Errorf("-o name: %q", out)
		}
	})
	t.Run("image streams are empty", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := kubectl(t, ctx, ts.URL, "get", "imagestreams", "-A").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "No resources found") {
			t.Errorf("kubectl get imagestreams -A: %v\n%s", err, out)
		}
	})
	t.Run("watch shows a new import live", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := kubectl(t, ctx, ts.URL, "get", "images.image.openshift.io", "--watch", "--output-watch-events")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			cancel()
			cmd.Wait()
		}()
		lines := bufio.NewScanner(stdout)
		seen := 0
		for seen < len(names) && lines.Scan() {
			if strings.HasPrefix(lines.Text(), "ADDED") {
				seen++
			}
		}
		rec := testImage(777)
		f.put(t, rec)
		for lines.Scan() {
			if f := strings.Fields(lines.Text()); len(f) == 3 && f[0] == "ADDED" && f[1] == rec.Image.Name {
				return
			}
		}
		t.Fatalf("kubectl --watch did not show %s; stderr: %s", rec.Image.Name, stderr.String())
	})
}
