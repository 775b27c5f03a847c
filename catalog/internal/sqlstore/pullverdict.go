package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// instanceVerdicts is the SQL of a list's packed instance verdicts in one
// repository: per entry of image_manifests, "verdict US platform", joined
// by RS; NULL for an image that is not a list. repoID and image are SQL
// expressions of the outer query.
func instanceVerdicts(repoID, image string) string {
	return `(SELECT string_agg(coalesce(iv.verdict, '') || '` + catalog.PackedUnitSep + `' || m.os || '/' || m.architecture ||
			CASE WHEN m.variant != '' THEN '/' || m.variant ELSE '' END, '` + catalog.PackedRecordSep + `' ORDER BY m.position)
		FROM image_manifests m LEFT JOIN image_verdicts iv ON iv.image_name = m.digest AND iv.repository_id = ` + repoID + `
		WHERE m.list_name = ` + image + `)`
}

// PullVerdictOfImage is the pull verdict, in repository, of a tag or
// digest naming image: "" when repository has no verdict for it or its
// instances (signatures never looked at).
func (c *Catalog) PullVerdictOfImage(ctx context.Context, repository, image string) (Verdict, string, error) {
	var own Verdict
	var reason, instances string
	var artifact bool
	// readRow: a run reads this once per stored tag at its end, and
	// preparing the query each time cost more than running it.
	err := c.readRow(ctx, `SELECT coalesce(v.verdict, ''), coalesce(v.reason, ''), coalesce(`+instanceVerdicts("r.id", "$1")+`, ''), `+isArtifact("$1")+`
		FROM repositories r LEFT JOIN image_verdicts v ON v.repository_id = r.id AND v.image_name = $1
		WHERE r.name = $2`, image, repository).Scan(&own, &reason, &instances, &artifact)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("pull verdict of %s in %s: %w", image, repository, err)
	}
	if artifact {
		return "", "", nil // an artifact is not pulled to run: no pull verdict
	}
	v, why := catalog.PullVerdictOf(own, reason, instances)
	return v, why, nil
}

// RepositoryPullVerdicts are the pull verdicts, in repository, of the
// images its current tags name, by image, as PullVerdictOfImage gives each
// (the same expressions over the same rows): one read where a run's end
// or verify would otherwise make one per tag.
func (c *Catalog) RepositoryPullVerdicts(ctx context.Context, repository string) (map[string]catalog.PullVerdict, error) {
	rows, err := c.readQuery(ctx, `SELECT t.image_name, coalesce(v.verdict, ''), coalesce(v.reason, ''), coalesce(`+instanceVerdicts("r.id", "t.image_name")+`, ''), `+isArtifact("t.image_name")+`
		FROM repositories r JOIN tags t ON t.repository_id = r.id
		LEFT JOIN image_verdicts v ON v.repository_id = r.id AND v.image_name = t.image_name
		WHERE r.name = $1`, repository)
	if err != nil {
		return nil, fmt.Errorf("pull verdicts in %s: %w", repository, err)
	}
	defer rows.Close()
	out := map[string]catalog.PullVerdict{}
	for rows.Next() {
		var image, reason, instances string
		var own Verdict
		var artifact bool
		if err := rows.Scan(&image, &own, &reason, &instances, &artifact); err != nil {
			return nil, fmt.Errorf("pull verdicts in %s: %w", repository, err)
		}
		if artifact {
			out[image] = catalog.PullVerdict{} // an artifact is not pulled to run: no pull verdict
			continue
		}
		v, why := catalog.PullVerdictOf(own, reason, instances)
		out[image] = catalog.PullVerdict{Verdict: v, Reason: why}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pull verdicts in %s: %w", repository, err)
	}
	return out, nil
}

// ImagePullVerdicts are the pull verdicts of image (as a tag or digest
// naming it would have) in every repository with a verdict for it or for
// one of its instances, by repository name.
func (c *Catalog) ImagePullVerdicts(ctx context.Context, image string) ([]catalog.RepositoryPullVerdict, error) {
	rows, err := c.readQuery(ctx, `SELECT r.name, coalesce(v.verdict, ''), coalesce(v.reason, ''), coalesce(`+instanceVerdicts("r.id", "$1")+`, '')
		FROM repositories r LEFT JOIN image_verdicts v ON v.repository_id = r.id AND v.image_name = $1
		WHERE r.id IN (SELECT repository_id FROM image_verdicts WHERE image_name = $1
			OR image_name IN (SELECT digest FROM image_manifests WHERE list_name = $1)) AND NOT `+isArtifact("$1")+`
		ORDER BY r.name`, image)
	if err != nil {
		return nil, fmt.Errorf("pull verdicts of %s: %w", image, err)
	}
	defer rows.Close()
	var out []catalog.RepositoryPullVerdict
	for rows.Next() {
		var p catalog.RepositoryPullVerdict
		var own Verdict
		var reason, instances string
		if err := rows.Scan(&p.Repository, &own, &reason, &instances); err != nil {
			return nil, fmt.Errorf("pull verdicts of %s: %w", image, err)
		}
		p.Verdict, p.Reason = catalog.PullVerdictOf(own, reason, instances)
		out = append(out, p)
	}
	return out, rows.Err()
}

