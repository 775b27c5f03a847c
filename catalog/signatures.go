package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	imagev1 "github.com/openshift/api/image/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Annotations carrying the policy's verdict on served images.
const (
	AnnotationSignatureVerdict = "regimport.io/signature-verdict"
	AnnotationSignatureReason  = "regimport.io/signature-reason"
)

// SignatureRecord is one signature of an image: the raw material, kept so
// that `regimport verify` can check it again offline, and the verified result.
type SignatureRecord struct {
	Source, Type      string
	Content           []byte
	SigstoreSignature string
	Certificate       string
	Chain             string
	Bundle            string
	// Object is the ImageSignature as served (name, conditions, claims).
	Object imagev1.ImageSignature
}

// Verification is the policy's answer for an image and its signatures.
type Verification struct {
	Verdict, Reason string
	Signatures      []SignatureRecord
	// Attestations found as referrers (attestations.go); stored when
	// ReferrersChecked, which says the referrers were looked up at all.
	Attestations     []AttestationRecord
	ReferrersChecked bool
}

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

func (c *Catalog) putSignatures(ctx context.Context, tx *batchTx, image string, sigs []SignatureRecord) error {
	for i, s := range sigs {
		obj, err := json.Marshal(s.Object)
		if err != nil {
			return fmt.Errorf("encode signature %s: %w", s.Object.Name, err)
		}
		trusted, reason := conditionOf(s.Object, "Trusted")
		if _, err := tx.exec(ctx, `INSERT INTO signatures (image_name, name, position, source, type, content,
			sigstore_signature, certificate, chain, bundle, trusted, reason, signer, object)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (image_name, name) DO UPDATE SET trusted = excluded.trusted, reason = excluded.reason,
				signer = excluded.signer, object = excluded.object`,
			image, s.Object.Name, i, s.Source, s.Type, s.Content, nullable(s.SigstoreSignature), nullable(s.Certificate),
			nullable(s.Chain), nullable(s.Bundle), trusted, reason, signerOf(s.Object), string(obj)); err != nil {
			return fmt.Errorf("store signature %s: %w", s.Object.Name, err)
		}
	}
	return nil
}

// StoredSignatures returns the signatures kept for an image, in the order found.
func (c *Catalog) StoredSignatures(ctx context.Context, image string) ([]SignatureRecord, error) {
	rows, err := c.read.QueryContext(ctx, `SELECT source, type, content, sigstore_signature, certificate, chain, bundle, object
		FROM signatures WHERE image_name = ? ORDER BY position`, image)
	if err != nil {
		return nil, fmt.Errorf("signatures of %s: %w", image, err)
	}
	defer rows.Close()
	var out []SignatureRecord
	for rows.Next() {
		var s SignatureRecord
		var sig, cert, chain, bundle sql.NullString
		var obj string
		if err := rows.Scan(&s.Source, &s.Type, &s.Content, &sig, &cert, &chain, &bundle, &obj); err != nil {
			return nil, err
		}
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
	out, err := c.strings(ctx, `SELECT name FROM images WHERE name > ? ORDER BY name LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list image names: %w", err)
	}
	return out, nil
}

// UpdateVerification replaces an image's verdict and its signatures'
// results. Only when something a client would see changed does the image get
// a MODIFIED change and a new resourceVersion; the probe times of conditions
// alone are not a change.
func (c *Catalog) UpdateVerification(ctx context.Context, image string, v Verification) (changed bool, err error) {
	if c.write == nil {
		return false, ErrReadOnly
	}
	old, err := c.GetImage(ctx, image)
	if err != nil {
		return false, err
	}
	if !verificationChanged(old, v) {
		// Attestations are not part of the served Image: their new results
		// are stored without a new resourceVersion.
		return false, c.refreshAttestations(ctx, image, v)
	}
	tx, err := c.write.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("update verification of %s: %w", image, err)
	}
	defer tx.Rollback()
	btx := &batchTx{tx: tx, stmts: map[string]*sql.Stmt{}}
	rv, err := c.recordChange(ctx, btx, "images", image, "MODIFIED")
	if err != nil {
		return false, err
	}
	if _, err := btx.exec(ctx, `UPDATE images SET signature_verdict = ?, signature_reason = ?, resource_version = ? WHERE name = ?`,
		nullable(v.Verdict), nullable(v.Reason), rv, image); err != nil {
		return false, fmt.Errorf("update verdict of %s: %w", image, err)
	}
	if _, err := btx.exec(ctx, `DELETE FROM signatures WHERE image_name = ?`, image); err != nil {
		return false, err
	}
	if err := c.putSignatures(ctx, btx, image, v.Signatures); err != nil {
		return false, err
	}
	if err := c.putAttestations(ctx, btx, image, v); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("update verification of %s: %w", image, err)
	}
	return true, nil
}

// verificationChanged compares what a client sees, ignoring condition times.
func verificationChanged(old *imagev1.Image, v Verification) bool {
	if old.Annotations[AnnotationSignatureVerdict] != v.Verdict || old.Annotations[AnnotationSignatureReason] != v.Reason {
		return true
	}
	if len(old.Signatures) != len(v.Signatures) {
		return true
	}
	for i := range v.Signatures {
		a, b := old.Signatures[i], v.Signatures[i].Object
		if !sameSignature(a, b) {
			return true
		}
	}
	return false
}

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
	rows, err := c.txQuery(ctx, tx, set.contiguous, `SELECT image_name, object FROM signatures WHERE `+where+` ORDER BY image_name, position`, args...)
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
		WHERE t.image_name = ? ORDER BY 1`, image)
	if err != nil {
		return nil, fmt.Errorf("tags of %s: %w", image, err)
	}
	return out, nil
}

// ListsContaining returns the manifest lists an image is an entry of.
func (c *Catalog) ListsContaining(ctx context.Context, image string) ([]string, error) {
	out, err := c.strings(ctx, `SELECT DISTINCT list_name FROM image_manifests WHERE digest = ? ORDER BY 1`, image)
	if err != nil {
		return nil, fmt.Errorf("lists containing %s: %w", image, err)
	}
	return out, nil
}

// strings runs a one-column query on the read pool.
func (c *Catalog) strings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := c.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
