package catalogtest

import (
	"context"
	"fmt"
	"testing"

	"github.com/regimport/regimport/catalog"
)

// RepositoryPullVerdicts gives, for each image a repository's tags name,
// what PullVerdictOfImage gives for it, and reads no other repository's
// verdicts: an image accepted there (and rejected in another repository),
// one rejected, one never evaluated, a list with an accepted and a
// rejected instance, a list with an instance never looked at, and an
// artifact.
func (s Suite) RepositoryPullVerdictsAgreeWithEachImagesVerdict(t *testing.T) {
	c, _ := s.open(t)
	ctx := context.Background()
	imgs := make([]catalog.ImageRecord, 8)
	var ops []any
	for i := range imgs {
		imgs[i] = testImage(40 + i)
		ops = append(ops, imgs[i])
	}
	for i, img := range imgs {
		ops = append(ops, tagOf(fmt.Sprintf("v%d", i), img))
	}
	const other = "registry.example.com/other"
	ops = append(ops, catalog.TagRecord{Repository: other, Tag: "v0", Image: imgs[0].Image.Name, DockerImageReference: other + "@" + imgs[0].Image.Name})
	put(t, c, ops...)

	db := writeDB(t, c)
	repoID := func(name string) int64 {
		var id int64
		if err := db.QueryRow(`SELECT id FROM repositories WHERE name = $1`, name).Scan(&id); err != nil {
			t.Fatalf("repository %s: %v", name, err)
		}
		return id
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	verdict := func(repository string, img catalog.ImageRecord, v, reason string) {
		exec(`INSERT INTO image_verdicts (repository_id, image_name, verdict, reason, evaluated_at) VALUES ($1, $2, $3, $4, $5)`,
			repoID(repository), img.Image.Name, v, reason, "2024-01-01T00:00:00Z")
	}
	entry := func(list catalog.ImageRecord, position int, child catalog.ImageRecord, arch string) {
		exec(`INSERT INTO image_manifests (list_name, position, digest, media_type, manifest_size, architecture, os, variant) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			list.Image.Name, position, child.Image.Name, "application/vnd.oci.image.manifest.v1+json", 100, arch, "linux", "")
	}
	verdict(repo, imgs[0], "accepted", "")
	verdict(other, imgs[0], "rejected", "another repository's policy")
	verdict(repo, imgs[1], "rejected", "no signature")
	entry(imgs[3], 0, imgs[4], "amd64")
	entry(imgs[3], 1, imgs[5], "arm64")
	verdict(repo, imgs[4], "accepted", "")
	verdict(repo, imgs[5], "rejected", "no signature")
	entry(imgs[6], 0, imgs[4], "amd64")
	entry(imgs[6], 1, imgs[2], "arm64")
	verdict(repo, imgs[7], "accepted", "")
	exec(`INSERT INTO image_artifacts (image_name, artifact_type) VALUES ($1, $2)`, imgs[7].Image.Name, "application/vnd.example+json")

	got, err := c.RepositoryPullVerdicts(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(imgs) {
		t.Errorf("%d images have a pull verdict in %s, want the %d its tags name: %+v", len(got), repo, len(imgs), got)
	}
	for i, img := range imgs {
		v, why, err := c.PullVerdictOfImage(ctx, repo, img.Image.Name)
		if err != nil {
			t.Fatal(err)
		}
		if want := (catalog.PullVerdict{Verdict: v, Reason: why}); got[img.Image.Name] != want {
			t.Errorf("image %d: %+v from the repository's read, %+v from the image's", i, got[img.Image.Name], want)
		}
	}
	// The cases are what they say: the verdicts differ, and none is borrowed.
	for i, want := range map[int]catalog.Verdict{0: catalog.VerdictAccepted, 1: catalog.VerdictRejected, 2: "", 3: catalog.VerdictPartial, 6: "", 7: ""} {
		if got[imgs[i].Image.Name].Verdict != want {
			t.Errorf("image %d: pull verdict %q, want %q", i, got[imgs[i].Image.Name].Verdict, want)
		}
	}
}
