package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	digest "github.com/opencontainers/go-digest"
)

// uidNamespace makes image UIDs a pure function of the image name, so two
// catalogs built from the same registry agree and a re-run is reproducible.
var uidNamespace = uuid.MustParse("6f1c3a52-8d0e-4f3b-9a57-2c1d7f0e4b10")

func validateImage(rec ImageRecord) error {
	img := rec.Image
	if img == nil {
		return errors.New("catalog: nil image")
	}
	if _, err := digest.Parse(img.Name); err != nil {
		return fmt.Errorf("catalog: image name %q is not a digest: %w", img.Name, err)
	}
	if img.DockerImageManifest == "" || img.DockerImageManifestMediaType == "" {
		return fmt.Errorf("catalog: image %s has no manifest or media type", img.Name)
	}
	if len(img.DockerImageMetadata.Raw) == 0 {
		return fmt.Errorf("catalog: image %s has no dockerImageMetadata", img.Name)
	}
	return nil
}

func (c *Catalog) putImage(ctx context.Context, tx *batchTx, rec ImageRecord, runID int64) (Outcome, error) {
	img := rec.Image
	var one int
	err := tx.queryRow(ctx, `SELECT 1 FROM images WHERE name = $1`, img.Name).Scan(&one)
	if err == nil {
		// Stored by another target of this run or an earlier one: this
		// record's verification is still its repository's own.
		if v := rec.Verification; v != nil {
			if _, err := c.putVerification(ctx, tx, img.Name, verificationRepository(lookupReference(rec), *v), runID, true); err != nil {
				return Unchanged, err
			}
		}
		return Unchanged, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Unchanged, fmt.Errorf("look up image %s: %w", img.Name, err)
	}

	var configDigest any
	if img.DockerImageConfig != "" {
		d := digest.FromString(img.DockerImageConfig)
		configDigest = d.String()
		if _, err := tx.exec(ctx, `INSERT INTO configs (digest, media_type, content) VALUES ($1, $2, $3) ON CONFLICT (digest) DO NOTHING`,
			d.String(), rec.ConfigMediaType, []byte(img.DockerImageConfig)); err != nil {
			return Unchanged, fmt.Errorf("store config of %s: %w", img.Name, err)
		}
	}
	rv, err := c.recordChange(ctx, tx, "images", img.Name, "ADDED")
	if err != nil {
		return Unchanged, err
	}
	var annotations any
	if len(img.Annotations) > 0 {
		b, err := json.Marshal(img.Annotations)
		if err != nil {
			return Unchanged, err
		}
		annotations = string(b)
	}
	meta, err := decodeMetadata(img.DockerImageMetadata.Raw)
	if err != nil {
		return Unchanged, fmt.Errorf("image %s: %w", img.Name, err)
	}
	var imageCreated any
	if !meta.Created.IsZero() {
		imageCreated = formatTime(meta.Created.Time)
	}
	run := runOrNull(runID)
	// The normalized reference is the lookup key; the spelling as written
	// is kept beside it only where it differs.
	lookup, source := img.DockerImageReference, any(nil)
	if rec.LookupReference != "" && rec.LookupReference != lookup {
		lookup, source = rec.LookupReference, img.DockerImageReference
	}
	var verdict, reason any
	if v := rec.Verification; v != nil {
		verdict, reason = nullable(string(v.Verdict)), nullable(v.Reason)
	}
	_, err = tx.exec(ctx, `INSERT INTO images (name, uid, resource_version, creation_timestamp,
		docker_image_reference, manifest_media_type, manifest, config_digest, metadata, annotations,
		architecture, os, variant, image_created, size, first_run, signature_verdict, signature_reason, source_reference)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
		img.Name, uuid.NewSHA1(uidNamespace, []byte(img.Name)).String(), rv, c.timestamp(),
		lookup, img.DockerImageManifestMediaType, []byte(img.DockerImageManifest), configDigest,
		string(img.DockerImageMetadata.Raw), annotations,
		nullable(meta.Architecture), nullable(rec.OS), nullable(rec.Variant), imageCreated, meta.Size, run, verdict, reason, source)
	if err != nil {
		return Unchanged, fmt.Errorf("store image %s: %w", img.Name, err)
	}
	if v := rec.Verification; v != nil {
		if _, err := c.putVerification(ctx, tx, img.Name, verificationRepository(lookup, *v), runID, false); err != nil {
			return Unchanged, err
		}
	}
	for i, l := range img.DockerImageLayers {
		if _, err := tx.exec(ctx, `INSERT INTO image_layers (image_name, position, digest, size, media_type) VALUES ($1, $2, $3, $4, $5)`,
			img.Name, i, l.Name, l.LayerSize, l.MediaType); err != nil {
			return Unchanged, fmt.Errorf("store layer %d of %s: %w", i, img.Name, err)
		}
	}
	for i, m := range img.DockerImageManifests {
		if _, err := tx.exec(ctx, `INSERT INTO image_manifests (list_name, position, digest, media_type, manifest_size, architecture, os, variant)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, img.Name, i, m.Digest, m.MediaType, m.ManifestSize, m.Architecture, m.OS, m.Variant); err != nil {
			return Unchanged, fmt.Errorf("store list entry %d of %s: %w", i, img.Name, err)
		}
	}
	if err := c.putIndexAttestations(ctx, tx, img.Name, rec.IndexAttestations); err != nil {
		return Unchanged, err
	}
	if err := c.putArtifactType(ctx, tx, img.Name, rec.ArtifactType); err != nil {
		return Unchanged, err
	}
	return Created, nil
}

