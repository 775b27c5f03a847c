package kubernetes

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/cli"
)

// cliFlag is one flag of a regimport subcommand, as its --help lists it.
type cliFlag struct {
	takesValue bool
}

// helpFlag matches a flag line of Go's flag.PrintDefaults: "  -name type"
// for a flag with a value, "  -name" alone for a boolean.
var helpFlag = regexp.MustCompile(`(?m)^  -([^\s=]+)(?:[ \t]+(\S+))?`)

// subcommandFlags asks the real regimport for a subcommand's flags.
func subcommandFlags(t *testing.T, sub string) map[string]cliFlag {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := cli.Main(context.Background(), []string{sub, "--help"}, cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut}); code != cli.ExitOK {
		t.Fatalf("regimport %s --help: exit %d: %s", sub, code, errOut.String())
	}
	flags := map[string]cliFlag{}
	for _, m := range helpFlag.FindAllStringSubmatch(errOut.String()+out.String(), -1) {
		flags[m[1]] = cliFlag{takesValue: m[2] != ""}
	}
	if len(flags) < 3 {
		t.Fatalf("regimport %s --help listed %d flags; has its format changed?\n%s", sub, len(flags), errOut.String())
	}
	return flags
}

// unknownFlags are the flags in args (args[0] is the subcommand) that the
// subcommand does not define, in order.
func unknownFlags(t *testing.T, args []string) []string {
	t.Helper()
	known := subcommandFlags(t, args[0])
	var unknown []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			continue // a positional argument
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f, ok := known[name]
		if !ok {
			unknown = append(unknown, a)
			continue
		}
		if f.takesValue && !hasValue {
			i++ // its value
		}
	}
	return unknown
}

// TestManifestFlagsAreRegimportFlags: every flag a manifest passes is one
// the regimport subcommand really defines (asked of the real command line,
// not a list kept here), and with all of them given, values included, the
// command line parses.
func TestManifestFlagsAreRegimportFlags(t *testing.T) {
	m := mustLoad(t)
	for name, pod := range m.pods() {
		t.Run(name, func(t *testing.T) {
			c := regimportContainer(t, pod)
			if len(c.Args) == 0 {
				t.Fatal("no args")
			}
			if u := unknownFlags(t, c.Args); len(u) > 0 {
				t.Fatalf("regimport %s does not accept %s", c.Args[0], strings.Join(u, ", "))
			}
			// --help after every other flag: regimport parses them all (an
			// int that is not one fails here), then stops before running.
			var errOut bytes.Buffer
			args := append(expandEnv(c.Args, map[string]string{"REGIMPORT_DB": "catalog.db", "REGIMPORT_RUN_GROUP": "regimport-import-29000000"}), "--help")
			if code := cli.Main(context.Background(), args, cli.Streams{In: strings.NewReader(""), Out: io.Discard, Err: &errOut}); code != cli.ExitOK {
				t.Errorf("regimport %s: exit %d, want the flags to parse: %s", strings.Join(args, " "), code, lastLine(errOut.String()))
			}
		})
	}
}

// TestFlagCheckRejectsUnknownFlags: the check above fails on a flag
// regimport does not have, wherever it stands, and on a misspelled one.
func TestFlagCheckRejectsUnknownFlags(t *testing.T) {
	m := mustLoad(t)
	args := regimportContainer(t, &m.deployment.Spec.Template.Spec).Args
	if u := unknownFlags(t, args); len(u) != 0 {
		t.Fatalf("serve's own args have unknown flags %v", u)
	}
	for _, bad := range [][]string{
		append(append([]string{}, args...), "--no-such-flag"),
		append(append([]string{}, args[:1]...), append([]string{"--no-such-flag=1"}, args[1:]...)...),
		{"serve", "--token-flie", "/x", "--db", "x"},
	} {
		if u := unknownFlags(t, bad); len(u) != 1 {
			t.Errorf("%v: unknown %v, want exactly the invented flag", bad, u)
		}
	}
	if u := unknownFlags(t, []string{"import", "--db", "--no-such-flag"}); len(u) != 0 {
		t.Errorf("a flag's value that looks like a flag was taken for one: %v", u)
	}
}

