package query

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/regimport/regimport/catalog"
)

// The read-only queries of `regimport report`. They run in one read
// transaction (a ReportSnapshot), so every section of a report describes the
// same state even while an import writes. Lists that grow with the catalog
// are streamed row by row to a callback; everything else is aggregated here
// in SQL and is bounded by the number of repositories, signers or runs.
//
// An image belongs to a repository when a tag of that repository points at
// it, or when its dockerImageReference names that repository (where it was
// first imported from); the inventory has one row per tag and one tagless
// row for an image of a repository that no tag of that repository points at.

// ReportSnapshot is a consistent read-only view of the catalog for a report.
// It is not safe for concurrent use: one query at a time.
type ReportSnapshot struct {
	tx   *sql.Tx
	d    dialect
	glob string
	src  catalog.ReportSource
	// lineage is worked out by the first Lineage call (lineage.go).
	lineage *lineageIndex
}

// MirrorStatus is the catalog's mirror status as the snapshot sees it,
// within the report's --repository.
func (s *ReportSnapshot) MirrorStatus(ctx context.Context) ([]catalog.MirrorDestinationStatus, error) {
	return s.src.MirrorStatusIn(ctx, s.tx, s.glob)
}

// ReportCut divides the catalog's history. A tag event or image belongs to
// a run when it has a run id and RunID > 0; otherwise its time decides.
type ReportCut struct {
	RunID int64     // last run included (0: cut by Time alone)
	Time  time.Time // last instant included
}

// ReportEnd is the cut after all recorded history: the catalog as it is.
var ReportEnd = ReportCut{RunID: math.MaxInt64, Time: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)}

// BeginReport opens a snapshot of the catalog c. glob (SQLite GLOB, "" for all) restricts
// every query to repositories whose name (host/path) matches.
//
// It works out once which images belong to which repositories, and which
// layers several repositories share, into TEMP tables: they live in the
// connection's own temporary database, never in the catalog file, and go
// away with the read transaction.
func BeginReport(ctx context.Context, c catalog.ReportSource, glob string) (*ReportSnapshot, error) {
	tx, err := c.BeginSnapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin report: %w", err)
	}
	s := &ReportSnapshot{tx: tx, d: dialectOf(c.Dialect()), glob: glob, src: c}
	text, withoutRowid, index := "TEXT", " WITHOUT ROWID", "INDEX temp."
	if s.d.pg { // PostgreSQL: code-point order as SQLite's, no rowids, an index beside its table
		text, withoutRowid, index = `TEXT COLLATE "C"`, "", "INDEX "
	}
	scoped := s.query()
	filtered := membership(scoped, "m")
	everything := &reportQuery{s: s, unfiltered: true}
	all := membership(everything, "m")
	if glob == "" {
		all = `m AS (SELECT * FROM report_ir)`
	}
	for _, q := range []*reportQuery{
		scoped.with(`CREATE TEMP TABLE report_ir AS WITH ` + filtered + ` SELECT * FROM m`),
		s.query().with(`CREATE ` + index + `report_ir_by_image ON report_ir (image_name, repository, tag)`),
		s.query().with(`CREATE TEMP TABLE report_mem (repository ` + text + `, image_name ` + text + `, PRIMARY KEY (image_name, repository))` + withoutRowid),
		s.query().with(`INSERT INTO report_mem (repository, image_name) SELECT DISTINCT repository, image_name FROM report_ir`),
		s.query().with(`CREATE ` + index + `report_mem_by_repository ON report_mem (repository, image_name)`),
		s.query().with(`CREATE TEMP TABLE report_scope (image_name ` + text + ` PRIMARY KEY)` + withoutRowid),
		s.query().with(`INSERT INTO report_scope SELECT DISTINCT image_name FROM report_ir`),
		// For every layer of the catalog: in how many repositories and
		// images it is, whatever the filter, so "shared" means shared.
		everything.with(`CREATE TEMP TABLE report_layers AS WITH ` + all + `, am AS (SELECT DISTINCT repository, image_name FROM m)
		SELECT l.digest, count(DISTINCT am.repository) AS repos, count(DISTINCT l.image_name) AS images, max(l.size) AS size
		FROM image_layers l JOIN am ON am.image_name = l.image_name GROUP BY l.digest`),
		s.query().with(`CREATE UNIQUE ` + index + `report_layers_by_digest ON report_layers (digest)`),
	} {
		if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("begin report: %w", err)
		}
	}
	if s.d.pg {
		// Autovacuum never sees TEMP tables: without statistics the
		// planner guesses their sizes, and the guesses grow wrong with
		// the catalog.
		if _, err := tx.ExecContext(ctx, `ANALYZE report_ir, report_mem, report_scope, report_layers`); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("begin report: analyze: %w", err)
		}
	}
	return s, nil
}

// Close ends the snapshot.
func (s *ReportSnapshot) Close() error { return s.tx.Rollback() }

