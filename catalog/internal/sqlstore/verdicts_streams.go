package sqlstore

import (
	"context"
	"fmt"
	"strings"

	imagev1 "github.com/openshift/api/image/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// loadTagVerdicts adds ConditionSignatureVerified to each status tag whose
// current image has a verdict in its repository.
func loadTagVerdicts(ctx context.Context, q querier, d Dialect, selected string, args []any, entry func(int64, string) *imagev1.NamedTagEventList) error {
	rows, err := q.QueryContext(ctx, `SELECT e.stream_id, e.tag, e.generation, r.name, v.verdict, v.reason, v.evaluated_at
		FROM image_stream_tag_events e
		JOIN repositories r ON r.name = `+d.RepositoryOf("e.docker_image_reference")+`
		JOIN image_verdicts v ON v.repository_id = r.id AND v.image_name = e.image
		WHERE e.position = 0 AND e.stream_id IN (`+selected+`)`, args...)
	if err != nil {
		return fmt.Errorf("load tag verdicts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, generation int64
		var tag, repo, verdict, reason, at string
		if err := rows.Scan(&id, &tag, &generation, &repo, &verdict, &reason, &at); err != nil {
			return err
		}
		status := corev1.ConditionUnknown
		switch verdict {
		case "accepted":
			status = corev1.ConditionTrue
		case "rejected":
			status = corev1.ConditionFalse
		}
		msg := "signature verdict in " + repo
		if reason != "" {
			msg += ": " + reason
		}
		l := entry(id, tag)
		l.Conditions = append(l.Conditions, imagev1.TagEventCondition{Type: ConditionSignatureVerified, Status: status,
			LastTransitionTime: metav1.NewTime(parseTime(at)), Reason: conditionReason(verdict), Message: msg, Generation: generation})
	}
	return rows.Err()
}

// conditionReason turns a verdict (no-policy) into a CamelCase reason (NoPolicy).
func conditionReason(verdict string) string {
	var b strings.Builder
	for _, part := range strings.Split(verdict, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}