// verificationRepository fills in the repository of a verification
// without one: the image's dockerImageReference repository.
// lookupReference is the normalized repository@digest of the record.
func lookupReference(rec ImageRecord) string {
	if rec.LookupReference != "" {
		return rec.LookupReference
	}
	return rec.Image.DockerImageReference
}

// verificationRepository gives a verification without a repository the
// repository of lookup, the image's normalized repository@digest: verdicts
// are keyed by the normalized name, never by the user's spelling.
func verificationRepository(lookup string, v Verification) Verification {
	if v.Repository == "" {
		v.Repository, _, _ = strings.Cut(lookup, "@")
	}
	return v
}

func (c *Catalog) recordChange(ctx context.Context, tx *batchTx, resource, name, event string) (int64, error) {
	var rv int64
	if err := tx.queryRow(ctx, `INSERT INTO changes (resource, name, event, changed_at) VALUES ($1, $2, $3, $4) RETURNING resource_version`,
		resource, name, event, c.timestamp()).Scan(&rv); err != nil {
		return 0, fmt.Errorf("record change of %s %s: %w", resource, name, err)
	}
	tx.changed = true
	return rv, nil
}

// repositoryID finds or creates a repository row. Ids are cached for the
// writer goroutine (the only caller); a failed batch clears the cache.
func (c *Catalog) repositoryID(ctx context.Context, tx *batchTx, name string) (int64, error) {
	if id, ok := c.repoIDs[name]; ok {
		return id, nil
	}
	if _, err := tx.exec(ctx, `INSERT INTO repositories (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, name); err != nil {
		return 0, fmt.Errorf("store repository %s: %w", name, err)
	}
	var id int64
	if err := tx.queryRow(ctx, `SELECT id FROM repositories WHERE name = $1`, name).Scan(&id); err != nil {
		return 0, fmt.Errorf("look up repository %s: %w", name, err)
	}
	c.repoIDs[name] = id
	return id, nil
}

func (c *Catalog) putTag(ctx context.Context, tx *batchTx, rec TagRecord, runID int64) (Outcome, error) {
	if rec.Repository == "" || rec.Tag == "" || rec.Image == "" || strings.ContainsAny(rec.Tag, "@:/") {
		return Unchanged, fmt.Errorf("catalog: invalid tag record %q:%q -> %q", rec.Repository, rec.Tag, rec.Image)
	}
	repo, err := c.repositoryID(ctx, tx, rec.Repository)
	if err != nil {
		return Unchanged, err
	}
	var current string
	err = tx.queryRow(ctx, `SELECT image_name FROM tags WHERE repository_id = $1 AND tag = $2`, repo, rec.Tag).Scan(&current)
	outcome, event := Created, "added"
	switch {
	case err == nil && current == rec.Image:
		return Unchanged, nil
	case err == nil:
		outcome, event = Updated, "moved"
	case !errors.Is(err, sql.ErrNoRows):
		return Unchanged, fmt.Errorf("look up tag %s:%s: %w", rec.Repository, rec.Tag, err)
	}
	// A tag of a repository marked removed brings the repository back.
	if _, err := tx.exec(ctx, `UPDATE repositories SET removed_at = NULL, removed_run = NULL WHERE id = $1 AND removed_at IS NOT NULL`, repo); err != nil {
		return Unchanged, fmt.Errorf("store repository %s: %w", rec.Repository, err)
	}
	now := c.timestamp()
	if _, err := tx.exec(ctx, `INSERT INTO tags (repository_id, tag, image_name, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (repository_id, tag) DO UPDATE SET image_name = excluded.image_name, updated_at = excluded.updated_at`,
		repo, rec.Tag, rec.Image, now); err != nil {
		return Unchanged, fmt.Errorf("store tag %s:%s: %w", rec.Repository, rec.Tag, err)
	}
	run := runOrNull(runID)
	if _, err := tx.exec(ctx, `INSERT INTO tag_events (repository_id, tag, image_name, docker_image_reference, created, run_id, event)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, repo, rec.Tag, rec.Image, rec.DockerImageReference, now, run, event); err != nil {
		return Unchanged, fmt.Errorf("store history of tag %s:%s: %w", rec.Repository, rec.Tag, err)
	}
	return outcome, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