// membership is a CTE named `name` over (repository, tag, image_name,
// updated_at) for repositories matching q's filter.
func membership(q *reportQuery, name string) string {
	d := q.s.d
	return name + `(repository, tag, image_name, updated_at) AS (
	SELECT r.name, t.tag, t.image_name, t.updated_at FROM tags t JOIN repositories r ON r.id = t.repository_id
	 WHERE ` + q.matches("r.name") + `
	UNION ALL
	SELECT d.repository, NULL, d.name, NULL FROM (
		SELECT name, CASE WHEN ` + d.hasDigest("docker_image_reference") + `
			THEN ` + d.repositoryOf("docker_image_reference") + `
			ELSE docker_image_reference END AS repository FROM images) d
	 WHERE ` + q.matches("d.repository") + `
	   AND NOT EXISTS (SELECT 1 FROM tags t JOIN repositories r ON r.id = t.repository_id
		WHERE t.image_name = d.name AND r.name = d.repository))`
}

// The TEMP tables every query reads (see BeginReport):
//
//	report_ir(repository, tag, image_name, updated_at): the inventory rows in the filter
//	report_mem(repository, image_name): which images belong to which repository
//	report_scope(image_name): the images in the filter
//	report_layers(digest, repos, images, size): every layer, across the whole catalog

// listTypes are the manifest media types of lists, which have no size,
// layers or build time of their own.
const listTypes = `('application/vnd.docker.distribution.manifest.list.v2+json', 'application/vnd.oci.image.index.v1+json')`

// reportQuery is one report query being built: its arguments, numbered
// as they are added. SQLite gets ?NNN parameters, which bind by number
// wherever they appear, PostgreSQL $N: a fragment composed before the text
// around it cannot bind the wrong value.
type reportQuery struct {
	s    *ReportSnapshot
	sql  string
	args []any
	// unfiltered: matches holds for every repository, whatever the filter.
	unfiltered bool
}

func (s *ReportSnapshot) query() *reportQuery { return &reportQuery{s: s} }

// with sets the query's text, once its fragments have added their arguments.
func (q *reportQuery) with(sql string) *reportQuery {
	q.sql = sql
	return q
}

// arg adds an argument and returns its placeholder.
func (q *reportQuery) arg(v any) string {
	q.args = append(q.args, v)
	if q.s.d.pg {
		return placeholder(len(q.args))
	}
	return "?" + strconv.Itoa(len(q.args))
}

// matches is the condition "the repository name expr matches the filter":
// SQLite's GLOB, or on PostgreSQL the same pattern as a regular expression.
func (q *reportQuery) matches(expr string, suffixes ...string) string {
	if q.s.glob == "" || q.unfiltered {
		return "TRUE"
	}
	var or []string
	for _, p := range append([]string{""}, suffixes...) {
		if q.s.d.pg {
			or = append(or, expr+" ~ "+q.arg(globRegexp(q.s.glob+p)))
		} else {
			or = append(or, expr+" GLOB "+q.arg(q.s.glob+p))
		}
	}
	return "(" + strings.Join(or, " OR ") + ")"
}

// before is the predicate "the row belongs before or at cut" for a table
// alias with run and time columns.
func (q *reportQuery) before(runCol, timeCol string, cut ReportCut) string {
	d := q.s.d
	byTime := d.timeValue(timeCol) + " <= " + d.timeParam(q.arg(formatTime(cut.Time)))
	if cut.RunID <= 0 {
		return "(" + byTime + ")"
	}
	return "(CASE WHEN " + runCol + " IS NOT NULL THEN " + runCol + " <= " + q.arg(cut.RunID) + " ELSE " + byTime + " END)"
}

// nl is a newline as an SQL literal: lists in one column are string_agg(x, nl ORDER BY ...).
const nl = "'\n'"

