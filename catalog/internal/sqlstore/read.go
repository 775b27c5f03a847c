package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	imagev1 "github.com/openshift/api/image/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// imageColumns are the columns loadImages scans; the served
// dockerImageReference is the spelling as written where one was kept.
const imageColumns = `name, uid, resource_version, creation_timestamp, coalesce(source_reference, docker_image_reference),
	manifest_media_type, manifest, metadata, annotations, config_digest, signature_verdict, signature_reason`

// imageColumnsWithoutRaw is imageColumns with the raw manifest left unread.
const imageColumnsWithoutRaw = `name, uid, resource_version, creation_timestamp, coalesce(source_reference, docker_image_reference),
	manifest_media_type, NULL, metadata, annotations, config_digest, signature_verdict, signature_reason`

// ResourceVersion is the newest resourceVersion of the catalog (0 when empty).
func (c *Catalog) ResourceVersion(ctx context.Context) (int64, error) {
	return resourceVersion(ctx, c.read)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func resourceVersion(ctx context.Context, q querier) (int64, error) {
	var rv sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT max(resource_version) FROM changes`).Scan(&rv); err != nil {
		return 0, fmt.Errorf("read resourceVersion: %w", err)
	}
	return rv.Int64, nil
}

// HasImage reports whether an image of that name is stored.
func (c *Catalog) HasImage(ctx context.Context, name string) (bool, error) {
	var one int
	err := c.readRow(ctx, `SELECT 1 FROM images WHERE name = $1`, name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up image %s: %w", name, err)
	}
	return true, nil
}

// Config returns a stored config blob by digest, or ErrNotFound.
func (c *Catalog) Config(ctx context.Context, digest string) ([]byte, error) {
	var b []byte
	err := c.readRow(ctx, `SELECT content FROM configs WHERE digest = $1`, digest).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("config %s: %w", digest, ErrNotFound)
	}
	return b, err
}

// GetImage returns one image in the served schema, or an error wrapping ErrNotFound.
func (c *Catalog) GetImage(ctx context.Context, name string) (*imagev1.Image, error) {
	tx, err := c.beginRead(ctx)
	if err != nil {
		return nil, fmt.Errorf("get image %s: %w", name, err)
	}
	defer tx.Rollback()
	imgs, err := c.loadImages(ctx, tx, true, true, `SELECT `+imageColumns+` FROM images WHERE name = $1`, name)
	if err != nil {
		return nil, fmt.Errorf("get image %s: %w", name, err)
	}
	if len(imgs) == 0 {
		return nil, fmt.Errorf("image %s: %w", name, ErrNotFound)
	}
	return &imgs[0], nil
}

// ListImages returns images in name order, read in one transaction so the
// page and its resourceVersion agree. Paging by name means a walk sees every
// image that existed when it started exactly once, even while a writer adds more.
func (c *Catalog) ListImages(ctx context.Context, opts ListOptions) (ImagePage, error) {
	tx, err := c.beginRead(ctx)
	if err != nil {
		return ImagePage{}, fmt.Errorf("list images: %w", err)
	}
	defer tx.Rollback()
	var page ImagePage
	if page.ResourceVersion, err = resourceVersion(ctx, tx); err != nil {
		return page, err
	}
	where, args := []string{"name > $1"}, []any{opts.After}
	if len(opts.Names) > 0 {
		where = append(where, "name IN ("+placeholders(2, len(opts.Names))+")")
		for _, n := range opts.Names {
			args = append(args, n)
		}
	}
	columns := imageColumns
	if opts.WithoutRaw {
		columns = imageColumnsWithoutRaw
	}
	q := `SELECT ` + columns + ` FROM images WHERE ` + strings.Join(where, " AND ") + ` ORDER BY name LIMIT ` + placeholder(len(args)+1)
	limit := noLimit
	if opts.Limit > 0 {
		limit = int64(opts.Limit)
	}
	args = append(args, limit)
	if page.Items, err = c.loadImages(ctx, tx, len(opts.Names) == 0, !opts.WithoutRaw, q, args...); err != nil {
		return page, fmt.Errorf("list images: %w", err)
	}
	if opts.Limit > 0 && len(page.Items) == opts.Limit {
		last := page.Items[len(page.Items)-1].Name
		cq := `SELECT count(*) FROM images WHERE name > $1`
		cargs := []any{last}
		if len(opts.Names) > 0 {
			cq += ` AND ` + where[1]
			cargs = append(cargs, args[1:len(args)-1]...)
		}
		if err := tx.QueryRowContext(ctx, cq, cargs...).Scan(&page.Remaining); err != nil {
			return page, fmt.Errorf("list images: count the rest: %w", err)
		}
	}
	return page, nil
}

// loadImages runs an image query and fills layers, list entries, configs
// and signatures with one query each for the whole result, not one per
// image. contiguous says the result is every image between its first and
// last name (a page, a get): the follow-up queries then select that name
// range with fixed SQL, prepared once per connection. raw says whether the
// configs are read (the query decides for the manifest).
func (c *Catalog) loadImages(ctx context.Context, tx *sql.Tx, contiguous, raw bool, query string, args ...any) ([]imagev1.Image, error) {
	rows, err := c.txQuery(ctx, tx, contiguous, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var imgs []imagev1.Image
	index := map[string]int{}
	for rows.Next() {
		var (
			img                       imagev1.Image
			uid, created, meta        string
			rv                        int64
			manifest                  []byte
			annotations, configDigest sql.NullString
			verdict, reason           sql.NullString
		)
		if err := rows.Scan(&img.Name, &uid, &rv, &created, &img.DockerImageReference,
			&img.DockerImageManifestMediaType, &manifest, &meta, &annotations, &configDigest, &verdict, &reason); err != nil {
			return nil, err
		}
		img.TypeMeta = metav1.TypeMeta{Kind: "Image", APIVersion: imagev1.GroupVersion.String()}
		img.UID = types.UID(uid)
		img.ResourceVersion = strconv.FormatInt(rv, 10)
		img.CreationTimestamp = metav1.NewTime(parseTime(created))
		img.DockerImageManifest = string(manifest)
		img.DockerImageMetadata = runtime.RawExtension{Raw: []byte(meta)}
		img.DockerImageMetadataVersion = "1.0"
		if annotations.Valid {
			if err := json.Unmarshal([]byte(annotations.String), &img.Annotations); err != nil {
				return nil, fmt.Errorf("image %s: annotations: %w", img.Name, err)
			}
		}
		setVerdict(&img, verdict, reason)
		index[img.Name] = len(imgs)
		imgs = append(imgs, img)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(imgs) == 0 {
		return imgs, nil
	}
	set := newImageSet(imgs, index, contiguous)
	loads := []func(context.Context, *sql.Tx, imageSet) error{c.loadLayers, c.loadListEntries, c.loadSignatures, c.loadVerdicts}
	if raw {
		loads = append(loads, c.loadConfigs)
	}
	for _, load := range loads {
		if err := load(ctx, tx, set); err != nil {
			return nil, err
		}
	}
	return imgs, nil
}

// imageSet is the result of an image query, for the follow-up queries.
type imageSet struct {
	imgs       []imagev1.Image
	index      map[string]int
	contiguous bool
}

func newImageSet(imgs []imagev1.Image, index map[string]int, contiguous bool) imageSet {
	return imageSet{imgs: imgs, index: index, contiguous: contiguous}
}

// where selects the set's images by column: a name range, or an IN list.
func (s imageSet) where(column string) (string, []any) {
	if s.contiguous {
		return column + " BETWEEN $1 AND $2", []any{s.imgs[0].Name, s.imgs[len(s.imgs)-1].Name}
	}
	args := make([]any, len(s.imgs))
	for i := range s.imgs {
		args[i] = s.imgs[i].Name
	}
	return column + " IN (" + placeholders(1, len(args)) + ")", args
}

// at returns the set's image of that name; a range may hold others.
func (s imageSet) at(name string) *imagev1.Image {
	if i, ok := s.index[name]; ok {
		return &s.imgs[i]
	}
	return nil
}

// txQuery runs a query in tx; fixed SQL goes through the statement cache.
func (c *Catalog) txQuery(ctx context.Context, tx *sql.Tx, cached bool, query string, args ...any) (*sql.Rows, error) {
	if cached {
		// The transaction holds a connection of the read pool: preparing
		// here would wait for a second one, and with every connection held
		// by such a transaction, forever. Use the statement if it is
		// prepared; else run the query as it is and prepare it aside.
		if st, ok := c.readStmts.peek(query); ok {
			return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
		}
		c.readStmts.prepareLater(query)
	}
	return tx.QueryContext(ctx, query, args...)
}

func (c *Catalog) loadLayers(ctx context.Context, tx *sql.Tx, set imageSet) error {
	where, args := set.where("image_name")
	rows, err := c.txQuery(ctx, tx, set.contiguous, `SELECT image_name, digest, size, media_type FROM image_layers
		WHERE `+where+` ORDER BY image_name, position`, args...)
	if err != nil {
		return fmt.Errorf("load layers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var l imagev1.ImageLayer
		if err := rows.Scan(&name, &l.Name, &l.LayerSize, &l.MediaType); err != nil {
			return err
		}
		if img := set.at(name); img != nil {
			img.DockerImageLayers = append(img.DockerImageLayers, l)
		}
	}
	return rows.Err()
}

func (c *Catalog) loadListEntries(ctx context.Context, tx *sql.Tx, set imageSet) error {
	where, args := set.where("list_name")
	rows, err := c.txQuery(ctx, tx, set.contiguous, `SELECT list_name, digest, media_type, manifest_size, architecture, os, variant
		FROM image_manifests WHERE `+where+` ORDER BY list_name, position`, args...)
	if err != nil {
		return fmt.Errorf("load list entries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var m imagev1.ImageManifest
		if err := rows.Scan(&name, &m.Digest, &m.MediaType, &m.ManifestSize, &m.Architecture, &m.OS, &m.Variant); err != nil {
			return err
		}
		if img := set.at(name); img != nil {
			img.DockerImageManifests = append(img.DockerImageManifests, m)
		}
	}
	return rows.Err()
}

func (c *Catalog) loadConfigs(ctx context.Context, tx *sql.Tx, set imageSet) error {
	where, args := set.where("i.name")
	rows, err := c.txQuery(ctx, tx, set.contiguous, `SELECT i.name, c.content FROM images i JOIN configs c ON c.digest = i.config_digest
		WHERE `+where, args...)
	if err != nil {
		return fmt.Errorf("load configs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var content []byte
		if err := rows.Scan(&name, &content); err != nil {
			return err
		}
		if img := set.at(name); img != nil {
			img.DockerImageConfig = string(content)
		}
	}
	return rows.Err()
}

// TagImage returns the image a repository's tag points at, or "" when the
// catalog has never seen the tag.
func (c *Catalog) TagImage(ctx context.Context, repository, tag string) (string, error) {
	var name string
	err := c.readRow(ctx, `SELECT t.image_name FROM tags t JOIN repositories r ON r.id = t.repository_id
		WHERE r.name = $1 AND t.tag = $2`, repository, tag).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up tag %s:%s: %w", repository, tag, err)
	}
	return name, nil
}