// expandEnv replaces $(VAR), as the kubelet does in command and args.
func expandEnv(args []string, env map[string]string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = envRef.ReplaceAllStringFunc(a, func(ref string) string {
			if v, ok := env[envRef.FindStringSubmatch(ref)[1]]; ok {
				return v
			}
			return ref
		})
	}
	return out
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestServeManifestServesProbes runs regimport serve with the Deployment's
// own args and mounted files. As written (listening beyond loopback) it
// must get past every flag check, the token rule included, and stop only
// at the catalog; moved to loopback, its probe paths must answer 200
// without the token the kubelet does not have, while the API answers 401
// without it and 200 with the Secret's serve-token.
func TestServeManifestServesProbes(t *testing.T) {
	m := mustLoad(t)
	pod := &m.deployment.Spec.Template.Spec
	c := regimportContainer(t, pod)
	root := t.TempDir()
	for p, content := range containerFiles(t, m, pod, c) {
		if err := os.MkdirAll(filepath.Dir(root+p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(root+p, content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := expandEnv(underRoot(c.Args, root), map[string]string{"REGIMPORT_DB": filepath.Join(root, "missing", "catalog.db")})

	var errOut bytes.Buffer
	code := cli.Main(context.Background(), args, cli.Streams{In: strings.NewReader(""), Out: io.Discard, Err: &errOut})
	if code != cli.ExitFatal || !strings.Contains(errOut.String(), "missing") {
		t.Fatalf("serve with the manifest's args and no catalog: exit %d (%s), want %d from opening the catalog: any other stop is a flag the pod would die of", code, errOut.String(), cli.ExitFatal)
	}

	db := filepath.Join(root, "catalog.db")
	cat, err := catalogdb.Open(context.Background(), db, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.Close(); err != nil {
		t.Fatal(err)
	}
	args = expandEnv(underRoot(c.Args, root), map[string]string{"REGIMPORT_DB": db})
	for i := range args {
		if i > 0 && args[i-1] == "--listen" {
			args[i] = "127.0.0.1:0" // servers in tests listen on loopback only
		}
	}
	base := startServe(t, args)
	for _, p := range []string{c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path} {
		if code := get(t, base+p, ""); code != http.StatusOK {
			t.Errorf("probe GET %s without a token: %d, want 200", p, code)
		}
	}
	images := base + "/apis/image.openshift.io/v1/images"
	if code := get(t, images, ""); code != http.StatusUnauthorized {
		t.Errorf("GET images without the token: %d, want 401 (the token file is not in force)", code)
	}
	token := strings.TrimSpace(string(secretData(m.secret)["serve-token"]))
	if code := get(t, images, token); code != http.StatusOK {
		t.Errorf("GET images with the Secret's serve-token: %d, want 200", code)
	}
}

// underRoot moves the absolute paths among args under root, where the
// test wrote the pod's files.
func underRoot(args []string, root string) []string {
	out := slices.Clone(args)
	for i, a := range out {
		if strings.HasPrefix(a, "/") {
			out[i] = root + a
		}
	}
	return out
}

// get answers a GET's status code, with a bearer token unless it is "".
func get(t *testing.T, url, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// lockedBuffer is written by serve's logger while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var servingOn = regexp.MustCompile(`serving on (http://127\.0\.0\.1:[0-9]+)`)

// startServe runs regimport serve in-process until the test ends and
// returns its base URL.
func startServe(t *testing.T, args []string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &lockedBuffer{}
	var code int
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		code = cli.Main(ctx, args, cli.Streams{In: strings.NewReader(""), Out: io.Discard, Err: logs})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
	})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := servingOn.FindStringSubmatch(logs.String()); m != nil {
			return m[1]
		}
		select {
		case <-exited:
			t.Fatalf("serve exited with %d: %s", code, logs.String())
		default:
		}
	}
	t.Fatalf("serve never said where it listens: %s", logs.String())
	return ""
}
