package hermetic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/pkg/docker/config"
	"go.podman.io/image/v5/pkg/sysregistriesv2"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

// The libraries' default lookups find the test binary's files, not the
// host's: under scripts/hostile-host every other place holds a file that
// would change these answers.
func TestLibrariesReadTheTestBinarysConfiguration(t *testing.T) {
	home, err := os.ReadDir(os.Getenv("HOME"))
	if err != nil || len(home) != 0 {
		t.Fatalf("HOME %s is not an empty directory of the test's: %v %v", os.Getenv("HOME"), home, err)
	}

	// The policy comes from CONTAINERS_POLICY_JSON: changed there, the
	// default policy changes with it.
	path := os.Getenv("CONTAINERS_POLICY_JSON")
	if !strings.HasPrefix(path, filepath.Dir(os.Getenv("HOME"))) {
		t.Fatalf("CONTAINERS_POLICY_JSON %s is not the test binary's", path)
	}
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.WriteFile(path, orig, 0o600) })
	for _, want := range []string{"reject", "insecureAcceptAnything"} {
		if err := os.WriteFile(path, []byte(`{"default": [{"type": "`+want+`"}]}`), 0o600); err != nil {
			t.Fatal(err)
		}
		p, err := signature.DefaultPolicy(nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(p.Default)
		if !strings.Contains(string(got), want) {
			t.Fatalf("default policy after writing %q to CONTAINERS_POLICY_JSON: %s", want, got)
		}
	}

	// registries.conf: nothing blocked, mirrored or searched, with the
	// default file and with one given (its drop-ins read under Root).
	conf := filepath.Join(t.TempDir(), "registries.conf")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, sys := range []*types.SystemContext{{}, {SystemRegistriesConfPath: conf, RootForImplicitAbsolutePaths: Root()}} {
		regs, err := sysregistriesv2.GetRegistries(sys)
		if err != nil || len(regs) != 0 {
			t.Errorf("registries.conf %+v: registries %+v, %v; want none", sys, regs, err)
		}
		search, err := sysregistriesv2.UnqualifiedSearchRegistries(sys)
		if err != nil || len(search) != 0 {
			t.Errorf("registries.conf %+v: search registries %v, %v; want none", sys, search, err)
		}
		helpers, err := sysregistriesv2.CredentialHelpers(sys)
		if err != nil || !slices.Equal(helpers, []string{"containers-auth.json"}) {
			t.Errorf("registries.conf %+v: credential helpers %v, %v; want the default", sys, helpers, err)
		}
	}

	// registries.d under Root: no lookaside configured, so containers/image's
	// built-in local default, not a URL from the host's registries.d.
	ref, err := docker.ParseReference("//127.0.0.1:5000/team/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	base, err := docker.SignatureStorageBaseURL(&types.SystemContext{RootForImplicitAbsolutePaths: Root()}, ref, false)
	if err != nil || base.Scheme != "file" {
		t.Errorf("lookaside with registries.d under Root: %v, %v; want the built-in file: default", base, err)
	}

	// Credentials: none, and no helper that is not there.
	for _, host := range []string{"127.0.0.1:5000", "docker.io", "quay.io"} {
		ac, err := config.GetCredentials(nil, host)
		if err != nil || ac != (types.DockerAuthConfig{}) {
			t.Errorf("containers/image credentials for %s: %+v, %v; want none", host, ac, err)
		}
		reg, err := name.NewRegistry(host)
		if err != nil {
			t.Fatal(err)
		}
		auth, err := authn.Resolve(context.Background(), authn.DefaultKeychain, reg)
		if err != nil || auth != authn.Anonymous {
			t.Errorf("Docker config credentials for %s: %v, %v; want anonymous", host, auth, err)
		}
	}
}

// Every test package whose tests link code that reads containers, Docker,
// notation, sigstore or kubeconfig files from their default places (or that
// runs regimport) sets up its environment with Run or Setup in TestMain.
func TestEveryPackageThatCouldReadTheHostIsHermetic(t *testing.T) {
	root := moduleRoot(t)
	cmd := exec.Command("go", "list", "-tags", "containers_image_openpgp", "-test",
		"-f", `{{if .ForTest}}{{.ForTest}}|{{.Dir}}|{{join .Deps " "}}{{end}}`, "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	dirs := map[string]string{}
	var reading []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.SplitN(line, "|", 3)
		if len(parts) != 3 {
			continue
		}
		pkg, dir, deps := parts[0], parts[1], strings.Fields(parts[2])
		dirs[pkg] = dir
		if readsHostConfiguration(deps) && !slices.Contains(reading, pkg) {
			reading = append(reading, pkg)
		}
	}
	for _, must := range []string{"internal/cli", "registry", "importer", "signatures"} {
		if !slices.Contains(reading, modulePath+"/"+must) {
			t.Fatalf("go list: %s is not among the packages that read host configuration %v: the check is blind", must, reading)
		}
	}
	for _, pkg := range reading {
		ok, err := setsUpEnvironment(dirs[pkg])
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Errorf("%s: its tests can read the host's configuration; give it func TestMain(m *testing.M) { os.Exit(hermetic.Run(m)) }", pkg)
		}
	}
}

