package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	imagev1 "github.com/openshift/api/image/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func conditionOf(sig imagev1.ImageSignature, t imagev1.SignatureConditionType) (string, string) {
	for _, c := range sig.Conditions {
		if c.Type == t {
			return string(c.Status), c.Reason
		}
	}
	return "Unknown", ""
}

func signerOf(sig imagev1.ImageSignature) string {
	if sig.IssuedTo == nil {
		return ""
	}
	if sig.IssuedTo.CommonName != "" {
		return sig.IssuedTo.CommonName + " (" + sig.IssuedTo.PublicKeyID + ")"
	}
	return sig.IssuedTo.PublicKeyID
}

func (c *Catalog) putSignatures(ctx context.Context, tx *batchTx, image string, repo int64, sigs []SignatureRecord) error {
	for i, s := range sigs {
		obj, err := json.Marshal(s.Object)
		if err != nil {
			return fmt.Errorf("encode signature %s: %w", s.Object.Name, err)
		}
		trusted, reason := conditionOf(s.Object, "Trusted")
		args := append([]any{image, repo, s.Object.Name, i, s.Source, s.Type, s.Content, nullable(s.SigstoreSignature), nullable(s.Certificate),
			nullable(s.Chain), nullable(s.Bundle), trusted, reason, signerOf(s.Object), string(obj)}, evidenceArgs(s.Evidence)...)
		if _, err := tx.exec(ctx, `INSERT INTO signatures (image_name, repository_id, name, position, source, type, content,
			sigstore_signature, certificate, chain, bundle, trusted, reason, signer, object, `+evidenceColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, `+placeholders(16, evidenceCount)+`)
			ON CONFLICT (image_name, repository_id, name) DO UPDATE SET trusted = excluded.trusted, reason = excluded.reason,
				signer = excluded.signer, object = excluded.object, `+evidenceUpdate+``, args...); err != nil {
			return fmt.Errorf("store signature %s: %w", s.Object.Name, err)
		}
	}
	return nil
}

// StoredSignatures returns the signatures of an image found in a
// repository, in the order found.
func (c *Catalog) StoredSignatures(ctx context.Context, repository, image string) ([]SignatureRecord, error) {
	rows, err := c.readQuery(ctx, `SELECT s.source, s.type, s.content, s.sigstore_signature, s.certificate, s.chain, s.bundle, s.object,
		`+evidenceColumns+` FROM signatures s JOIN repositories r ON r.id = s.repository_id WHERE s.image_name = $1 AND r.name = $2 ORDER BY s.position`, image, repository)
	if err != nil {
		return nil, fmt.Errorf("signatures of %s: %w", image, err)
	}
	defer rows.Close()
	var out []SignatureRecord
	for rows.Next() {
		var s SignatureRecord
		var sig, cert, chain, bundle sql.NullString
		var obj string
		var ev evidenceScan
		if err := rows.Scan(append([]any{&s.Source, &s.Type, &s.Content, &sig, &cert, &chain, &bundle, &obj}, ev.targets()...)...); err != nil {
			return nil, err
		}
		s.Evidence = ev.evidence()
		s.SigstoreSignature, s.Certificate, s.Chain, s.Bundle = sig.String, cert.String, chain.String, bundle.String
		if err := json.Unmarshal([]byte(obj), &s.Object); err != nil {
			return nil, fmt.Errorf("signature of %s: %w", image, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ImageNames lists stored image names after `after`, at most limit.
func (c *Catalog) ImageNames(ctx context.Context, after string, limit int) ([]string, error) {
	out, err := c.strings(ctx, `SELECT name FROM images WHERE name > $1 ORDER BY name LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list image names: %w", err)
	}
	return out, nil
}

