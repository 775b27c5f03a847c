package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regimport/regimport/internal/dbtest"
)

// A verdict is for a pull by digest, which a policy scope naming a tag is
// not consulted for: import, verify (and its dry run) and report --policy
// each warn of such a scope, and the import of that very tag is judged
// without it.
func TestCommandsWarnOfPolicyScopesThatNameATag(t *testing.T) {
	reg := startRegistry(t)
	db := dbtest.New(t)
	tagged := reg.Host() + "/team/app:v0"
	policy := filepath.Join(t.TempDir(), "policy.json")
	writePolicy(t, policy, fmt.Sprintf(`{"default":[{"type":"insecureAcceptAnything"}],"transports":{"docker":{%q:[{"type":"reject"}]}}}`, tagged))
	for _, args := range [][]string{
		{"import", "--db", db, "--tls-verify=false", "--progress", "never", "--policy", policy, tagged},
		{"verify", "--db", db, "--policy", policy, "--dry-run"},
		{"verify", "--db", db, "--policy", policy},
		{"report", "--db", db, "--policy", policy, "--format", "json"},
	} {
		code, out, errOut := runCLI(t, args...)
		if code != ExitOK {
			t.Errorf("%s: exit %d, want 0 (the scope rejecting %s is not one a pull by digest consults)\n%s%s", args[0], code, tagged, out, errOut)
		}
		warned := 0
		for line := range strings.Lines(errOut) {
			if strings.Contains(line, "policy scope names a tag") && strings.Contains(line, tagged) {
				warned++
			}
		}
		if warned != 1 {
			t.Errorf("%s: warned %d times of the scope %s, want once\n%s", strings.Join(args[:len(args)-1], " "), warned, tagged, errOut)
		}
	}
}

// The same for registries.d: a "docker" namespace that names a tag is not
// consulted for the lookups of a pull by digest, and import warns of it
// once; a namespace naming a digest, a repository or a host with a port
// is consulted, and not warned of.
func TestImportWarnsOfRegistriesDNamespacesThatNameATag(t *testing.T) {
	reg := startRegistry(t)
	dir := t.TempDir()
	tagged := reg.Host() + "/team/app:v0"
	regd := filepath.Join(dir, "registries.d")
	if err := os.MkdirAll(regd, 0o755); err != nil {
		t.Fatal(err)
	}
	lookaside := "file://" + filepath.Join(dir, "lookaside")
	scopes := fmt.Sprintf("docker:\n  %s:\n    lookaside: %s\n  %s:\n    lookaside: %s\n  %s:\n    lookaside: %s\n  %s:\n    lookaside: %s\n",
		tagged, lookaside, reg.Host()+"/team/app@sha256:"+strings.Repeat("a", 64), lookaside, reg.Host()+"/team/app", lookaside, reg.Host(), lookaside)
	if err := os.WriteFile(filepath.Join(regd, "scopes.yaml"), []byte(scopes), 0o644); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(dir, "policy.json")
	writePolicy(t, policy, `{"default":[{"type":"insecureAcceptAnything"}]}`)
	code, out, errOut := runCLI(t, "import", "--db", dbtest.New(t), "--tls-verify=false", "--progress", "never", "--policy", policy, "--registries.d", regd, tagged)
	if code != ExitOK {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	var warned []string
	for line := range strings.Lines(errOut) {
		if strings.Contains(line, "registries.d namespace names a tag") {
			_, ns, _ := strings.Cut(line, "namespace=")
			ns, _, _ = strings.Cut(ns, " ")
			warned = append(warned, ns)
		}
	}
	if len(warned) != 1 || warned[0] != tagged {
		t.Errorf("warned of namespaces %q, want only %s\n%s", warned, tagged, errOut)
	}
}