// The check fails a package without the TestMain, and one whose TestMain
// does not call Run or Setup.
func TestTheCheckFindsAPackageThatIsNotHermetic(t *testing.T) {
	for src, want := range map[string]bool{
		"package p\n\nimport \"testing\"\n\nfunc TestX(t *testing.T) {}\n":                                                        false,
		"package p\n\nimport (\"os\"; \"testing\")\n\nfunc TestMain(m *testing.M) { os.Exit(m.Run()) }\n":                         false,
		"package p\n\nimport (\"os\"; \"testing\"; \"x/hermetic\")\n\nfunc TestMain(m *testing.M) { os.Exit(hermetic.Run(m)) }\n": true,
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "p_test.go"), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := setsUpEnvironment(dir)
		if err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", src, got, err, want)
		}
	}
	if readsHostConfiguration([]string{"errors", modulePath + "/catalog"}) {
		t.Error("a package of catalog and the standard library counted as reading host configuration")
	}
	if !readsHostConfiguration([]string{"errors", "go.podman.io/image/v5/signature"}) {
		t.Error("a package linking containers/image not counted as reading host configuration")
	}
}

const modulePath = "github.com/regimport/regimport"

// readers are the packages (prefixes) that read configuration from default
// places on the host: containers/image, go-containerregistry's keychain,
// Docker's config, notation's and sigstore's user directories, kubeconfig,
// and regimport's command line.
var readers = []string{
	"go.podman.io/image/", "github.com/google/go-containerregistry/", "github.com/docker/cli/",
	"github.com/notaryproject/notation-go", "github.com/sigstore/sigstore-go/",
	"k8s.io/client-go/tools/clientcmd", modulePath + "/internal/cli",
}

func readsHostConfiguration(deps []string) bool {
	for _, d := range deps {
		for _, r := range readers {
			if d == strings.TrimSuffix(r, "/") || strings.HasPrefix(d, r) {
				return true
			}
		}
	}
	return false
}

// setsUpEnvironment reports whether dir's test files have a TestMain that
// calls hermetic.Run or hermetic.Setup.
func setsUpEnvironment(dir string) (bool, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		return false, err
	}
	fset := token.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			return false, err
		}
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Name.Name != "TestMain" || fn.Recv != nil || fn.Body == nil {
				continue
			}
			found := false
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.SelectorExpr:
					x, ok := n.X.(*ast.Ident)
					found = found || ok && x.Name == "hermetic" && (n.Sel.Name == "Run" || n.Sel.Name == "Setup")
				case *ast.Ident:
					// This package's own TestMain calls them unqualified.
					found = found || file.Name.Name == "hermetic" && (n.Name == "Run" || n.Name == "Setup")
				}
				return !found
			})
			if found {
				return true, nil
			}
		}
	}
	return false, nil
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatal("not in a module")
	}
	f, err := os.Open(gomod)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head, err := io.ReadAll(io.LimitReader(f, 200))
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if !strings.Contains(string(head), "module "+modulePath) {
		t.Fatalf("%s is not %s's go.mod", gomod, modulePath)
	}
	return filepath.Dir(gomod)
}