// UpdateVerification replaces the verdict of v.Repository (the image's
// dockerImageReference repository when empty) for an image, through a
// writer of its own; see [Writer.PutVerification]. changed says whether
// anything a client sees changed.
func (c *Catalog) UpdateVerification(ctx context.Context, image string, v Verification) (changed bool, err error) {
	if v.Repository == "" {
		// The normalized key, not the served dockerImageReference (which
		// keeps the user's spelling).
		var lookup string
		err := c.readRow(ctx, `SELECT docker_image_reference FROM images WHERE name = $1`, image).Scan(&lookup)
		if errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Errorf("image %s: %w", image, ErrNotFound)
		} else if err != nil {
			return false, fmt.Errorf("update verification of %s: %w", image, err)
		}
		v = verificationRepository(lookup, v)
	}
	w, err := c.NewWriter(ctx, WriterOptions{})
	if err != nil {
		return false, err
	}
	var outcome Outcome
	var opErr error
	if err := w.PutVerification(ctx, image, v, func(o Outcome, err error) { outcome, opErr = o, err }); err != nil {
		w.Close()
		return false, err
	}
	if err := w.Close(); err != nil {
		return false, err
	}
	return outcome != Unchanged, opErr
}

// sameSignature compares what a client sees, ignoring condition times.
func sameSignature(a, b imagev1.ImageSignature) bool {
	strip := func(s imagev1.ImageSignature) string {
		s = *s.DeepCopy()
		for i := range s.Conditions {
			s.Conditions[i].LastProbeTime = metav1.Time{}
			s.Conditions[i].LastTransitionTime = metav1.Time{}
		}
		b, _ := json.Marshal(s)
		return string(b)
	}
	return strip(a) == strip(b)
}

// loadSignatures fills the signatures of a result.
func (c *Catalog) loadSignatures(ctx context.Context, tx *sql.Tx, set imageSet) error {
	where, args := set.where("image_name")
	rows, err := c.txQuery(ctx, tx, set.contiguous, `SELECT image_name, object FROM signatures WHERE `+where+` ORDER BY image_name, repository_id, position`, args...)
	if err != nil {
		return fmt.Errorf("load signatures: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, obj string
		if err := rows.Scan(&name, &obj); err != nil {
			return err
		}
		img := set.at(name)
		if img == nil {
			continue
		}
		var s imagev1.ImageSignature
		if err := json.Unmarshal([]byte(obj), &s); err != nil {
			return fmt.Errorf("signature of %s: %w", name, err)
		}
		img.Signatures = append(img.Signatures, s)
	}
	return rows.Err()
}

func setVerdict(img *imagev1.Image, verdict, reason sql.NullString) {
	if !verdict.Valid {
		return
	}
	if img.Annotations == nil {
		img.Annotations = map[string]string{}
	}
	img.Annotations[AnnotationSignatureVerdict] = verdict.String
	if reason.Valid && reason.String != "" {
		img.Annotations[AnnotationSignatureReason] = reason.String
	}
}

// TagsOfImage lists repository:tag references that point at an image now.
func (c *Catalog) TagsOfImage(ctx context.Context, image string) ([]string, error) {
	out, err := c.strings(ctx, `SELECT r.name || ':' || t.tag FROM tags t JOIN repositories r ON r.id = t.repository_id
		WHERE t.image_name = $1 ORDER BY 1`, image)
	if err != nil {
		return nil, fmt.Errorf("tags of %s: %w", image, err)
	}
	return out, nil
}

// ListsContaining returns the manifest lists an image is an entry of.
func (c *Catalog) ListsContaining(ctx context.Context, image string) ([]string, error) {
	out, err := c.strings(ctx, `SELECT DISTINCT list_name FROM image_manifests WHERE digest = $1 ORDER BY 1`, image)
	if err != nil {
		return nil, fmt.Errorf("lists containing %s: %w", image, err)
	}
	return out, nil
}

// strings runs a fixed one-column query on the read pool, prepared once
// (the statement cache): unprepared, SQLite parsed and planned it at every
// call, and PairsToLookUp, which a re-run under a policy calls once per
// tag, was two fifths of that re-run's CPU.
func (c *Catalog) strings(ctx context.Context, query string, args ...any) ([]string, error) {
	return scanStrings(c.readQuery(ctx, query, args...))
}
