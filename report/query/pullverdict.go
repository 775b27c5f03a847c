package query

import "github.com/regimport/regimport/catalog"

// instanceVerdicts is the SQL of a list's packed instance verdicts in one
// repository, as catalog.PullVerdictOf reads them: per entry of
// image_manifests "verdict US platform", joined by RS; NULL for an image
// that is not a list. repoID and image are SQL expressions of the outer
// query. (The catalog's queries spell the same; the report owns its SQL.)
func instanceVerdicts(repoID, image string) string {
	return `(SELECT string_agg(coalesce(iv.verdict, '') || '` + catalog.PackedUnitSep + `' || m.os || '/' || m.architecture ||
			CASE WHEN m.variant != '' THEN '/' || m.variant ELSE '' END, '` + catalog.PackedRecordSep + `' ORDER BY m.position)
		FROM image_manifests m LEFT JOIN image_verdicts iv ON iv.image_name = m.digest AND iv.repository_id = ` + repoID + `
		WHERE m.list_name = ` + image + `)`
}

// isArtifact is the SQL condition that image (an SQL expression) is an
// artifact rather than an image.
func isArtifact(image string) string {
	return `EXISTS (SELECT 1 FROM image_artifacts WHERE image_name = ` + image + `)`
}
