package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	imagev1 "github.com/openshift/api/image/v1"
)

// A signature verdict belongs to a (repository, image) pair: policy scopes,
// lookaside locations and sigstore attachments are all per repository. The
// image's own verdict (images.signature_verdict, the annotation
// regimport.io/signature-verdict) is the summary over its repositories.

// PutVerification stores the verdict of v.Repository for an image and the
// signatures found there, replacing what that pair had. A changed verdict or
// signature result is recorded in verdict_history, and the image gets a new
// resourceVersion; an identical result is Unchanged and writes nothing.
func (w *Writer) PutVerification(ctx context.Context, image string, v Verification, done func(Outcome, error)) error {
	if v.Repository == "" || v.Verdict == "" {
		err := fmt.Errorf("catalog: verification of %s needs a repository and a verdict", image)
		if done != nil {
			done(Unchanged, err)
		}
		return nil
	}
	return w.enqueue(ctx, op{apply: func(ctx context.Context, tx *batchTx) (Outcome, error) {
		if err := tx.lock(ctx); err != nil {
			return Unchanged, err
		}
		return w.c.putVerification(ctx, tx, image, v, w.opts.RunID, true)
	}, done: done})
}

type storedSignature struct {
	name     string
	object   imagev1.ImageSignature
	evidence SignatureEvidence
}

