package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/regimport/regimport/catalog/catalogdb"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/internal/sigtest"
	"github.com/regimport/regimport/internal/testregistry"
)

// sharedRegistry starts a registry holding sigtest.Shared. A hand-written
// handler sits in front of it, since a real registry cannot be made to fail
// for one repository's signature tag only: signed/broken's cosign
// attachment answers 503.
func sharedRegistry(t *testing.T) (*testregistry.Registry, *sigtest.Shared) {
	reg, s, _ := switchableRegistry(t)
	return reg, s
}

// switchableRegistry is sharedRegistry with a switch: healed.Store(true)
// makes signed/broken answer as the registry does.
func switchableRegistry(t *testing.T) (*testregistry.Registry, *sigtest.Shared, *atomic.Bool) {
	t.Helper()
	ctx := context.Background()
	healed := &atomic.Bool{}
	reg, err := testregistry.Start(ctx, testregistry.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/v2/"+sigtest.SharedBroken+"/manifests/sha256-") && !testregistry.IsSeedRequest(r) && !healed.Load() {
				http.Error(w, "backend unavailable", http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	s, err := sigtest.NewShared(ctx, reg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return reg, s, healed
}

func TestImportExitCodesOfVerdictsPerRepository(t *testing.T) {
	reg, s := sharedRegistry(t)
	db := dbtest.New(t)
	repo := func(name string) string { return reg.Host() + "/" + name }
	img := s.Image.Digest.String()
	imp := func(args ...string) (int, string) {
		t.Helper()
		code, out, errOut := runCLI(t, append([]string{"import", "--db", db, "--tls-verify=false", "--progress", "never",
			"--policy", s.Policy, "--registries.d", s.RegistriesD}, args...)...)
		return code, out + errOut
	}

	// --all-tags over a cosign-signed repository: the .sig tag is read as
	// the signature of v1, not listed as an image, and nothing is rejected.
	code, out := imp("--all-tags", "-v", repo(sigtest.SharedSeed), repo(sigtest.SharedCosign))
	if code != ExitOK || strings.Contains(out, ".sig") || !strings.Contains(out, "0 rejected") {
		t.Fatalf("all tags of a cosign repository: exit %d\n%s", code, out)
	}

	// A repository whose signatures cannot be fetched: that pair is
	// unevaluated, the run exits 3, the image's other repositories keep
	// their verdicts and its summary is mixed.
	code, out = imp(repo(sigtest.SharedBroken) + ":v1")
	if code != ExitPartial || !strings.Contains(out, "could not be fetched") {
		t.Fatalf("broken repository: exit %d, want 3\n%s", code, out)
	}
	code, out, _ = runCLI(t, "get", "images", "--db", db, "-o", "wide", img)
	if code != ExitOK || !strings.Contains(out, string(catalog.VerdictMixed)) {
		t.Errorf("get -o wide: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "get", "images", "--db", db, "-o", "json", img)
	var served imagev1.Image
	if err := json.Unmarshal([]byte(out), &served); code != ExitOK || err != nil {
		t.Fatalf("get -o json: exit %d, %v", code, err)
	}
	var per map[string]string
	if err := json.Unmarshal([]byte(served.Annotations[catalog.AnnotationSignatureVerdicts]), &per); err != nil {
		t.Fatalf("annotation %s: %v", catalog.AnnotationSignatureVerdicts, err)
	}
	if len(per) != 3 || per[repo(sigtest.SharedSeed)] != "accepted" || per[repo(sigtest.SharedCosign)] != "accepted" ||
		!strings.HasPrefix(per[repo(sigtest.SharedBroken)], "unevaluated: signatures could not be fetched") {
		t.Errorf("per-repository verdicts %v", per)
	}

	// A policy under which one repository's pair is rejected: exit 4.
	strict := filepath.Join(t.TempDir(), "strict.json")
	writePolicy(t, strict, `{"default":[{"type":"reject"}]}`)
	code, out, errOut := runCLI(t, "import", "--db", db, "--tls-verify=false", "--progress", "never", "--policy", strict,
		"--registries.d", s.RegistriesD, repo(sigtest.SharedGPG)+":v1")
	if code != ExitRejected {
		t.Errorf("a rejected pair: exit %d, want 4\n%s%s", code, out, errOut)
	}
}

func TestVerifyReevaluatesPerRepositoryUnderTheRunLock(t *testing.T) {
	reg, s := sharedRegistry(t)
	db := dbtest.New(t)
	repo := func(name string) string { return reg.Host() + "/" + name }
	code, out, errOut := runCLI(t, "import", "--db", db, "--tls-verify=false", "--progress", "never", "--policy", s.Policy,
		"--registries.d", s.RegistriesD, repo(sigtest.SharedSeed)+":v1", repo(sigtest.SharedGPG)+":v1")
	if code != ExitOK {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	img := s.Image.Digest.String()

	lock, err := catalogdb.LockRuns(db, "test", catalog.Shard{})
	if err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "verify", "--db", db, "--policy", s.Policy); code != ExitLocked {
		t.Errorf("verify while a run holds the lock: exit %d, want 5 (%s)", code, errOut)
	}
	lock.Unlock()

	code, out, errOut = runCLI(t, "verify", "--db", db, "--policy", s.Policy)
	if code != ExitOK || !strings.Contains(out, "accepted    "+repo(sigtest.SharedGPG)+"@"+img) ||
		!strings.Contains(out, "accepted    "+repo(sigtest.SharedSeed)+"@"+img) || strings.Contains(out, "(changed)") {
		t.Fatalf("verify, same policy: exit %d\n%s%s", code, out, errOut)
	}
	// A policy that no longer trusts the release key: only the GPG
	// repository's pair changes, and the change is recorded.
	strict := filepath.Join(t.TempDir(), "strict.json")
	writePolicy(t, strict, `{"default":[{"type":"insecureAcceptAnything"}],"transports":{"docker":{"`+repo(sigtest.SharedGPG)+`":[{"type":"reject"}]}}}`)
	code, out, _ = runCLI(t, "verify", "--db", db, "--policy", strict)
	if code != ExitRejected || !strings.Contains(out, "rejected    "+repo(sigtest.SharedGPG)+"@"+img+" (changed)") ||
		strings.Contains(out, repo(sigtest.SharedSeed)+"@"+img+" (changed)") {
		t.Errorf("verify, stricter policy: exit %d\n%s", code, out)
	}
}

func writePolicy(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A pair whose signatures could not be fetched is tried again by the next
// run; its verdict then changes, and the report's changes section shows
// that change: when, which run, old -> new.
func TestUnevaluatedPairIsRetriedAndTheChangeIsReported(t *testing.T) {
	reg, s, healed := switchableRegistry(t)
	db := dbtest.New(t)
	ref := reg.Host() + "/" + sigtest.SharedBroken + ":v1"
	imp := func() (int, string) {
		code, out, errOut := runCLI(t, "import", "--db", db, "--tls-verify=false", "--progress", "never", "--policy", s.Policy,
			"--registries.d", s.RegistriesD, ref)
		return code, out + errOut
	}
	if code, out := imp(); code != ExitPartial {
		t.Fatalf("first run: exit %d, want 3\n%s", code, out)
	}
	// Offline, the missing signatures are still missing: verify keeps the
	// pair unevaluated.
	if code, out, _ := runCLI(t, "verify", "--db", db, "--policy", s.Policy); code != ExitPartial ||
		!strings.Contains(out, "unevaluated "+reg.Host()+"/"+sigtest.SharedBroken+"@"+s.Image.Digest.String()) {
		t.Errorf("verify of an unevaluated pair: exit %d\n%s", code, out)
	}
	healed.Store(true)
	if code, out := imp(); code != ExitOK || !strings.Contains(out, "1 accepted") {
		t.Fatalf("second run: exit %d, want 0 with the pair accepted\n%s", code, out)
	}
	code, out, errOut := runCLI(t, "report", "--db", db, "--format", "json")
	if code != ExitOK {
		t.Fatalf("report: exit %d: %s", code, errOut)
	}
	var doc struct {
		ImageChanges []struct {
			Digest, Change, From, To string
			Repositories             []string
			Run                      int64
		} `json:"imageChanges"`
		Inventory []struct {
			Repository, Tag, SignatureVerdict string
			Signers                           []string
		} `json:"inventory"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range doc.ImageChanges {
		if c.Change == "verdict-changed" && c.Digest == s.Image.Digest.String() && c.Run == 2 &&
			strings.HasPrefix(c.From, "unevaluated (signatures could not be fetched") && c.To == "accepted" &&
			len(c.Repositories) == 1 && c.Repositories[0] == reg.Host()+"/"+sigtest.SharedBroken {
			found = true
		}
	}
	if !found {
		t.Errorf("the change unevaluated -> accepted of run 2 is not in the report: %+v", doc.ImageChanges)
	}
	if len(doc.Inventory) != 1 || doc.Inventory[0].SignatureVerdict != "accepted" || len(doc.Inventory[0].Signers) != 1 ||
		!strings.EqualFold(doc.Inventory[0].Signers[0], s.Cosign.Fingerprint()) {
		t.Errorf("inventory: %+v", doc.Inventory)
	}
}
