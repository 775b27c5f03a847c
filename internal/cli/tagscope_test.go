package cli

import (
	"fmt"
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
