package catalogtest

import (
	"context"
	"testing"

	"github.com/regimport/regimport/catalog"
)

// A verification that names no repository belongs to the repository of the
// image's normalized reference, never to the spelling the user wrote (which
// the served dockerImageReference keeps since migration 0007): both at
// import and through UpdateVerification.
func (s Suite) VerdictWithoutRepositoryIsKeyedByTheNormalizedName(t *testing.T) {
	c, _ := s.open(t)
	ctx := context.Background()
	rec := testImage(1)
	name := rec.Image.Name
	rec.Image.DockerImageReference = "app@" + name // as the user wrote it
	rec.LookupReference = "docker.io/library/app@" + name
	rec.Verification = &catalog.Verification{Verdict: "accepted"}
	put(t, c, rec)
	want := "docker.io/library/app"
	check := func(when, verdict string) {
		t.Helper()
		vs, err := c.Verdicts(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 1 || vs[0].Repository != want || string(vs[0].Verdict) != verdict {
			t.Errorf("%s: verdicts %+v, want one %s verdict for %s", when, vs, verdict, want)
		}
	}
	check("after the import", "accepted")
	if got, err := c.GetImage(ctx, name); err != nil || got.DockerImageReference != "app@"+name {
		t.Fatalf("served reference %v (%v), want the user's spelling", got, err)
	}
	if _, err := c.UpdateVerification(ctx, name, catalog.Verification{Verdict: "rejected", Reason: "KeyRevoked"}); err != nil {
		t.Fatal(err)
	}
	check("after UpdateVerification", "rejected")
}
