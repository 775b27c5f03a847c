package sqlstore

import (
	"context"
	"fmt"
)

// putAttestations replaces the attestations of an image when its referrers
// were looked up; otherwise what is stored stays. An image stored by the
// same operation (newImage) has none to replace: they reference images.
func (c *Catalog) putAttestations(ctx context.Context, tx *batchTx, image string, v Verification, newImage bool) error {
	if !v.ReferrersChecked {
		return nil
	}
	if !newImage {
		if _, err := tx.exec(ctx, `DELETE FROM attestations WHERE image_name = $1`, image); err != nil {
			return fmt.Errorf("replace attestations of %s: %w", image, err)
		}
	}
	for i, a := range v.Attestations {
		if _, err := tx.exec(ctx, `INSERT INTO attestations (image_name, position, referrer, predicate_type, signer, verified, reason, message, content)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, image, i, a.Referrer, a.PredicateType, a.Signer, a.Verified, a.Reason, a.Message, a.Content); err != nil {
			return fmt.Errorf("store attestation %d of %s: %w", i, image, err)
		}
	}
	if _, err := tx.exec(ctx, `INSERT INTO referrer_lookups (image_name, checked_at) VALUES ($1, $2)
		ON CONFLICT (image_name) DO UPDATE SET checked_at = excluded.checked_at`, image, c.timestamp()); err != nil {
		return fmt.Errorf("record referrer lookup of %s: %w", image, err)
	}
	return nil
}

// StoredAttestations returns the attestations kept for an image, in the order
// found, and whether its referrers were ever looked up.
func (c *Catalog) StoredAttestations(ctx context.Context, image string) ([]AttestationRecord, bool, error) {
	var n int
	if err := c.readRow(ctx, `SELECT count(*) FROM referrer_lookups WHERE image_name = $1`, image).Scan(&n); err != nil {
		return nil, false, fmt.Errorf("referrer lookups of %s: %w", image, err)
	}
	rows, err := c.readQuery(ctx, `SELECT referrer, predicate_type, signer, verified, reason, message, content
		FROM attestations WHERE image_name = $1 ORDER BY position`, image)
	if err != nil {
		return nil, false, fmt.Errorf("attestations of %s: %w", image, err)
	}
	defer rows.Close()
	var out []AttestationRecord
	for rows.Next() {
		var a AttestationRecord
		if err := rows.Scan(&a.Referrer, &a.PredicateType, &a.Signer, &a.Verified, &a.Reason, &a.Message, &a.Content); err != nil {
			return nil, false, fmt.Errorf("attestations of %s: %w", image, err)
		}
		out = append(out, a)
	}
	return out, n > 0, rows.Err()
}
