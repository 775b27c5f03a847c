package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/google/uuid"
	digest "github.com/opencontainers/go-digest"
	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/digests"
)

// uidNamespace makes image UIDs a pure function of the image name, so two
// catalogs built from the same registry agree and a re-run is reproducible.
var uidNamespace = uuid.MustParse("6f1c3a52-8d0e-4f3b-9a57-2c1d7f0e4b10")

func validateImage(rec ImageRecord) error {
	img := rec.Image
	if img == nil {
		return errors.New("catalog: nil image")
	}
	if _, err := digests.Parse(img.Name); err != nil {
		return fmt.Errorf("catalog: image name %q is not a digest: %w", img.Name, err)
	}
	if img.DockerImageManifest == "" || img.DockerImageManifestMediaType == "" {
		return fmt.Errorf("catalog: image %s has no manifest or media type", img.Name)
	}
	if len(img.DockerImageMetadata.Raw) == 0 {
		return fmt.Errorf("catalog: image %s has no dockerImageMetadata", img.Name)
	}
	if d := rec.ConfigDigest; d != "" {
		if parsed, err := digests.Parse(d); err != nil || parsed.Algorithm() != digest.SHA256 || img.DockerImageConfig == "" {
			return fmt.Errorf("catalog: image %s: config digest %q is not the sha256 digest of a config", img.Name, d)
		}
	}
	return nil
}