// putVerification writes one pair. bump gives the image a new
// resourceVersion and summary when the pair changed; it is false exactly
// for an image stored in the same operation.
func (c *Catalog) putVerification(ctx context.Context, tx *batchTx, image string, v Verification, runID int64, bump bool) (Outcome, error) {
	known, err := c.repository(ctx, tx, v.Repository)
	if err != nil {
		return Unchanged, err
	}
	repo := known.id
	// An image stored by this very operation (!bump) has no verdict or
	// signature rows yet: they reference images, with foreign keys enforced
	// on both backends, so none can outlive their image's row. A cold
	// import then spares the look-ups and the DELETE below for each pair.
	newImage := !bump
	var oldVerdict, oldReason string
	var migrated, existed bool
	if !newImage {
		err = tx.queryRow(ctx, `SELECT verdict, reason, migrated FROM image_verdicts WHERE repository_id = $1 AND image_name = $2`,
			repo, image).Scan(&oldVerdict, &oldReason, &migrated)
		existed = err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return Unchanged, fmt.Errorf("look up verdict of %s in %s: %w", image, v.Repository, err)
		}
	}
	// Attestations are per image and not part of the served Image: they are
	// replaced whenever referrers were looked up, verdict changed or not.
	if err := c.putAttestations(ctx, tx, image, v, newImage); err != nil {
		return Unchanged, err
	}
	var old []storedSignature
	if !newImage {
		if old, err = c.pairSignatures(ctx, tx, repo, image); err != nil {
			return Unchanged, err
		}
	}
	for i := range v.Signatures {
		annotateRepository(&v.Signatures[i].Object, v.Repository)
	}
	if existed && !migrated && Verdict(oldVerdict) == v.Verdict && oldReason == v.Reason && sameSignatures(old, v.Signatures) {
		// Evidence is not part of the served Image: new evidence for the
		// same results (a signature stored before 0013, re-verified) is
		// written in place, with no new resourceVersion or history.
		if sameEvidences(old, v.Signatures) {
			return Unchanged, nil
		}
		return Unchanged, c.updateEvidence(ctx, tx, image, repo, v.Signatures)
	}
	run := runOrNull(runID)
	now := c.timestamp()
	history := func(sig, oldV, oldR, newV, newR string) error {
		_, err := tx.exec(ctx, `INSERT INTO verdict_history (repository_id, image_name, signature, old_value, old_reason,
			new_value, new_reason, run_id, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, repo, image, sig, oldV, oldR, newV, newR, run, now)
		if err != nil {
			return fmt.Errorf("record verdict history of %s in %s: %w", image, v.Repository, err)
		}
		return nil
	}
	if existed && Verdict(oldVerdict) != v.Verdict {
		if err := history("", oldVerdict, oldReason, string(v.Verdict), v.Reason); err != nil {
			return Unchanged, err
		}
	}
	if existed {
		byName := map[string]imagev1.ImageSignature{}
		for _, s := range old {
			byName[s.name] = s.object
		}
		for _, s := range v.Signatures {
			prev, ok := byName[s.Object.Name]
			if !ok {
				continue
			}
			ot, or := conditionOf(prev, "Trusted")
			nt, nr := conditionOf(s.Object, "Trusted")
			if ot != nt || or != nr {
				if err := history(s.Object.Name, ot, or, nt, nr); err != nil {
					return Unchanged, err
				}
			}
		}
	}
	if _, err := tx.exec(ctx, `INSERT INTO image_verdicts (repository_id, image_name, verdict, reason, evaluated_at, run_id, migrated)
		VALUES ($1, $2, $3, $4, $5, $6, false) ON CONFLICT (repository_id, image_name) DO UPDATE SET verdict = excluded.verdict,
		reason = excluded.reason, evaluated_at = excluded.evaluated_at, run_id = excluded.run_id, migrated = false`,
		repo, image, v.Verdict, v.Reason, now, run); err != nil {
		return Unchanged, fmt.Errorf("store verdict of %s in %s: %w", image, v.Repository, err)
	}
	if !newImage {
		if _, err := tx.exec(ctx, `DELETE FROM signatures WHERE image_name = $1 AND repository_id = $2`, image, repo); err != nil {
			return Unchanged, fmt.Errorf("replace signatures of %s in %s: %w", image, v.Repository, err)
		}
	}
	if err := c.putSignatures(ctx, tx, image, repo, v.Signatures); err != nil {
		return Unchanged, err
	}
	if bump {
		verdict, reason, err := summarize(ctx, tx, image)
		if err != nil {
			return Unchanged, err
		}
		rv, err := c.recordChange(ctx, tx, "images", image, "MODIFIED")
		if err != nil {
			return Unchanged, err
		}
		if _, err := tx.exec(ctx, `UPDATE images SET signature_verdict = $1, signature_reason = $2, resource_version = $3 WHERE name = $4`,
			nullable(verdict), nullable(reason), rv, image); err != nil {
			return Unchanged, fmt.Errorf("update verdict of %s: %w", image, err)
		}
	}
	if existed {
		return Updated, nil
	}
	return Created, nil
}

func annotateRepository(s *imagev1.ImageSignature, repo string) {
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[AnnotationSignatureRepository] = repo
}

func (c *Catalog) pairSignatures(ctx context.Context, tx *batchTx, repo int64, image string) ([]storedSignature, error) {
	st, err := tx.stmt(ctx, `SELECT name, object, `+evidenceColumns+` FROM signatures WHERE image_name = $1 AND repository_id = $2 ORDER BY position`)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, image, repo)
	if err != nil {
		return nil, fmt.Errorf("signatures of %s: %w", image, err)
	}
	defer rows.Close()
	var out []storedSignature
	for rows.Next() {
		var s storedSignature
		var obj string
		var ev evidenceScan
		if err := rows.Scan(append([]any{&s.name, &obj}, ev.targets()...)...); err != nil {
			return nil, err
		}
		s.evidence = ev.evidence()
		if err := json.Unmarshal([]byte(obj), &s.object); err != nil {
			return nil, fmt.Errorf("signature %s: %w", s.name, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func sameSignatures(old []storedSignature, next []SignatureRecord) bool {
	if len(old) != len(next) {
		return false
	}
	for i := range next {
		if !sameSignature(old[i].object, next[i].Object) {
			return false
		}
	}
	return true
}

// sameEvidences compares the evidence of signatures sameSignatures found
// the same.
func sameEvidences(old []storedSignature, next []SignatureRecord) bool {
	for i := range next {
		if !sameEvidence(old[i].evidence, next[i].Evidence) {
			return false
		}
	}
	return true
}

// pairVerdict is one repository's verdict, for summaries.
type pairVerdict struct{ repository, verdict, reason string }

// summarize derives an image's verdict from its repositories': the common
// verdict when they agree, else "mixed"; the reason names the repositories.
func summarize(ctx context.Context, tx *batchTx, image string) (verdict, reason string, err error) {
	st, err := tx.stmt(ctx, `SELECT r.name, v.verdict, v.reason FROM image_verdicts v JOIN repositories r ON r.id = v.repository_id
		WHERE v.image_name = $1 ORDER BY r.name`)
	if err != nil {
		return "", "", err
	}
	rows, err := st.QueryContext(ctx, image)
	if err != nil {
		return "", "", fmt.Errorf("verdicts of %s: %w", image, err)
	}
	defer rows.Close()
	var ps []pairVerdict
	for rows.Next() {
		var p pairVerdict
		if err := rows.Scan(&p.repository, &p.verdict, &p.reason); err != nil {
			return "", "", err
		}
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return "", "", err
	}
	verdict, reason = summary(ps)
	return verdict, reason, nil
}

// summary is the summary of per-repository verdicts (see summarize).
func summary(ps []pairVerdict) (verdict, reason string) {
	if len(ps) == 0 {
		return "", ""
	}
	same, sameReason := true, true
	for _, p := range ps[1:] {
		same = same && p.verdict == ps[0].verdict
		sameReason = sameReason && p.reason == ps[0].reason
	}
	if same && sameReason {
		return ps[0].verdict, ps[0].reason
	}
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		s := p.repository + ": " + p.verdict
		if p.reason != "" {
			s += " (" + p.reason + ")"
		}
		parts = append(parts, s)
	}
	if same {
		return ps[0].verdict, strings.Join(parts, "; ")
	}
	return string(VerdictMixed), strings.Join(parts, "; ")
}

// loadVerdicts fills the per-repository annotation of a result.
func (c *Catalog) loadVerdicts(ctx context.Context, tx *sql.Tx, set imageSet) error {
	where, args := set.where("v.image_name")
	rows, err := c.txQuery(ctx, tx, set.contiguous, `SELECT v.image_name, r.name, v.verdict, v.reason FROM image_verdicts v
		JOIN repositories r ON r.id = v.repository_id WHERE `+where+` ORDER BY v.image_name, r.name`, args...)
	if err != nil {
		return fmt.Errorf("load verdicts: %w", err)
	}
	defer rows.Close()
	per := map[string]map[string]string{}
	for rows.Next() {
		var name, repo, verdict, reason string
		if err := rows.Scan(&name, &repo, &verdict, &reason); err != nil {
			return err
		}
		if set.at(name) == nil {
			continue
		}
		if reason != "" {
			verdict += ": " + reason
		}
		if per[name] == nil {
			per[name] = map[string]string{}
		}
		per[name][repo] = verdict
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for name, m := range per {
		img := set.at(name)
		b, err := json.Marshal(m) // maps marshal with sorted keys
		if err != nil {
			return err
		}
		if img.Annotations == nil {
			img.Annotations = map[string]string{}
		}
		img.Annotations[AnnotationSignatureVerdicts] = string(b)
	}
	return nil
}

// Verdicts returns the per-repository verdicts of an image, by repository.
func (c *Catalog) Verdicts(ctx context.Context, image string) ([]PairVerdict, error) {
	rows, err := c.readQuery(ctx, `SELECT r.name, v.verdict, v.reason, v.migrated FROM image_verdicts v
		JOIN repositories r ON r.id = v.repository_id WHERE v.image_name = $1 ORDER BY r.name`, image)
	if err != nil {
		return nil, fmt.Errorf("verdicts of %s: %w", image, err)
	}
	defer rows.Close()
	var out []PairVerdict
	for rows.Next() {
		p := PairVerdict{Image: image}
		if err := rows.Scan(&p.Repository, &p.Verdict, &p.Reason, &p.Migrated); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PairsToLookUp returns, of an image and its list entries, those stored
// whose signatures were never looked up in repository (no verdict, or only
// one migrated from an older catalog), or could not be fetched last time
// (unevaluated: every run tries again).
func (c *Catalog) PairsToLookUp(ctx context.Context, repository, image string) ([]string, error) {
	out, err := c.strings(ctx, `WITH x(name) AS (SELECT $1 UNION SELECT digest FROM image_manifests WHERE list_name = $1)
		SELECT x.name FROM x JOIN images i ON i.name = x.name WHERE NOT EXISTS (SELECT 1 FROM image_verdicts v
			JOIN repositories r ON r.id = v.repository_id WHERE r.name = $2 AND v.image_name = x.name AND NOT v.migrated
			AND v.verdict != 'unevaluated')
		ORDER BY x.name != $1, x.name`, image, repository)
	if err != nil {
		return nil, fmt.Errorf("pairs of %s in %s: %w", image, repository, err)
	}
	return out, nil
}

// PairLookedUp reports whether repository's signatures of image were looked
// up: a verdict, neither migrated from an older catalog nor unevaluated.
func (c *Catalog) PairLookedUp(ctx context.Context, repository, image string) (bool, error) {
	var one int
	err := c.readRow(ctx, `SELECT 1 FROM image_verdicts v JOIN repositories r ON r.id = v.repository_id
		WHERE r.name = $1 AND v.image_name = $2 AND NOT v.migrated AND v.verdict != 'unevaluated'`, repository, image).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("verdict of %s in %s: %w", image, repository, err)
	}
	return true, nil
}

// Manifest returns a stored image's manifest bytes and media type.
func (c *Catalog) Manifest(ctx context.Context, image string) ([]byte, string, error) {
	var b []byte
	var mt string
	err := c.readRow(ctx, `SELECT manifest, manifest_media_type FROM images WHERE name = $1`, image).Scan(&b, &mt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", fmt.Errorf("image %s: %w", image, ErrNotFound)
	}
	if err != nil {
		return nil, "", fmt.Errorf("manifest of %s: %w", image, err)
	}
	return b, mt, nil
}

// referencingPairs is the SQL of every (repository, image) pair the catalog
// knows of: a tag, an image's dockerImageReference (an import by digest), an
// image stream's tag, each with the entries of a list referenced there.
func referencingPairs(d Dialect) string {
	return `direct(repository, image_name) AS (
	SELECT r.name, t.image_name FROM tags t JOIN repositories r ON r.id = t.repository_id
	UNION SELECT ` + d.RepositoryOf("docker_image_reference") + `, name FROM images
	 WHERE ` + d.HasDigest("docker_image_reference") + `
	UNION SELECT ` + d.RepositoryOf("docker_image_reference") + `, image FROM image_stream_tag_events
	 WHERE ` + d.HasDigest("docker_image_reference") + `),
	pairs(repository, image_name) AS (SELECT repository, image_name FROM direct
	UNION SELECT d.repository, m.digest FROM direct d JOIN image_manifests m ON m.list_name = d.image_name
	 WHERE m.digest IN (SELECT name FROM images)
	UNION SELECT r.name, v.image_name FROM image_verdicts v JOIN repositories r ON r.id = v.repository_id)`
}

// ReferencingPairs pages through every (repository, image) pair after the
// given one, in (image, repository) order; images restricts it when set.
func (c *Catalog) ReferencingPairs(ctx context.Context, afterImage, afterRepository string, images []string, limit int) ([]PairVerdict, error) {
	q := `WITH ` + referencingPairs(c.d) + ` SELECT p.repository, p.image_name FROM pairs p
		WHERE (p.image_name, p.repository) > ($1, $2)`
	args := []any{afterImage, afterRepository}
	if len(images) > 0 {
		q += ` AND p.image_name IN (` + placeholders(3, len(images)) + `)`
		for _, n := range images {
			args = append(args, n)
		}
	}
	q += ` ORDER BY p.image_name, p.repository LIMIT ` + placeholder(len(args)+1)
	args = append(args, limit)
	rows, err := c.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list repository and image pairs: %w", err)
	}
	defer rows.Close()
	var out []PairVerdict
	for rows.Next() {
		var p PairVerdict
		if err := rows.Scan(&p.Repository, &p.Image); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// TagsOfImageIn lists the tags of repository that point at image, or at a
// list holding it.
func (c *Catalog) TagsOfImageIn(ctx context.Context, repository, image string) ([]string, error) {
	out, err := c.strings(ctx, `SELECT t.tag FROM tags t JOIN repositories r ON r.id = t.repository_id
		WHERE r.name = $1 AND (t.image_name = $2 OR t.image_name IN (SELECT list_name FROM image_manifests WHERE digest = $2))
		ORDER BY t.image_name != $2, t.tag`, repository, image)
	if err != nil {
		return nil, fmt.Errorf("tags of %s in %s: %w", image, repository, err)
	}
	return out, nil
}