// loadTagPullVerdicts adds catalog.ConditionPullVerdict to each status tag whose
// current image (or each of whose instances) has a verdict in its repository.
func loadTagPullVerdicts(ctx context.Context, q querier, d Dialect, selected string, args []any, entry func(int64, string) *imagev1.NamedTagEventList) error {
	rows, err := q.QueryContext(ctx, `SELECT e.stream_id, e.tag, e.generation, r.name, coalesce(v.verdict, ''), coalesce(v.reason, ''),
			coalesce(`+instanceVerdicts("r.id", "e.image")+`, ''),
			coalesce(v.evaluated_at, (SELECT max(iv.evaluated_at) FROM image_manifests m JOIN image_verdicts iv ON iv.image_name = m.digest AND iv.repository_id = r.id WHERE m.list_name = e.image))
		FROM image_stream_tag_events e
		JOIN repositories r ON r.name = `+d.RepositoryOf("e.docker_image_reference")+`
		LEFT JOIN image_verdicts v ON v.repository_id = r.id AND v.image_name = e.image
		WHERE e.position = 0 AND e.stream_id IN (`+selected+`)`, args...)
	if err != nil {
		return fmt.Errorf("load tag pull verdicts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, generation int64
		var tag, repo, own, reason, instances string
		var at *string
		if err := rows.Scan(&id, &tag, &generation, &repo, &own, &reason, &instances, &at); err != nil {
			return err
		}
		v, why := catalog.PullVerdictOf(Verdict(own), reason, instances)
		if v == "" || at == nil {
			continue
		}
		status := corev1.ConditionUnknown
		switch v {
		case VerdictAccepted:
			status = corev1.ConditionTrue
		case VerdictRejected, catalog.VerdictPartial:
			status = corev1.ConditionFalse
		}
		msg := "pull verdict in " + repo
		if why != "" {
			msg += ": " + why
		}
		l := entry(id, tag)
		l.Conditions = append(l.Conditions, imagev1.TagEventCondition{Type: catalog.ConditionPullVerdict, Status: status,
			LastTransitionTime: metav1.NewTime(parseTime(*at)), Reason: conditionReason(string(v)), Message: msg, Generation: generation})
	}
	return rows.Err()
}

// putArtifactType records that an image is an artifact, not a runnable image.
func (c *Catalog) putArtifactType(ctx context.Context, tx *batchTx, image, artifactType string) error {
	if artifactType == "" {
		return nil
	}
	if _, err := tx.exec(ctx, `INSERT INTO image_artifacts (image_name, artifact_type) VALUES ($1, $2)`, image, artifactType); err != nil {
		return fmt.Errorf("store artifact type of %s: %w", image, err)
	}
	return nil
}

// isArtifact is the SQL test that image (an SQL expression) is an artifact.
func isArtifact(image string) string {
	return `EXISTS (SELECT 1 FROM image_artifacts WHERE image_name = ` + image + `)`
}

// putIndexAttestations stores the BuildKit attestations of a list with
// the list (its content: they never change for one digest).
func (c *Catalog) putIndexAttestations(ctx context.Context, tx *batchTx, list string, atts []catalog.IndexAttestation) error {
	for _, a := range atts {
		materials := a.Materials
		if materials == nil {
			materials = []string{}
		}
		m, err := json.Marshal(materials)
		if err != nil {
			return fmt.Errorf("encode materials of %s: %w", a.Manifest, err)
		}
		if _, err := tx.exec(ctx, `INSERT INTO index_attestations (list_name, manifest, position, image_name, in_index,
			predicate_type, builder_id, materials, readable, reason, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			list, a.Manifest, a.Position, a.Image, a.InIndex, a.PredicateType, a.BuilderID, string(m), a.Readable, a.Reason, a.Content); err != nil {
			return fmt.Errorf("store attestation %s/%d of list %s: %w", a.Manifest, a.Position, list, err)
		}
	}
	return nil
}

// IndexAttestations returns the BuildKit attestations kept of an image,
// whichever index named them, ordered by index, manifest and layer.
func (c *Catalog) IndexAttestations(ctx context.Context, image string) ([]catalog.IndexAttestation, error) {
	rows, err := c.readQuery(ctx, `SELECT manifest, position, image_name, in_index, predicate_type, builder_id, materials, readable, reason, content
		FROM index_attestations WHERE image_name = $1 ORDER BY list_name, manifest, position`, image)
	if err != nil {
		return nil, fmt.Errorf("index attestations of %s: %w", image, err)
	}
	defer rows.Close()
	var out []catalog.IndexAttestation
	for rows.Next() {
		var a catalog.IndexAttestation
		var materials string
		if err := rows.Scan(&a.Manifest, &a.Position, &a.Image, &a.InIndex, &a.PredicateType, &a.BuilderID, &materials, &a.Readable, &a.Reason, &a.Content); err != nil {
			return nil, fmt.Errorf("index attestations of %s: %w", image, err)
		}
		if err := json.Unmarshal([]byte(materials), &a.Materials); err != nil {
			return nil, fmt.Errorf("index attestations of %s: materials: %w", image, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