// each runs a query and calls scan for every row.
func (s *ReportSnapshot) each(ctx context.Context, what string, q *reportQuery, scan func(*sql.Rows) error) error {
	rows, err := s.tx.QueryContext(ctx, q.sql, q.args...)
	if err != nil {
		return fmt.Errorf("report %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("report %s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("report %s: %w", what, err)
	}
	return nil
}

// ReportTotals are catalog-wide counts within the filter.
type ReportTotals struct {
	Repositories, Tags, Images, ManifestLists int
	UniqueLayers                              int
	UniqueLayerBytes                          int64
	Runs                                      int
	SchemaVersion                             int
	ResourceVersion                           int64
}

// Totals counts what the filter selects.
func (s *ReportSnapshot) Totals(ctx context.Context) (ReportTotals, error) {
	var t ReportTotals
	err := s.tx.QueryRowContext(ctx, `
		SELECT (SELECT count(DISTINCT repository) FROM report_ir), (SELECT count(tag) FROM report_ir),
			(SELECT count(*) FROM report_scope),
			(SELECT count(*) FROM report_scope JOIN images i ON i.name = report_scope.image_name WHERE i.manifest_media_type IN `+listTypes+`),
			(SELECT count(*) FROM (SELECT DISTINCT l.digest FROM image_layers l JOIN report_scope ON report_scope.image_name = l.image_name) AS sub),
			(SELECT coalesce(sum(size), 0) FROM (SELECT l.digest, max(l.size) AS size FROM image_layers l
				JOIN report_scope ON report_scope.image_name = l.image_name GROUP BY l.digest) AS sub),
			(SELECT count(*) FROM import_runs), (SELECT coalesce(max(version), 0) FROM schema_migrations),
			(SELECT coalesce(max(resource_version), 0) FROM changes)`).Scan(
		&t.Repositories, &t.Tags, &t.Images, &t.ManifestLists, &t.UniqueLayers, &t.UniqueLayerBytes,
		&t.Runs, &t.SchemaVersion, &t.ResourceVersion)
	if err != nil {
		return t, fmt.Errorf("report totals: %w", err)
	}
	return t, nil
}

// Signature status of an image: it has signatures; it was looked at and has
// none; or signatures were never looked at (verdict NULL, none stored).
const (
	StatusSigned       = "signed"
	StatusUnsigned     = "unsigned"
	StatusNotEvaluated = "not-evaluated"
)

// signatureStatus is the SQL for the status of images alias i, with sg the
// per-image signature counts.
const signatureStatus = `CASE WHEN coalesce(sg.n, 0) > 0 THEN 'signed' WHEN i.signature_verdict IS NOT NULL THEN 'unsigned' ELSE 'not-evaluated' END`

const sigCounts = `sg AS (SELECT image_name, count(*) AS n, count(*) FILTER (WHERE trusted = 'True') AS ok FROM signatures GROUP BY image_name)`

// pairSigCounts and pairVerdicts are, per (repository name, image), the
// signatures found in that repository and that repository's verdict: a
// verdict belongs to a pair, not to an image.
const pairSigCounts = `sgp AS (SELECT r.name AS repository, s.image_name, count(*) AS n, count(*) FILTER (WHERE s.trusted = 'True') AS ok
	FROM signatures s JOIN repositories r ON r.id = s.repository_id GROUP BY r.name, s.image_name),
	pv AS (SELECT r.name AS repository, v.image_name, v.verdict, v.reason FROM image_verdicts v JOIN repositories r ON r.id = v.repository_id)`

// pairStatus is signatureStatus for a pair (aliases sgp, pv).
const pairStatus = `CASE WHEN coalesce(sgp.n, 0) > 0 THEN 'signed' WHEN pv.verdict IS NOT NULL THEN 'unsigned' ELSE 'not-evaluated' END`

// Inventory streams the inventory ordered by repository, tag (tagless rows
// last) and digest. A list's Platforms are spelled in SQL, in one query,
// by catalog.Platform's rule: os/architecture[/variant].
func (s *ReportSnapshot) Inventory(ctx context.Context, fn func(ReportImage) error) error {
	q := `WITH ` + pairSigCounts + `
	SELECT report_ir.repository, coalesce(report_ir.tag, ''), i.name, i.manifest_media_type,
		CASE WHEN i.manifest_media_type IN ` + listTypes + ` THEN 'list' WHEN ` + isArtifact("i.name") + ` THEN 'artifact' ELSE 'image' END,
		coalesce(i.architecture, ''), coalesce(i.os, ''), coalesce(i.variant, ''),
		(SELECT string_agg(os || '/' || architecture || CASE WHEN variant != '' THEN '/' || variant ELSE '' END, ` + nl + ` ORDER BY position)
			FROM image_manifests WHERE list_name = i.name),
		CASE WHEN i.manifest_media_type IN ` + listTypes + ` THEN NULL ELSE i.image_created END,
		i.size, (SELECT count(*) FROM image_layers WHERE image_name = i.name),
		coalesce(pv.verdict, ''), coalesce(pv.reason, ''), ` + pairStatus + `,
		coalesce(sgp.n, 0), coalesce(sgp.ok, 0),
		(SELECT string_agg(signer, ` + nl + ` ORDER BY signer) FROM (SELECT DISTINCT s.signer FROM signatures s JOIN repositories r ON r.id = s.repository_id
			WHERE s.image_name = i.name AND r.name = report_ir.repository AND s.signer != '') AS sub),
		i.creation_timestamp, coalesce(i.first_run, 0), report_ir.updated_at,
		(SELECT string_agg(list_name, ` + nl + ` ORDER BY list_name) FROM (SELECT DISTINCT list_name FROM image_manifests WHERE digest = i.name) AS sub),
		coalesce(` + instanceVerdicts("(SELECT id FROM repositories WHERE name = report_ir.repository)", "i.name") + `, ''),
		coalesce((SELECT artifact_type FROM image_artifacts WHERE image_name = i.name), '')
	FROM report_ir JOIN images i ON i.name = report_ir.image_name
	LEFT JOIN sgp ON sgp.repository = report_ir.repository AND sgp.image_name = i.name
	LEFT JOIN pv ON pv.repository = report_ir.repository AND pv.image_name = i.name
	ORDER BY report_ir.repository, report_ir.tag IS NULL, report_ir.tag, i.name`
	return s.each(ctx, "inventory", s.query().with(q), func(rows *sql.Rows) error {
		var r ReportImage
		var platforms, created, signers, updated, parents sql.NullString
		var seen, instances string
		if err := rows.Scan(&r.Repository, &r.Tag, &r.Digest, &r.MediaType, &r.Kind, &r.Architecture, &r.OS, &r.Variant,
			&platforms, &created, &r.Size, &r.Layers, &r.SignatureVerdict, &r.SignatureReason, &r.SignatureStatus,
			&r.Signatures, &r.TrustedSignatures, &signers, &seen, &r.FirstRun, &updated, &parents, &instances, &r.ArtifactType); err != nil {
			return err
		}
		if r.ArtifactType == "" { // an artifact has no pull verdict
			v, why := catalog.PullVerdictOf(catalog.Verdict(r.SignatureVerdict), r.SignatureReason, instances)
			r.PullVerdict, r.PullReason = string(v), why
		}
		r.Platforms, r.Signers, r.ParentLists = lines(platforms), lines(signers), lines(parents)
		r.Created, r.TagUpdated = optionalTime(created), optionalTime(updated)
		r.FirstSeen = parseTime(seen)
		return fn(r)
	})
}

func lines(s sql.NullString) []string {
	if !s.Valid || s.String == "" {
		return nil
	}
	return strings.Split(s.String, "\n")
}

func optionalTime(s sql.NullString) *time.Time {
	if !s.Valid || s.String == "" {
		return nil
	}
	t := parseTime(s.String)
	if t.IsZero() {
		return nil
	}
	return &t
}

// SignatureCounts returns the totals and then one row per repository.
func (s *ReportSnapshot) SignatureCounts(ctx context.Context) (ReportSignatureCounts, []ReportSignatureCounts, error) {
	cols := `count(*), count(*) FILTER (WHERE i.signature_verdict = 'accepted'), count(*) FILTER (WHERE i.signature_verdict = 'rejected'),
		count(*) FILTER (WHERE i.signature_verdict = 'no-policy'), count(*) FILTER (WHERE sg.n > 0),
		count(*) FILTER (WHERE sg.n > 0 AND i.signature_verdict = 'accepted'),
		count(*) FILTER (WHERE sg.n IS NULL AND i.signature_verdict IS NOT NULL), count(*) FILTER (WHERE sg.n IS NULL AND i.signature_verdict IS NULL)`
	scan := func(rows interface{ Scan(...any) error }, c *ReportSignatureCounts, repo bool) error {
		dst := []any{&c.Images, &c.Accepted, &c.Rejected, &c.NoPolicy, &c.Signed, &c.SignedAccepted, &c.Unsigned, &c.NotEvaluated}
		if repo {
			dst = append([]any{&c.Repository}, dst...)
		}
		return rows.Scan(dst...)
	}
	var total ReportSignatureCounts
	if err := scan(s.tx.QueryRowContext(ctx, `WITH `+sigCounts+` SELECT `+cols+`
		FROM report_scope JOIN images i ON i.name = report_scope.image_name LEFT JOIN sg ON sg.image_name = i.name`), &total, false); err != nil {
		return total, nil, fmt.Errorf("report signature totals: %w", err)
	}
	// Per repository, each image counts with that repository's own verdict
	// and the signatures found there.
	pairCols := strings.NewReplacer("i.signature_verdict", "pv.verdict", "sg.", "sgp.").Replace(cols)
	var per []ReportSignatureCounts
	err := s.each(ctx, "signatures per repository", s.query().with(`WITH `+pairSigCounts+` SELECT report_mem.repository, `+pairCols+`
		FROM report_mem LEFT JOIN sgp ON sgp.repository = report_mem.repository AND sgp.image_name = report_mem.image_name
		LEFT JOIN pv ON pv.repository = report_mem.repository AND pv.image_name = report_mem.image_name
		GROUP BY report_mem.repository ORDER BY report_mem.repository`), func(rows *sql.Rows) error {
		var c ReportSignatureCounts
		if err := scan(rows, &c, true); err != nil {
			return err
		}
		per = append(per, c)
		return nil
	})
	return total, per, err
}

// Signers lists the signers of trusted signatures, most images first. The
// catalog records a signer only for signatures a policy key verified.
func (s *ReportSnapshot) Signers(ctx context.Context) ([]ReportSigner, error) {
	var out []ReportSigner
	d := s.d
	err := s.each(ctx, "signers", s.query().with(`
		SELECT s.signer, coalesce(max(`+d.jsonText("s.object", "issuedTo", "publicKeyID")+`), ''),
			coalesce(max(`+d.jsonText("s.object", "issuedTo", "commonName")+`), ''),
			coalesce(max(`+d.jsonText("s.object", "issuedTo", "organization")+`), ''),
			coalesce(max(`+d.jsonText("s.object", "issuedBy", "commonName")+`), ''),
			coalesce(max(`+d.jsonText("s.object", "issuedBy", "organization")+`), ''),
			`+d.distinctList("s.type")+`, count(*), count(DISTINCT s.image_name),
			count(DISTINCT CASE WHEN v.verdict = 'accepted' THEN s.image_name END),
			count(DISTINCT CASE WHEN v.verdict = 'rejected' THEN s.image_name END),
			(SELECT string_agg(name, `+nl+` ORDER BY name) FROM (SELECT DISTINCT r.name FROM signatures x JOIN repositories r ON r.id = x.repository_id
				JOIN report_mem ON report_mem.repository = r.name AND report_mem.image_name = x.image_name WHERE x.signer = s.signer) AS sub),
			min(`+d.jsonText("s.object", "created")+`), max(`+d.jsonText("s.object", "created")+`)
		FROM signatures s LEFT JOIN image_verdicts v ON v.image_name = s.image_name AND v.repository_id = s.repository_id
		WHERE s.signer != '' AND s.image_name IN (SELECT image_name FROM report_scope)
		GROUP BY s.signer ORDER BY count(DISTINCT s.image_name) DESC, s.signer`), func(rows *sql.Rows) error {
		var r ReportSigner
		var types, repos, first, last sql.NullString
		if err := rows.Scan(&r.Signer, &r.PublicKeyID, &r.CommonName, &r.Organization, &r.IssuerCommonName, &r.IssuerOrganization,
			&types, &r.Signatures, &r.Images, &r.AcceptedImages, &r.RejectedImages, &repos, &first, &last); err != nil {
			return err
		}
		if types.Valid {
			r.Types = strings.Split(types.String, ",")
			sort.Strings(r.Types)
		}
		r.Repositories = lines(repos)
		r.FirstSigned, r.LastSigned = optionalTime(first), optionalTime(last)
		out = append(out, r)
		return nil
	})
	return out, err
}

// SignatureResults counts signatures by Trusted status and reason.
func (s *ReportSnapshot) SignatureResults(ctx context.Context) ([]ReportReasonCount, error) {
	var out []ReportReasonCount
	err := s.each(ctx, "signature results", s.query().with(`
		SELECT trusted, reason, count(*), count(DISTINCT image_name) FROM signatures
		WHERE image_name IN (SELECT image_name FROM report_scope) GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2`), func(rows *sql.Rows) error {
		var r ReportReasonCount
		if err := rows.Scan(&r.Trusted, &r.Reason, &r.Signatures, &r.Images); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// RejectionReasons counts rejected images by the policy's reason.
func (s *ReportSnapshot) RejectionReasons(ctx context.Context) ([]ReportReasonCount, error) {
	var out []ReportReasonCount
	err := s.each(ctx, "rejection reasons", s.query().with(`WITH `+sigCounts+`
		SELECT coalesce(i.signature_reason, ''), coalesce(sum(sg.n), 0), count(*) FROM report_scope JOIN images i ON i.name = report_scope.image_name
		LEFT JOIN sg ON sg.image_name = i.name WHERE i.signature_verdict = 'rejected' GROUP BY 1 ORDER BY 3 DESC, 1`), func(rows *sql.Rows) error {
		var r ReportReasonCount
		if err := rows.Scan(&r.Reason, &r.Signatures, &r.Images); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// Rejected streams images the policy rejected, by repository and digest.
func (s *ReportSnapshot) Rejected(ctx context.Context, fn func(ReportRejected) error) error {
	return s.each(ctx, "rejected images", s.query().with(`
		SELECT m.repository, (SELECT string_agg(tag, `+nl+` ORDER BY tag) FROM report_ir x
			WHERE x.image_name = i.name AND x.repository = m.repository AND x.tag IS NOT NULL),
			i.name, v.reason, (SELECT count(*) FROM signatures WHERE image_name = i.name AND repository_id = v.repository_id),
			(SELECT string_agg(reason, `+nl+` ORDER BY reason) FROM (SELECT DISTINCT reason FROM signatures
				WHERE image_name = i.name AND repository_id = v.repository_id AND trusted != 'True') AS sub)
		FROM report_mem m JOIN images i ON i.name = m.image_name JOIN repositories rp ON rp.name = m.repository
		JOIN image_verdicts v ON v.repository_id = rp.id AND v.image_name = i.name
		WHERE v.verdict = 'rejected' ORDER BY m.repository, i.name`), func(rows *sql.Rows) error {
		var r ReportRejected
		var tags, reasons sql.NullString
		if err := rows.Scan(&r.Repository, &tags, &r.Digest, &r.Reason, &r.Signatures, &reasons); err != nil {
			return err
		}
		r.Tags, r.SignatureReasons = lines(tags), lines(reasons)
		return fn(r)
	})
}

// SizesAndAges streams the size and build time (nil when unknown) of each
// single image in scope; lists have neither of their own.
func (s *ReportSnapshot) SizesAndAges(ctx context.Context, fn func(size int64, created *time.Time) error) error {
	return s.each(ctx, "sizes", s.query().with(`
		SELECT i.size, i.image_created FROM report_scope JOIN images i ON i.name = report_scope.image_name
		WHERE i.manifest_media_type NOT IN `+listTypes+` ORDER BY i.name`), func(rows *sql.Rows) error {
		var size int64
		var created sql.NullString
		if err := rows.Scan(&size, &created); err != nil {
			return err
		}
		return fn(size, optionalTime(created))
	})
}

// RepositoryStorage returns one row per repository in scope, by name.
func (s *ReportSnapshot) RepositoryStorage(ctx context.Context) ([]ReportRepositoryStorage, error) {
	var out []ReportRepositoryStorage
	err := s.each(ctx, "repository storage", s.query().with(`WITH
		rl AS (SELECT DISTINCT report_mem.repository, l.digest FROM report_mem JOIN image_layers l ON l.image_name = report_mem.image_name),
		st AS (SELECT rl.repository, count(*) AS layers, sum(lr.size) AS bytes,
			sum(CASE WHEN lr.repos > 1 THEN lr.size ELSE 0 END) AS shared FROM rl JOIN report_layers lr ON lr.digest = rl.digest GROUP BY rl.repository),
		counts AS (SELECT repository, count(DISTINCT image_name) AS images, count(tag) AS tags FROM report_ir GROUP BY repository)
		SELECT c.repository, c.images, c.tags, coalesce(st.layers, 0), coalesce(st.bytes, 0), coalesce(st.shared, 0)
		FROM counts c LEFT JOIN st ON st.repository = c.repository ORDER BY c.repository`), func(rows *sql.Rows) error {
		var r ReportRepositoryStorage
		if err := rows.Scan(&r.Name, &r.Images, &r.Tags, &r.Layers, &r.Bytes, &r.SharedBytes); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// LargestImages returns the limit largest single images in scope.
func (s *ReportSnapshot) LargestImages(ctx context.Context, limit int) ([]ReportLargeImage, error) {
	var out []ReportLargeImage
	q := s.query()
	err := s.each(ctx, "largest images", q.with(`WITH
		top AS (SELECT i.name, i.manifest_media_type, i.size FROM report_scope JOIN images i ON i.name = report_scope.image_name
			WHERE i.manifest_media_type NOT IN `+listTypes+` ORDER BY i.size DESC, i.name LIMIT `+q.arg(limit)+`)
		SELECT top.name, top.manifest_media_type, top.size, (SELECT count(*) FROM image_layers WHERE image_name = top.name),
			(SELECT string_agg(repository, `+nl+` ORDER BY repository) FROM (SELECT DISTINCT repository FROM report_ir WHERE image_name = top.name) AS sub),
			(SELECT string_agg(repository || ':' || tag, `+nl+` ORDER BY repository || ':' || tag) FROM report_ir
				WHERE image_name = top.name AND tag IS NOT NULL)
		FROM top ORDER BY top.size DESC, top.name`), func(rows *sql.Rows) error {
		var r ReportLargeImage
		var repos, tags sql.NullString
		if err := rows.Scan(&r.Digest, &r.MediaType, &r.Size, &r.Layers, &repos, &tags); err != nil {
			return err
		}
		r.Repositories, r.Tags = lines(repos), lines(tags)
		out = append(out, r)
		return nil
	})
	return out, err
}

// SharedLayers returns the layers used in more than one repository (of the
// whole catalog) by at least one image in scope: the count, their bytes
// (each counted once) and the limit most widely shared.
func (s *ReportSnapshot) SharedLayers(ctx context.Context, limit int) (total int, bytes int64, top []ReportSharedLayer, err error) {
	shared := `WITH
		sl AS (SELECT lr.* FROM report_layers lr WHERE lr.repos > 1
			AND lr.digest IN (SELECT l.digest FROM image_layers l JOIN report_scope ON report_scope.image_name = l.image_name))`
	if err := s.tx.QueryRowContext(ctx, shared+` SELECT count(*), coalesce(sum(size), 0) FROM sl`).Scan(&total, &bytes); err != nil {
		return 0, 0, nil, fmt.Errorf("report shared layers: %w", err)
	}
	q := s.query()
	err = s.each(ctx, "shared layers", q.with(shared+`
		SELECT sl.digest, (SELECT min(media_type) FROM image_layers WHERE digest = sl.digest), sl.size, sl.repos, sl.images
		FROM sl ORDER BY sl.repos DESC, sl.size DESC, sl.digest LIMIT `+q.arg(limit)), func(rows *sql.Rows) error {
		var r ReportSharedLayer
		if err := rows.Scan(&r.Digest, &r.MediaType, &r.Size, &r.Repositories, &r.Images); err != nil {
			return err
		}
		top = append(top, r)
		return nil
	})
	return total, bytes, top, err
}

// RunActivity lists every run, oldest first. Imported, Unchanged and Failed
// are the run's own counts (the whole run); the rest are within the filter.
func (s *ReportSnapshot) RunActivity(ctx context.Context) ([]ReportRun, error) {
	var out []ReportRun
	q := s.query()
	err := s.each(ctx, "runs", q.with(`WITH
		ev AS (SELECT e.run_id, e.event FROM tag_events e JOIN repositories r ON r.id = e.repository_id WHERE `+q.matches("r.name")+`),
		evr AS (SELECT run_id, count(*) FILTER (WHERE event = 'added') AS added, count(*) FILTER (WHERE event = 'moved') AS moved,
			count(*) FILTER (WHERE event = 'removed') AS removed
			FROM ev WHERE run_id IS NOT NULL GROUP BY run_id),
		imr AS (SELECT i.first_run, count(*) AS n FROM report_scope JOIN images i ON i.name = report_scope.image_name
			WHERE i.first_run IS NOT NULL GROUP BY i.first_run)
		SELECT r.id, r.started_at, r.finished_at, r.status, r.command, r.imported, r.unchanged, r.failed,
			coalesce(imr.n, 0), coalesce(evr.added, 0), coalesce(evr.moved, 0), coalesce(evr.removed, 0),
			r.shard_index, r.shard_count, r.run_group
		FROM import_runs r LEFT JOIN evr ON evr.run_id = r.id LEFT JOIN imr ON imr.first_run = r.id ORDER BY r.id`),
		func(rows *sql.Rows) error {
			var run catalog.Run
			var newImages, added, moved, removed int
			var started string
			var finished, group sql.NullString
			var index, count sql.NullInt64
			if err := rows.Scan(&run.ID, &started, &finished, &run.Status, &run.Command, &run.Imported, &run.Unchanged, &run.Failed,
				&newImages, &added, &moved, &removed, &index, &count, &group); err != nil {
				return err
			}
			run.Shard = shardOf(index, count, group)
			run.StartedAt = parseTime(started).UTC()
			if t := optionalTime(finished); t != nil {
				run.FinishedAt = t.UTC()
			}
			r := reportRun(run)
			r.NewImages, r.TagsAdded, r.TagsMoved, r.TagsRemoved = newImages, added, moved, removed
			out = append(out, r)
			return nil
		})
	return out, err
}

// VerificationChangeTimes streams, oldest first, when a (repository,
// image) pair in scope changed its verdict between runs (an import or
// `regimport verify`), from the verdict history.
func (s *ReportSnapshot) VerificationChangeTimes(ctx context.Context, fn func(time.Time) error) error {
	q := s.query()
	return s.each(ctx, "verification changes", q.with(`
		SELECT h.changed_at FROM verdict_history h JOIN repositories r ON r.id = h.repository_id
		WHERE h.signature = '' AND `+q.matches("r.name")+` ORDER BY h.id`), func(rows *sql.Rows) error {
		var at string
		if err := rows.Scan(&at); err != nil {
			return err
		}
		return fn(parseTime(at))
	})
}

// tagChanges: the last event of each tag up to each cut; a tag whose state
// (its digest, or removed) at `to` differs from its state at `from` changed.
func tagChanges(q *reportQuery, from, to ReportCut) string {
	return `WITH b AS (SELECT t.repository_id, t.tag, t.image_name, t.event FROM tag_events t JOIN
		(SELECT max(id) AS id FROM tag_events e WHERE ` + q.before("e.run_id", "e.created", from) + ` GROUP BY repository_id, tag) l ON l.id = t.id),
	a AS (SELECT t.repository_id, t.tag, t.image_name, t.event, t.created, t.run_id FROM tag_events t JOIN
		(SELECT max(id) AS id FROM tag_events e WHERE ` + q.before("e.run_id", "e.created", to) + ` GROUP BY repository_id, tag) l ON l.id = t.id),
	tc AS (SELECT r.name AS repository, a.tag,
		CASE WHEN a.event = 'removed' THEN 'removed' WHEN b.image_name IS NULL OR b.event = 'removed' THEN 'added' ELSE 'moved' END AS change,
		CASE WHEN a.event = 'removed' THEN a.image_name WHEN b.event = 'removed' THEN '' ELSE coalesce(b.image_name, '') END AS from_image,
		CASE WHEN a.event = 'removed' THEN '' ELSE a.image_name END AS to_image, a.created, coalesce(a.run_id, 0) AS run
		FROM a JOIN repositories r ON r.id = a.repository_id LEFT JOIN b ON b.repository_id = a.repository_id AND b.tag = a.tag
		WHERE ` + q.matches("r.name") + ` AND CASE WHEN a.event = 'removed'
			THEN b.image_name IS NOT NULL AND b.event != 'removed'
			ELSE b.image_name IS NULL OR b.event = 'removed' OR b.image_name != a.image_name END)`
}

// TagChangeCounts counts tags added, moved and removed between the cuts.
func (s *ReportSnapshot) TagChangeCounts(ctx context.Context, from, to ReportCut) (added, moved, removed int, err error) {
	q := s.query()
	q.with(tagChanges(q, from, to) + ` SELECT count(*) FILTER (WHERE change = 'added'), count(*) FILTER (WHERE change = 'moved'),
		count(*) FILTER (WHERE change = 'removed') FROM tc`)
	err = s.tx.QueryRowContext(ctx, q.sql, q.args...).Scan(&added, &moved, &removed)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("report tag changes: %w", err)
	}
	return added, moved, removed, nil
}

// TagChanges streams tags added, moved or removed between the cuts, by repository and tag.
func (s *ReportSnapshot) TagChanges(ctx context.Context, from, to ReportCut, fn func(ReportTagChange) error) error {
	q := s.query()
	return s.each(ctx, "tag changes", q.with(tagChanges(q, from, to)+` SELECT * FROM tc ORDER BY repository, tag`), func(rows *sql.Rows) error {
		var r ReportTagChange
		var at string
		if err := rows.Scan(&r.Repository, &r.Tag, &r.Change, &r.From, &r.To, &at, &r.Run); err != nil {
			return err
		}
		r.At = parseTime(at)
		return fn(r)
	})
}

// RepositoryChanges streams the repositories removed between the cuts.
func (s *ReportSnapshot) RepositoryChanges(ctx context.Context, from, to ReportCut, fn func(ReportRepositoryChange) error) error {
	q := s.query()
	return s.each(ctx, "repository changes", q.with(`SELECT r.name, r.removed_at, coalesce(r.removed_run, 0) FROM repositories r
		WHERE r.removed_at IS NOT NULL AND `+q.matches("r.name")+`
		AND NOT `+q.before("r.removed_run", "r.removed_at", from)+` AND `+q.before("r.removed_run", "r.removed_at", to)+`
		ORDER BY r.name`), func(rows *sql.Rows) error {
		r := ReportRepositoryChange{Change: "removed"}
		var at string
		if err := rows.Scan(&r.Repository, &at, &r.Run); err != nil {
			return err
		}
		r.At = parseTime(at)
		return fn(r)
	})
}

// UnreferencedImages lists the images in the filter that nothing
// references any more (see Catalog.UnreferencedImages), by name.
func (s *ReportSnapshot) UnreferencedImages(ctx context.Context) ([]catalog.UnreferencedImage, error) {
	all, err := s.src.UnreferencedImagesIn(ctx, s.tx)
	if err != nil {
		return nil, err
	}
	inScope := map[string]bool{}
	if err := s.each(ctx, "unreferenced images", s.query().with(`SELECT image_name FROM report_scope`), func(rows *sql.Rows) error {
		var name string
		err := rows.Scan(&name)
		inScope[name] = true
		return err
	}); err != nil {
		return nil, err
	}
	var out []catalog.UnreferencedImage
	for _, u := range all {
		if inScope[u.Digest] {
			out = append(out, u)
		}
	}
	return out, nil
}

func imageChanges(q *reportQuery, from, to ReportCut) string {
	return `WITH ` + sigCounts + `,
	added AS (SELECT i.name, i.creation_timestamp AS at, coalesce(i.first_run, 0) AS run FROM report_scope JOIN images i ON i.name = report_scope.image_name
		WHERE NOT ` + q.before("i.first_run", "i.creation_timestamp", from) + ` AND ` + q.before("i.first_run", "i.creation_timestamp", to) + `),
	modified AS (SELECT h.id, h.image_name AS name, h.changed_at AS at, coalesce(h.run_id, 0) AS run, r.name AS repository, h.signature,
		h.old_value || CASE WHEN h.old_reason != '' THEN ' (' || h.old_reason || ')' ELSE '' END AS old,
		h.new_value || CASE WHEN h.new_reason != '' THEN ' (' || h.new_reason || ')' ELSE '' END AS new
		FROM verdict_history h JOIN repositories r ON r.id = h.repository_id
		WHERE ` + q.matches("r.name") + ` AND NOT ` + q.before("h.run_id", "h.changed_at", from) + ` AND ` + q.before("h.run_id", "h.changed_at", to) + `),
	ic AS (SELECT name, 'added' AS change, at, run, NULL AS repository, '' AS signature, '' AS old, '' AS new, 0 AS id FROM added
		UNION ALL SELECT name, CASE WHEN signature = '' THEN 'verdict-changed' ELSE 'signature-changed' END, at, run, repository, signature, old, new, id FROM modified)`
}

// ImageChangeCounts counts images added, and recorded verdict or signature
// changes, between the cuts.
func (s *ReportSnapshot) ImageChangeCounts(ctx context.Context, from, to ReportCut) (added, reverified int, err error) {
	q := s.query()
	q.with(imageChanges(q, from, to) + ` SELECT count(*) FILTER (WHERE change = 'added'),
		(SELECT count(*) FROM (SELECT DISTINCT name, repository FROM modified) AS sub) FROM ic`)
	err = s.tx.QueryRowContext(ctx, q.sql, q.args...).Scan(&added, &reverified)
	if err != nil {
		return 0, 0, fmt.Errorf("report image changes: %w", err)
	}
	return added, reverified, nil
}

// ImageChanges streams images added or re-verified between the cuts, in time order.
func (s *ReportSnapshot) ImageChanges(ctx context.Context, from, to ReportCut, fn func(ReportImageChange) error) error {
	q := s.query()
	return s.each(ctx, "image changes", q.with(imageChanges(q, from, to)+`
		SELECT ic.name, (SELECT string_agg(repository, `+nl+` ORDER BY repository) FROM report_mem WHERE image_name = ic.name),
			ic.change, ic.at, ic.run, coalesce(i.signature_verdict, ''), coalesce(i.signature_reason, ''), coalesce(sg.n, 0), coalesce(sg.ok, 0),
			ic.repository, ic.signature, ic.old, ic.new
		FROM ic JOIN images i ON i.name = ic.name LEFT JOIN sg ON sg.image_name = ic.name
		ORDER BY `+s.d.timeOrder("ic.at")+`, ic.id, ic.name, ic.change`), func(rows *sql.Rows) error {
		var r ReportImageChange
		var repos, repo sql.NullString
		var at string
		if err := rows.Scan(&r.Digest, &repos, &r.Change, &at, &r.Run, &r.SignatureVerdict, &r.SignatureReason,
			&r.Signatures, &r.TrustedSignatures, &repo, &r.Signature, &r.From, &r.To); err != nil {
			return err
		}
		r.Repositories, r.At = lines(repos), parseTime(at)
		if repo.Valid { // a change of one repository's verdict
			r.Repositories = []string{repo.String}
		}
		return fn(r)
	})
}

// Failures streams the failures of runs after `from` up to `to` (by run id),
// for references in repositories the filter matches.
func (s *ReportSnapshot) Failures(ctx context.Context, from, to ReportCut, fn func(ReportFailure) error) error {
	q := s.query()
	return s.each(ctx, "failures", q.with(`SELECT f.run_id, f.reference, f.reason, f.failed_at FROM import_failures f
		JOIN import_runs r ON r.id = f.run_id
		WHERE NOT `+q.before("f.run_id", "coalesce(r.finished_at, r.started_at)", from)+` AND `+q.before("f.run_id", "coalesce(r.finished_at, r.started_at)", to)+`
		AND `+q.matches("f.reference", ":*", "@*")+`
		ORDER BY f.run_id, f.id`), func(rows *sql.Rows) error {
		var r ReportFailure
		var at string
		if err := rows.Scan(&r.Run, &r.Reference, &r.Reason, &at); err != nil {
			return err
		}
		r.At = parseTime(at)
		return fn(r)
	})
}
