package catalog

import (
	"context"
	"encoding/json"
	"fmt"
)

// IndexAttestation is one in-toto statement of a BuildKit attestation
// manifest found in an OCI index, kept as an attestation of the image the
// manifest references (vnd.docker.reference.digest). The attestation
// manifest itself is not an image: no runtime pulls it, so it has no row of
// images, no verdict and no entry in the list's dockerImageManifests.
type IndexAttestation struct {
	Manifest string // digest of the attestation manifest
	Position int    // layer index in the attestation manifest
	Image    string // the image attested
	// InIndex is false when the referenced image is not an entry of the
	// index (recorded, and warned about, all the same).
	InIndex       bool
	PredicateType string
	// BuilderID and Materials are read from SLSA provenance (v0.2:
	// builder.id and materials; v1: runDetails.builder.id and
	// buildDefinition.resolvedDependencies).
	BuilderID string
	Materials []string
	// Readable is false when the statement could not be fetched, was not
	// JSON or was over its cap; Reason says which.
	Readable bool
	Reason   string
	Content  []byte // the statement as found, within its cap
}

// putIndexAttestations stores the BuildKit attestations of a list with
// the list (its content: they never change for one digest).
func (c *Catalog) putIndexAttestations(ctx context.Context, tx *batchTx, list string, atts []IndexAttestation) error {
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
func (c *Catalog) IndexAttestations(ctx context.Context, image string) ([]IndexAttestation, error) {
	rows, err := c.read.QueryContext(ctx, `SELECT manifest, position, image_name, in_index, predicate_type, builder_id, materials, readable, reason, content
		FROM index_attestations WHERE image_name = $1 ORDER BY list_name, manifest, position`, image)
	if err != nil {
		return nil, fmt.Errorf("index attestations of %s: %w", image, err)
	}
	defer rows.Close()
	var out []IndexAttestation
	for rows.Next() {
		var a IndexAttestation
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
