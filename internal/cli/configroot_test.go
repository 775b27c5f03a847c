package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/internal/hermetic"
)

// --config-root (or $REGIMPORT_CONFIG_ROOT) is where the machine-wide
// policy and registries.conf drop-ins are read from; outside it, the
// machine's own files do not count.
func TestConfigRootHoldsTheMachineWideDefaults(t *testing.T) {
	if envConfigRoot != hermetic.EnvConfigRoot {
		t.Fatalf("internal/hermetic sets %s, the command line reads %s", hermetic.EnvConfigRoot, envConfigRoot)
	}
	reg := startRegistry(t)
	ref := reg.Host() + "/team/app:v0"
	write := func(root, name, content string) {
		t.Helper()
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rejecting := t.TempDir()
	write(rejecting, "etc/containers/policy.json", `{"default": [{"type": "reject"}]}`)
	blocking := t.TempDir()
	write(blocking, "etc/containers/registries.conf.d/block.conf", "[[registry]]\nprefix = \"127.0.0.1\"\nlocation = \"127.0.0.1\"\nblocked = true\n")
	args := func(extra ...string) []string {
		return append([]string{"import", "--db", dbtest.New(t), "--tls-verify=false", "--progress", "never", ref}, extra...)
	}

	if code, out, errOut := runCLI(t, args()...); code != ExitOK {
		t.Fatalf("with the test binary's empty root: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, args("--config-root", rejecting)...); code != ExitRejected {
		t.Fatalf("--config-root with a rejecting policy: exit %d, want %d\n%s\n%s", code, ExitRejected, out, errOut)
	}
	if code, out, errOut := runCLIEnv(t, map[string]string{envConfigRoot: rejecting}, args()...); code != ExitRejected {
		t.Fatalf("$%s with a rejecting policy: exit %d, want %d\n%s\n%s", envConfigRoot, code, ExitRejected, out, errOut)
	}
	// The flag wins over the environment.
	if code, out, errOut := runCLIEnv(t, map[string]string{envConfigRoot: rejecting}, args("--config-root", t.TempDir())...); code != ExitOK {
		t.Fatalf("--config-root over $%s: exit %d\n%s\n%s", envConfigRoot, code, out, errOut)
	}
	// A registries.conf given by flag is read with the drop-ins of the
	// root. (The environment's CONTAINERS_REGISTRIES_CONF, which
	// internal/hermetic sets, is read without drop-ins.)
	conf := filepath.Join(t.TempDir(), "registries.conf")
	write(filepath.Dir(conf), "registries.conf", "")
	if code, out, errOut := runCLI(t, args("--registries-conf", conf)...); code != ExitOK {
		t.Fatalf("--registries-conf with nothing in it: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, args("--registries-conf", conf, "--config-root", blocking)...)
	if code != ExitPartial || !strings.Contains(out+errOut, "blocked in registries.conf") {
		t.Fatalf("--config-root with a registries.conf.d that blocks the registry: exit %d, want %d and the reason\n%s\n%s", code, ExitPartial, out, errOut)
	}
	missing := filepath.Join(t.TempDir(), "absent")
	code, _, errOut = runCLI(t, args("--config-root", missing)...)
	if code != ExitUsage || !strings.Contains(errOut, "--config-root "+missing+": no such directory") {
		t.Fatalf("--config-root naming no directory: exit %d, want %d and the reason\n%s", code, ExitUsage, errOut)
	}
}
