package importer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/internal/sigtest"
	"github.com/regimport/regimport/internal/testregistry"
)

// TestARunReportsEveryBlockedPullAndNoOther: a repository of 24 tags, each
// a different image, of which every third is signed by the trusted key,
// imported whole under a policy that requires that key. The run's
// PullBlocked (exit code 4) names exactly the 16 unsigned tags, each once
// and rejected: none is lost among the signed ones, and no signed one is
// reported.
func TestARunReportsEveryBlockedPullAndNoOther(t *testing.T) {
	e := newSignedEnv(t)
	host := e.reg.Host()
	const repo = "sig/many"
	var wantBlocked []string
	for i := range 24 {
		tag := fmt.Sprintf("t%02d", i)
		p := e.push(t, testregistry.ImageSpec{Repository: repo, Tags: []string{tag}, Format: testregistry.Schema2, Seed: int64(2000 + i)})
		if i%3 != 0 {
			wantBlocked = append(wantBlocked, host+"/"+repo+":"+tag)
			continue
		}
		blob, err := e.trusted.SignSimple(host+"/"+repo+":"+tag, p.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if err := sigtest.WriteLookaside(filepath.Join(e.dir, "lookaside"), repo, p.Digest, blob); err != nil {
			t.Fatal(err)
		}
	}
	policy := filepath.Join(e.dir, "many.json")
	if err := os.WriteFile(policy, []byte(fmt.Sprintf(`{"default":[{"type":"reject"}],"transports":{"docker":{%q:[{"type":"signedBy","keyType":"GPGKeys","keyPath":%q}]}}}`,
		host+"/"+repo, filepath.Join(e.dir, "trusted.gpg"))), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := e.importer(t, policy).Run(context.Background(), importer.Request{Repositories: []string{host + "/" + repo}})
	if err != nil || len(s.Failures) > 0 {
		t.Fatalf("import: %v %v", err, s.Failures)
	}
	var got []string
	for _, b := range s.PullBlocked {
		if b.Verdict != catalog.VerdictRejected {
			t.Errorf("%s: verdict %s (%s), want rejected", b.Reference, b.Verdict, b.Reason)
		}
		got = append(got, b.Reference)
	}
	sort.Strings(got)
	if !reflect.DeepEqual(got, wantBlocked) {
		t.Errorf("pulls blocked:\n got %q\nwant %q", got, wantBlocked)
	}
}
