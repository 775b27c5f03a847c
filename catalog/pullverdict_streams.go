package catalog

import (
	"context"
	"fmt"

	imagev1 "github.com/openshift/api/image/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ConditionPullVerdict is the condition an image stream's status tag
// carries for the pull verdict of its current image (pullverdict.go) in
// the repository it was imported from: status True when accepted, False
// when rejected or partial, Unknown otherwise; reason the verdict
// (Accepted, Rejected, Partial, Unevaluated, NoPolicy); message which
// platforms. Derived when the stream is read, never stored.
const ConditionPullVerdict imagev1.TagEventConditionType = "PullVerdict"

// loadTagPullVerdicts adds ConditionPullVerdict to each status tag whose
// current image (or each of whose instances) has a verdict in its repository.
func loadTagPullVerdicts(ctx context.Context, q querier, d dialect, selected string, args []any, entry func(int64, string) *imagev1.NamedTagEventList) error {
	rows, err := q.QueryContext(ctx, `SELECT e.stream_id, e.tag, e.generation, r.name, coalesce(v.verdict, ''), coalesce(v.reason, ''),
			coalesce(`+instanceVerdicts("r.id", "e.image")+`, ''),
			coalesce(v.evaluated_at, (SELECT max(iv.evaluated_at) FROM image_manifests m JOIN image_verdicts iv ON iv.image_name = m.digest AND iv.repository_id = r.id WHERE m.list_name = e.image))
		FROM image_stream_tag_events e
		JOIN repositories r ON r.name = `+d.repositoryOf("e.docker_image_reference")+`
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
		v, why := PullVerdictOf(Verdict(own), reason, instances)
		if v == "" || at == nil {
			continue
		}
		status := corev1.ConditionUnknown
		switch v {
		case VerdictAccepted:
			status = corev1.ConditionTrue
		case VerdictRejected, VerdictPartial:
			status = corev1.ConditionFalse
		}
		msg := "pull verdict in " + repo
		if why != "" {
			msg += ": " + why
		}
		l := entry(id, tag)
		l.Conditions = append(l.Conditions, imagev1.TagEventCondition{Type: ConditionPullVerdict, Status: status,
			LastTransitionTime: metav1.NewTime(parseTime(*at)), Reason: conditionReason(string(v)), Message: msg, Generation: generation})
	}
	return rows.Err()
}

// IsDerivedCondition reports whether a status tag condition is derived from
// the verdicts when a stream is read (never stored, never compared).
func IsDerivedCondition(t imagev1.TagEventConditionType) bool {
	return t == ConditionSignatureVerified || t == ConditionPullVerdict
}
