package importer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/internal/sigtest"
	"github.com/regimport/regimport/internal/testregistry"
	"github.com/regimport/regimport/signatures"
)

// TestAPairsVerdictIsTheDigestPullsWhicheverTagCameFirst: one image
// tagged 1.0 and latest in sig/tags, signed (simple signing) only as
// sig/tags:1.0. A (repository, image) pair's verdict is containers/image's
// answer for a pull of sig/tags@digest, so it is the same whichever tag a
// run imports first, and `verify` finds it again:
//   - under the default identity rule (matchRepoDigestOrExact) a pull by
//     digest accepts a signature that claims any tag of the repository:
//     accepted, for both tags;
//   - under matchExact it needs a signature that claims the digest
//     itself: rejected for both tags, accepted when sig/tags@digest is
//     signed instead;
//   - a policy scope for one tag (sig/tags:latest: reject) is not one a
//     pull by digest consults: accepted, for both tags.
//
// Under the tag a run named first, the pair's verdict was that tag's and
// every other tag borrowed it: under matchExact, importing :1.0 first
// reported :latest pullable, and importing :latest first reported :1.0
// unpullable.
func TestAPairsVerdictIsTheDigestPullsWhicheverTagCameFirst(t *testing.T) {
	for _, c := range []struct {
		rule, claims string // claims: the tag, or "digest"
		tagScope     bool   // the policy also rejects sig/tags:latest
		blocked      bool
	}{
		{"matchRepoDigestOrExact", "1.0", false, false},
		{"matchExact", "1.0", false, true},
		{"matchExact", "digest", false, false},
		{"matchRepoDigestOrExact", "1.0", true, false},
	} {
		for _, order := range [][]string{{"latest", "1.0"}, {"1.0", "latest"}} {
			rule := c.rule
			name := rule + "/claims " + c.claims
			if c.tagScope {
				name += "/latest scoped"
			}
			t.Run(name+"/"+order[0]+" first", func(t *testing.T) {
				e := newSignedEnv(t)
				ctx := context.Background()
				host := e.reg.Host()
				p := e.push(t, testregistry.ImageSpec{Repository: "sig/tags", Tags: []string{"1.0", "latest"}, Format: testregistry.Schema2, Seed: 900})
				identity := host + "/sig/tags:" + c.claims
				if c.claims == "digest" {
					identity = host + "/sig/tags@" + p.Digest.String()
				}
				blob, err := e.trusted.SignSimple(identity, p.Digest)
				if err != nil {
					t.Fatal(err)
				}
				if err := sigtest.WriteLookaside(filepath.Join(e.dir, "lookaside"), "sig/tags", p.Digest, blob); err != nil {
					t.Fatal(err)
				}
				policy := filepath.Join(e.dir, "tags.json")
				scopes := fmt.Sprintf(`%q:[{"type":"signedBy","keyType":"GPGKeys","keyPath":%q,"signedIdentity":{"type":%q}}]`,
					host+"/sig/tags", filepath.Join(e.dir, "trusted.gpg"), rule)
				if c.tagScope {
					scopes += fmt.Sprintf(`,%q:[{"type":"reject"}]`, host+"/sig/tags:latest")
				}
				if err := os.WriteFile(policy, []byte(`{"default":[{"type":"reject"}],"transports":{"docker":{`+scopes+`}}}`), 0o644); err != nil {
					t.Fatal(err)
				}
				wantBlocked := c.blocked
				for _, tag := range order {
					ref := host + "/sig/tags:" + tag
					s, err := e.importer(t, policy).Run(ctx, importer.Request{References: []string{ref}})
					if err != nil || len(s.Failures) > 0 {
						t.Fatalf("import %s: %v %v", ref, err, s.Failures)
					}
					blocked := false
					for _, b := range s.PullBlocked {
						blocked = blocked || b.Reference == ref
					}
					if blocked != wantBlocked {
						t.Errorf("import %s: pull blocked %v, want %v (a pull by digest under %s)", ref, blocked, wantBlocked, rule)
					}
				}
				want := signatures.VerdictAccepted
				if wantBlocked {
					want = signatures.VerdictRejected
				}
				if got := e.reverify(t, policy)[p.Digest.String()]; got.Verdict != want || got.Changed {
					t.Errorf("verify: %s (%s), changed %v; want %s, unchanged", got.Verdict, got.Reason, got.Changed, want)
				}
			})
		}
	}
}