func (c *Catalog) putImage(ctx context.Context, tx *batchTx, rec ImageRecord, runID int64) (Outcome, error) {
	img := rec.Image
	var configDigest any
	if img.DockerImageConfig != "" {
		d := rec.ConfigDigest
		if d == "" {
			d = digests.FromBytes(digest.Canonical, bytesOf(img.DockerImageConfig)).String()
		}
		configDigest = d
		if _, err := tx.exec(ctx, `INSERT INTO configs (digest, media_type, content) VALUES ($1, $2, $3) ON CONFLICT (digest) DO NOTHING`,
			d, rec.ConfigMediaType, bytesOf(img.DockerImageConfig)); err != nil {
			return Unchanged, fmt.Errorf("store config of %s: %w", img.Name, err)
		}
	}
	var annotations any
	if len(img.Annotations) > 0 {
		b, err := json.Marshal(img.Annotations)
		if err != nil {
			return Unchanged, err
		}
		annotations = string(b)
	}
	meta, err := indexedMetadata(rec)
	if err != nil {
		return Unchanged, fmt.Errorf("image %s: %w", img.Name, err)
	}
	var imageCreated any
	if !meta.Created.IsZero() {
		imageCreated = formatTime(meta.Created)
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
	// A true upsert rather than a look-up first: the image is nearly always
	// new, and another writer (a shard) may store the same image between a
	// look-up and the insert. The change is recorded first, for its
	// resourceVersion, and taken back if the image was there already.
	rv, err := c.recordChange(ctx, tx, "images", img.Name, "ADDED")
	if err != nil {
		return Unchanged, err
	}
	res, err := tx.exec(ctx, `INSERT INTO images (name, uid, resource_version, creation_timestamp,
		docker_image_reference, manifest_media_type, manifest, config_digest, metadata, annotations,
		architecture, os, variant, image_created, size, first_run, signature_verdict, signature_reason, source_reference)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
		ON CONFLICT (name) DO NOTHING`,
		img.Name, uuid.NewSHA1(uidNamespace, []byte(img.Name)).String(), rv, c.timestamp(),
		lookup, img.DockerImageManifestMediaType, bytesOf(img.DockerImageManifest), configDigest,
		string(img.DockerImageMetadata.Raw), annotations,
		nullable(meta.Architecture), nullable(rec.OS), nullable(rec.Variant), imageCreated, meta.Size, run, verdict, reason, source)
	if err != nil {
		return Unchanged, fmt.Errorf("store image %s: %w", img.Name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return Unchanged, fmt.Errorf("store image %s: %w", img.Name, err)
	} else if n == 0 {
		return c.imageStoredAlready(ctx, tx, rec, rv, runID)
	}
	if v := rec.Verification; v != nil {
		if _, err := c.putVerification(ctx, tx, img.Name, verificationRepository(lookup, *v), runID, false); err != nil {
			return Unchanged, err
		}
	}
	if err := c.putLayers(ctx, tx, img); err != nil {
		return Unchanged, err
	}
	if err := c.putListEntries(ctx, tx, img); err != nil {
		return Unchanged, err
	}
	if err := c.putIndexAttestations(ctx, tx, img.Name, rec.IndexAttestations); err != nil {
		return Unchanged, err
	}
	if err := c.putArtifactType(ctx, tx, img.Name, rec.ArtifactType); err != nil {
		return Unchanged, err
	}
	return Created, nil
}

// indexedMetadata is what the catalog indexes of the record's
// dockerImageMetadata: as the importer gave it, which spares decoding the
// JSON it has just encoded, or else decoded.
func indexedMetadata(rec ImageRecord) (catalog.IndexedMetadata, error) {
	if rec.Indexed != nil {
		return *rec.Indexed, nil
	}
	return catalog.IndexMetadata(rec.Image.DockerImageMetadata.Raw)
}

// imageStoredAlready takes back the change putImage recorded (rv) for an
// image the catalog held already: stored by another target of this run, an
// earlier run or another writer. The record's verification is still its
// repository's own.
func (c *Catalog) imageStoredAlready(ctx context.Context, tx *batchTx, rec ImageRecord, rv, runID int64) (Outcome, error) {
	if _, err := tx.exec(ctx, `DELETE FROM changes WHERE resource_version = $1`, rv); err != nil {
		return Unchanged, fmt.Errorf("take back change %d of image %s: %w", rv, rec.Image.Name, err)
	}
	tx.changes--
	if v := rec.Verification; v != nil {
		if _, err := c.putVerification(ctx, tx, rec.Image.Name, verificationRepository(lookupReference(rec), *v), runID, true); err != nil {
			return Unchanged, err
		}
	}
	return Unchanged, nil
}

// putLayers stores an image's layers, base first, up to the dialect's
// ChildRowsPerInsert a statement. Each row count is a statement text of its
// own, prepared once.
func (c *Catalog) putLayers(ctx context.Context, tx *batchTx, img *imagev1.Image) error {
	const cols = 5
	layers, per := img.DockerImageLayers, c.d.ChildRowsPerInsert()
	for from := 0; from < len(layers); from += per {
		chunk := layers[from:min(from+per, len(layers))]
		args := make([]any, 0, len(chunk)*cols)
		for i, l := range chunk {
			args = append(args, img.Name, from+i, l.Name, l.LayerSize, l.MediaType)
		}
		if _, err := tx.exec(ctx, `INSERT INTO image_layers (image_name, position, digest, size, media_type) VALUES `+
			valuesRows(1, len(chunk), cols), args...); err != nil {
			return fmt.Errorf("store layers %d-%d of %s: %w", from, from+len(chunk)-1, img.Name, err)
		}
	}
	return nil
}

// putListEntries stores a list's entries in order, as putLayers does.
func (c *Catalog) putListEntries(ctx context.Context, tx *batchTx, img *imagev1.Image) error {
	const cols = 8
	entries, per := img.DockerImageManifests, c.d.ChildRowsPerInsert()
	for from := 0; from < len(entries); from += per {
		chunk := entries[from:min(from+per, len(entries))]
		args := make([]any, 0, len(chunk)*cols)
		for i, m := range chunk {
			args = append(args, img.Name, from+i, m.Digest, m.MediaType, m.ManifestSize, m.Architecture, m.OS, m.Variant)
		}
		if _, err := tx.exec(ctx, `INSERT INTO image_manifests (list_name, position, digest, media_type, manifest_size, architecture, os, variant) VALUES `+
			valuesRows(1, len(chunk), cols), args...); err != nil {
			return fmt.Errorf("store list entries %d-%d of %s: %w", from, from+len(chunk)-1, img.Name, err)
		}
	}
	return nil
}

// bytesOf passes a string's bytes to the driver without copying them (a
// manifest or config is stored as a blob, and the Image holds it as a
// string). Drivers only read their arguments: go-sqlite3 binds a copy,
// pgx encodes it.
func bytesOf(s string) []byte {
	if s == "" {
		return []byte{}
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
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
	const insert = `INSERT INTO changes (resource, name, event, changed_at) VALUES ($1, $2, $3, $4)`
	var rv int64
	if c.d.InsertedIDInResult() {
		res, err := tx.exec(ctx, insert, resource, name, event, c.timestamp())
		if err == nil {
			rv, err = res.LastInsertId()
		}
		if err != nil {
			return 0, fmt.Errorf("record change of %s %s: %w", resource, name, err)
		}
	} else if err := tx.queryRow(ctx, insert+` RETURNING resource_version`,
		resource, name, event, c.timestamp()).Scan(&rv); err != nil {
		return 0, fmt.Errorf("record change of %s %s: %w", resource, name, err)
	}
	tx.changes++
	return rv, nil
}

// knownRepository is a repository row the writer has looked up or created.
type knownRepository struct {
	id int64
	// createdHere: this catalog handle inserted the row, so every tag of
	// the repository was stored through it, and the repository was not
	// marked removed (RemoveRepository forgets the entry). A cold import
	// creates every repository it stores, and its tags are all new.
	createdHere bool
}

// repository finds or creates a repository row. Rows are cached for the
// writer goroutine (the only caller); a failed batch clears the cache.
func (c *Catalog) repository(ctx context.Context, tx *batchTx, name string) (knownRepository, error) {
	if r, ok := c.repoIDs[name]; ok {
		return r, nil
	}
	// Looked up first, so that a batch that only finds what it has stored
	// already needs no write lock (lockBeforeWrite).
	var r knownRepository
	err := tx.queryRow(ctx, `SELECT id FROM repositories WHERE name = $1`, name).Scan(&r.id)
	if errors.Is(err, sql.ErrNoRows) {
		res, ierr := tx.exec(ctx, `INSERT INTO repositories (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, name)
		if ierr != nil {
			return r, fmt.Errorf("store repository %s: %w", name, ierr)
		}
		// Another writer may have inserted it since the look-up.
		n, ierr := res.RowsAffected()
		if ierr != nil {
			return r, fmt.Errorf("store repository %s: %w", name, ierr)
		}
		r.createdHere = n == 1
		err = tx.queryRow(ctx, `SELECT id FROM repositories WHERE name = $1`, name).Scan(&r.id)
	}
	if err != nil {
		return r, fmt.Errorf("look up repository %s: %w", name, err)
	}
	c.repoIDs[name] = r
	return r, nil
}

func (c *Catalog) putTag(ctx context.Context, tx *batchTx, rec TagRecord, runID int64) (Outcome, error) {
	if rec.Repository == "" || rec.Tag == "" || rec.Image == "" || strings.ContainsAny(rec.Tag, "@:/") {
		return Unchanged, fmt.Errorf("catalog: invalid tag record %q:%q -> %q", rec.Repository, rec.Tag, rec.Image)
	}
	known, err := c.repository(ctx, tx, rec.Repository)
	if err != nil {
		return Unchanged, err
	}
	repo, now := known.id, c.timestamp()
	if known.createdHere {
		// The tag is all but certainly new: inserted outright, without the
		// look-up. One that is there already (a tag written twice in a run,
		// or by another process) inserts nothing and takes the path below.
		res, err := tx.exec(ctx, `INSERT INTO tags (repository_id, tag, image_name, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (repository_id, tag) DO NOTHING`, repo, rec.Tag, rec.Image, now)
		if err != nil {
			return Unchanged, fmt.Errorf("store tag %s:%s: %w", rec.Repository, rec.Tag, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return Unchanged, fmt.Errorf("store tag %s:%s: %w", rec.Repository, rec.Tag, err)
		} else if n == 1 {
			if err := c.putTagEvent(ctx, tx, repo, rec, now, runID, "added"); err != nil {
				return Unchanged, err
			}
			return Created, nil
		}
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
	// A tag of a repository marked removed brings the repository back;
	// once per repository and transaction (RemoveRepository forgets it).
	if !tx.live[repo] {
		if _, err := tx.exec(ctx, `UPDATE repositories SET removed_at = NULL, removed_run = NULL WHERE id = $1 AND removed_at IS NOT NULL`, repo); err != nil {
			return Unchanged, fmt.Errorf("store repository %s: %w", rec.Repository, err)
		}
		tx.live[repo] = true
	}
	if _, err := tx.exec(ctx, `INSERT INTO tags (repository_id, tag, image_name, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (repository_id, tag) DO UPDATE SET image_name = excluded.image_name, updated_at = excluded.updated_at`,
		repo, rec.Tag, rec.Image, now); err != nil {
		return Unchanged, fmt.Errorf("store tag %s:%s: %w", rec.Repository, rec.Tag, err)
	}
	if err := c.putTagEvent(ctx, tx, repo, rec, now, runID, event); err != nil {
		return Unchanged, err
	}
	return outcome, nil
}

// putTagEvent records a tag's new place in its history.
func (c *Catalog) putTagEvent(ctx context.Context, tx *batchTx, repo int64, rec TagRecord, now string, runID int64, event string) error {
	if _, err := tx.exec(ctx, `INSERT INTO tag_events (repository_id, tag, image_name, docker_image_reference, created, run_id, event)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, repo, rec.Tag, rec.Image, rec.DockerImageReference, now, runOrNull(runID), event); err != nil {
		return fmt.Errorf("store history of tag %s:%s: %w", rec.Repository, rec.Tag, err)
	}
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
