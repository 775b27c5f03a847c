package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Pull verdicts follow containers/image, which never evaluates a policy on
// a manifest list: `copy` picks the platform instance and runs
// IsRunningImageAllowed on it alone (copy/single.go); copying every
// platform checks each instance (copy/multiple.go). A tag's pull verdict
// is therefore, for a single image, its (repository, image) verdict and,
// for a list, one over its platform instances in that repository
// (BuildKit attestation manifests are not instances: index_attestations.go):
//
//   - accepted: every instance is accepted (or has no policy);
//   - rejected: none is;
//   - partial: some are; the reason names the platforms that are;
//   - unevaluated: an instance could not be evaluated;
//   - "": signatures were never looked at for an instance.
//
// The list's own verdict and signatures stay recorded for what they are:
// who signed the index.

// VerdictPartial is the pull verdict of a list some of whose platform
// instances are accepted and some not.
const VerdictPartial Verdict = "partial"

// PullBlocks reports whether a pull verdict is a reason for exit code 4.
func PullBlocks(v Verdict) bool { return v == VerdictRejected || v == VerdictPartial }

// instanceVerdicts is the SQL of a list's packed instance verdicts in one
// repository: per entry of image_manifests, "verdict US platform", joined
// by RS; NULL for an image that is not a list. repoID and image are SQL
// expressions of the outer query.
func instanceVerdicts(repoID, image string) string {
	return `(SELECT string_agg(coalesce(iv.verdict, '') || '` + unitSep + `' || m.os || '/' || m.architecture ||
			CASE WHEN m.variant != '' THEN '/' || m.variant ELSE '' END, '` + recordSep + `' ORDER BY m.position)
		FROM image_manifests m LEFT JOIN image_verdicts iv ON iv.image_name = m.digest AND iv.repository_id = ` + repoID + `
		WHERE m.list_name = ` + image + `)`
}

// PullVerdictOf is the pull verdict of a tag: own is the (repository,
// image) verdict and reason of the image it names; instances are a list's
// packed instance verdicts (instanceVerdicts), "" for a single image.
func PullVerdictOf(own Verdict, ownReason, instances string) (Verdict, string) {
	if instances == "" {
		return own, ownReason
	}
	var accepted, refused, missing, unevaluated []string
	for _, item := range strings.Split(instances, recordSep) {
		v, platform, _ := strings.Cut(item, unitSep)
		switch Verdict(v) {
		case VerdictAccepted, VerdictNoPolicy:
			accepted = append(accepted, platform)
		case VerdictRejected:
			refused = append(refused, platform)
		case VerdictUnevaluated:
			unevaluated = append(unevaluated, platform)
		default:
			missing = append(missing, platform)
		}
	}
	n := len(accepted) + len(refused) + len(missing) + len(unevaluated)
	switch {
	case len(unevaluated) > 0:
		return VerdictUnevaluated, "not evaluated for " + strings.Join(unevaluated, ", ")
	case len(missing) > 0:
		return "", "signatures never looked at for " + strings.Join(missing, ", ")
	case len(refused) == 0:
		return VerdictAccepted, fmt.Sprintf("all %d platforms accepted", n)
	case len(accepted) == 0:
		return VerdictRejected, fmt.Sprintf("no platform accepted (%s rejected)", strings.Join(refused, ", "))
	default:
		return VerdictPartial, fmt.Sprintf("accepted for %s; rejected for %s", strings.Join(accepted, ", "), strings.Join(refused, ", "))
	}
}

// PullVerdictOfImage is the pull verdict, in repository, of a tag or
// digest naming image: "" when repository has no verdict for it or its
// instances (signatures never looked at).
func (c *Catalog) PullVerdictOfImage(ctx context.Context, repository, image string) (Verdict, string, error) {
	var own Verdict
	var reason, instances string
	var artifact bool
	err := c.read.QueryRowContext(ctx, `SELECT coalesce(v.verdict, ''), coalesce(v.reason, ''), coalesce(`+instanceVerdicts("r.id", "$1")+`, ''), `+isArtifact("$1")+`
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
	v, why := PullVerdictOf(own, reason, instances)
	return v, why, nil
}

// RepositoryPullVerdict is an image's pull verdict in one repository.
type RepositoryPullVerdict struct {
	Repository string
	Verdict    Verdict
	Reason     string
}

// ImagePullVerdicts are the pull verdicts of image (as a tag or digest
// naming it would have) in every repository with a verdict for it or for
// one of its instances, by repository name.
func (c *Catalog) ImagePullVerdicts(ctx context.Context, image string) ([]RepositoryPullVerdict, error) {
	rows, err := c.read.QueryContext(ctx, `SELECT r.name, coalesce(v.verdict, ''), coalesce(v.reason, ''), coalesce(`+instanceVerdicts("r.id", "$1")+`, '')
		FROM repositories r LEFT JOIN image_verdicts v ON v.repository_id = r.id AND v.image_name = $1
		WHERE r.id IN (SELECT repository_id FROM image_verdicts WHERE image_name = $1
			OR image_name IN (SELECT digest FROM image_manifests WHERE list_name = $1)) AND NOT `+isArtifact("$1")+`
		ORDER BY r.name`, image)
	if err != nil {
		return nil, fmt.Errorf("pull verdicts of %s: %w", image, err)
	}
	defer rows.Close()
	var out []RepositoryPullVerdict
	for rows.Next() {
		var p RepositoryPullVerdict
		var own Verdict
		var reason, instances string
		if err := rows.Scan(&p.Repository, &own, &reason, &instances); err != nil {
			return nil, fmt.Errorf("pull verdicts of %s: %w", image, err)
		}
		p.Verdict, p.Reason = PullVerdictOf(own, reason, instances)
		out = append(out, p)
	}
	return out, rows.Err()
}
