package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"github.com/regimport/regimport/catalog"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"
	imagev1 "github.com/openshift/api/image/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// PutImageStream queues an image stream change. done gets the stream as
// stored (nil when there is none), Created, Updated or Unchanged, and the
// error that stopped the change; tag events whose image is not in the
// catalog are refused (foreign key), so a stream never points at nothing.
func (w *Writer) PutImageStream(ctx context.Context, u StreamUpdate, done func(*imagev1.ImageStream, Outcome, error)) error {
	if done == nil {
		done = func(*imagev1.ImageStream, Outcome, error) {}
	}
	if u.Namespace == "" || u.Name == "" || strings.Contains(u.Namespace+u.Name, "/") || u.Apply == nil {
		done(nil, Unchanged, fmt.Errorf("catalog: invalid image stream update %q/%q", u.Namespace, u.Name))
		return nil
	}
	var stored *imagev1.ImageStream
	return w.enqueue(ctx, op{
		apply: func(ctx context.Context, tx *batchTx) (Outcome, error) {
			if err := tx.lock(ctx); err != nil {
				return Unchanged, err
			}
			out, is, err := w.c.putImageStream(ctx, tx, u)
			stored = is
			return out, err
		},
		done: func(o Outcome, err error) {
			if err != nil {
				done(nil, o, err)
				return
			}
			done(stored, o, nil)
		},
	})
}

// GetImageStream returns one image stream, or an error wrapping ErrNotFound.
func (c *Catalog) GetImageStream(ctx context.Context, namespace, name string) (*imagev1.ImageStream, error) {
	tx, err := c.beginRead(ctx)
	if err != nil {
		return nil, fmt.Errorf("get image stream %s/%s: %w", namespace, name, err)
	}
	defer tx.Rollback()
	streams, err := loadStreams(ctx, tx, c.d, "full_name = $1", []any{namespace + "/" + name}, 0)
	if err != nil {
		return nil, fmt.Errorf("get image stream %s/%s: %w", namespace, name, err)
	}
	if len(streams) == 0 {
		return nil, fmt.Errorf("image stream %s/%s: %w", namespace, name, ErrNotFound)
	}
	return &streams[0], nil
}

// ListImageStreams returns image streams of one namespace ("" for all) in
// namespace/name order, after the stream named `after` ("namespace/name",
// "" from the start), at most limit of them (0: all), read in one
// transaction together with the catalog's resourceVersion. remaining counts
// the streams after the page.
func (c *Catalog) ListImageStreams(ctx context.Context, namespace, after string, limit int) (items []imagev1.ImageStream, rv, remaining int64, err error) {
	tx, err := c.beginRead(ctx)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("list image streams: %w", err)
	}
	defer tx.Rollback()
	if rv, err = resourceVersion(ctx, tx); err != nil {
		return nil, 0, 0, err
	}
	where, args := "full_name > $1", []any{after}
	if namespace != "" {
		where, args = where+" AND namespace = $2", append(args, namespace)
	}
	if items, err = loadStreams(ctx, tx, c.d, where, args, limit); err != nil {
		return nil, 0, 0, fmt.Errorf("list image streams: %w", err)
	}
	if limit > 0 && len(items) == limit {
		last := items[len(items)-1]
		cargs := append([]any{last.Namespace + "/" + last.Name}, args[1:]...)
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM image_streams WHERE `+where, cargs...).Scan(&remaining); err != nil {
			return nil, 0, 0, fmt.Errorf("list image streams: count the rest: %w", err)
		}
	}
	return items, rv, remaining, nil
}

func (c *Catalog) putImageStream(ctx context.Context, tx *batchTx, u StreamUpdate) (Outcome, *imagev1.ImageStream, error) {
	key := u.Namespace + "/" + u.Name
	found, err := loadStreams(ctx, tx.tx, c.d, "full_name = $1", []any{key}, 0)
	if err != nil {
		return Unchanged, nil, fmt.Errorf("load image stream %s: %w", key, err)
	}
	var current, arg *imagev1.ImageStream
	if len(found) > 0 {
		current, arg = &found[0], found[0].DeepCopy()
	}
	next, err := u.Apply(arg)
	if err != nil {
		return Unchanged, nil, fmt.Errorf("image stream %s: %w", key, err)
	}
	if next == nil {
		return Unchanged, current, nil
	}
	event, outcome := "MODIFIED", Updated
	if current == nil {
		event, outcome = "ADDED", Created
	}
	rv, err := c.recordChange(ctx, tx, "imagestreams", key, event)
	if err != nil {
		return Unchanged, nil, err
	}
	labels, err := jsonOrNull(next.Labels)
	if err != nil {
		return Unchanged, nil, err
	}
	annotations, err := jsonOrNull(next.Annotations)
	if err != nil {
		return Unchanged, nil, err
	}
	var id int64
	if current == nil {
		if err := tx.queryRow(ctx, `INSERT INTO image_streams (full_name, namespace, name, uid, resource_version,
			creation_timestamp, generation, labels, annotations, lookup_local) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
			key, u.Namespace, u.Name, uuid.NewSHA1(uidNamespace, []byte("imagestreams/"+key)).String(), rv,
			c.timestamp(), next.Generation, labels, annotations, next.Spec.LookupPolicy.Local).Scan(&id); err != nil {
			return Unchanged, nil, fmt.Errorf("store image stream %s: %w", key, err)
		}
		current = &imagev1.ImageStream{}
	} else {
		if err := tx.queryRow(ctx, `SELECT id FROM image_streams WHERE full_name = $1`, key).Scan(&id); err != nil {
			return Unchanged, nil, fmt.Errorf("look up image stream %s: %w", key, err)
		}
		if _, err := tx.exec(ctx, `UPDATE image_streams SET resource_version = $1, generation = $2, labels = $3,
			annotations = $4, lookup_local = $5 WHERE id = $6`, rv, next.Generation, labels, annotations, next.Spec.LookupPolicy.Local, id); err != nil {
			return Unchanged, nil, fmt.Errorf("store image stream %s: %w", key, err)
		}
	}
	if err := putSpecTags(ctx, tx, id, current.Spec.Tags, next.Spec.Tags); err != nil {
		return Unchanged, nil, fmt.Errorf("store spec tags of image stream %s: %w", key, err)
	}
	if err := putStatusTags(ctx, tx, id, current.Status.Tags, next.Status.Tags); err != nil {
		return Unchanged, nil, fmt.Errorf("store tag history of image stream %s: %w", key, err)
	}
	stored, err := loadStreams(ctx, tx.tx, c.d, "id = $1", []any{id}, 0)
	if err == nil && len(stored) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return Unchanged, nil, fmt.Errorf("read back image stream %s: %w", key, err)
	}
	return outcome, &stored[0], nil
}

// putSpecTags writes only the spec tags that changed.
func putSpecTags(ctx context.Context, tx *batchTx, id int64, old, next []imagev1.TagReference) error {
	before := map[string]imagev1.TagReference{}
	for _, t := range old {
		before[t.Name] = t
	}
	for _, t := range next {
		if prev, ok := before[t.Name]; ok && equality.Semantic.DeepEqual(prev, t) {
			delete(before, t.Name)
			continue
		}
		delete(before, t.Name)
		annotations, err := jsonOrNull(t.Annotations)
		if err != nil {
			return err
		}
		var from corev1.ObjectReference
		if t.From != nil {
			from = *t.From
		}
		var gen any
		if t.Generation != nil {
			gen = *t.Generation
		}
		if _, err := tx.exec(ctx, `INSERT INTO image_stream_spec_tags (stream_id, tag, annotations, from_kind,
			from_namespace, from_name, reference, generation, insecure, scheduled, import_mode, reference_policy)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (stream_id, tag) DO UPDATE SET annotations = excluded.annotations, from_kind = excluded.from_kind,
			from_namespace = excluded.from_namespace, from_name = excluded.from_name, reference = excluded.reference,
			generation = excluded.generation, insecure = excluded.insecure, scheduled = excluded.scheduled,
			import_mode = excluded.import_mode, reference_policy = excluded.reference_policy`, id, t.Name, annotations, from.Kind, from.Namespace, from.Name,
			t.Reference, gen, t.ImportPolicy.Insecure, t.ImportPolicy.Scheduled, string(t.ImportPolicy.ImportMode),
			string(t.ReferencePolicy.Type)); err != nil {
			return fmt.Errorf("tag %s: %w", t.Name, err)
		}
	}
	for name := range before {
		if _, err := tx.exec(ctx, `DELETE FROM image_stream_spec_tags WHERE stream_id = $1 AND tag = $2`, id, name); err != nil {
			return fmt.Errorf("tag %s: %w", name, err)
		}
	}
	return nil
}

// putStatusTags rewrites the history and conditions of the tags that changed.
func putStatusTags(ctx context.Context, tx *batchTx, id int64, old, next []imagev1.NamedTagEventList) error {
	before := map[string]imagev1.NamedTagEventList{}
	for _, t := range old {
		before[t.Tag] = t
	}
	drop := func(tag string) error {
		if _, err := tx.exec(ctx, `DELETE FROM image_stream_tag_events WHERE stream_id = $1 AND tag = $2`, id, tag); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `DELETE FROM image_stream_conditions WHERE stream_id = $1 AND tag = $2`, id, tag)
		return err
	}
	for _, t := range next {
		prev, ok := before[t.Tag]
		delete(before, t.Tag)
		if ok && equality.Semantic.DeepEqual(prev, t) {
			continue
		}
		if err := drop(t.Tag); err != nil {
			return fmt.Errorf("tag %s: %w", t.Tag, err)
		}
		for i, e := range t.Items {
			if e.Image == "" || e.DockerImageReference == "" {
				return fmt.Errorf("tag %s: event %d names no image", t.Tag, i)
			}
			if _, err := tx.exec(ctx, `INSERT INTO image_stream_tag_events (stream_id, tag, position, created,
				docker_image_reference, image, generation) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				id, t.Tag, i, formatTime(e.Created.Time), e.DockerImageReference, e.Image, e.Generation); err != nil {
				return fmt.Errorf("tag %s event %d (image %s): %w", t.Tag, i, e.Image, err)
			}
		}
		for i, cond := range t.Conditions {
			if catalog.IsDerivedCondition(cond.Type) {
				continue // derived from the verdicts when read
			}
			var at any
			if !cond.LastTransitionTime.IsZero() {
				at = formatTime(cond.LastTransitionTime.Time)
			}
			if _, err := tx.exec(ctx, `INSERT INTO image_stream_conditions (stream_id, tag, position, type, status,
				last_transition_time, reason, message, generation) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				id, t.Tag, i, string(cond.Type), string(cond.Status), at, cond.Reason, cond.Message, cond.Generation); err != nil {
				return fmt.Errorf("tag %s condition %d: %w", t.Tag, i, err)
			}
		}
	}
	for tag := range before {
		if err := drop(tag); err != nil {
			return fmt.Errorf("tag %s: %w", tag, err)
		}
	}
	return nil
}

// loadStreams reads the streams matching where (a condition on
// image_streams) in full_name order, with one query per child table for
// the whole result.
func loadStreams(ctx context.Context, q querier, d Dialect, where string, args []any, limit int) ([]imagev1.ImageStream, error) {
	selected := `SELECT id FROM image_streams WHERE ` + where + ` ORDER BY full_name`
	if limit > 0 {
		selected += ` LIMIT ` + strconv.Itoa(limit)
	}
	rows, err := q.QueryContext(ctx, `SELECT id, namespace, name, uid, resource_version, creation_timestamp, generation,
		labels, annotations, lookup_local FROM image_streams WHERE id IN (`+selected+`) ORDER BY full_name`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var streams []imagev1.ImageStream
	index := map[int64]int{}
	for rows.Next() {
		var (
			is                  imagev1.ImageStream
			id, rv              int64
			uid, created        string
			labels, annotations sql.NullString
		)
		if err := rows.Scan(&id, &is.Namespace, &is.Name, &uid, &rv, &created, &is.Generation, &labels, &annotations,
			&is.Spec.LookupPolicy.Local); err != nil {
			return nil, err
		}
		is.TypeMeta = metav1.TypeMeta{Kind: "ImageStream", APIVersion: imagev1.GroupVersion.String()}
		is.UID, is.ResourceVersion = types.UID(uid), strconv.FormatInt(rv, 10)
		is.CreationTimestamp = metav1.NewTime(parseTime(created))
		if err := unmarshalNullable(labels, &is.Labels); err != nil {
			return nil, fmt.Errorf("image stream %s/%s labels: %w", is.Namespace, is.Name, err)
		}
		if err := unmarshalNullable(annotations, &is.Annotations); err != nil {
			return nil, fmt.Errorf("image stream %s/%s annotations: %w", is.Namespace, is.Name, err)
		}
		index[id] = len(streams)
		streams = append(streams, is)
	}
	if err := rows.Err(); err != nil || len(streams) == 0 {
		return streams, err
	}
	if err := loadSpecTags(ctx, q, selected, args, streams, index); err != nil {
		return nil, err
	}
	if err := loadStatusTags(ctx, q, d, selected, args, streams, index); err != nil {
		return nil, err
	}
	return streams, nil
}

func loadSpecTags(ctx context.Context, q querier, selected string, args []any, streams []imagev1.ImageStream, index map[int64]int) error {
	rows, err := q.QueryContext(ctx, `SELECT stream_id, tag, annotations, from_kind, from_namespace, from_name, reference,
		generation, insecure, scheduled, import_mode, reference_policy FROM image_stream_spec_tags
		WHERE stream_id IN (`+selected+`) ORDER BY stream_id, tag`, args...)
	if err != nil {
		return fmt.Errorf("load spec tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id                      int64
			t                       imagev1.TagReference
			annotations             sql.NullString
			from                    corev1.ObjectReference
			gen                     sql.NullInt64
			mode, policy            string
			insecure, scheduled, rf bool
		)
		if err := rows.Scan(&id, &t.Name, &annotations, &from.Kind, &from.Namespace, &from.Name, &rf, &gen,
			&insecure, &scheduled, &mode, &policy); err != nil {
			return err
		}
		if err := unmarshalNullable(annotations, &t.Annotations); err != nil {
			return fmt.Errorf("spec tag %s annotations: %w", t.Name, err)
		}
		if from != (corev1.ObjectReference{}) {
			t.From = &from
		}
		if gen.Valid {
			t.Generation = &gen.Int64
		}
		t.Reference = rf
		t.ImportPolicy = imagev1.TagImportPolicy{Insecure: insecure, Scheduled: scheduled, ImportMode: imagev1.ImportModeType(mode)}
		t.ReferencePolicy.Type = imagev1.TagReferencePolicyType(policy)
		is := &streams[index[id]]
		is.Spec.Tags = append(is.Spec.Tags, t)
	}
	return rows.Err()
}

func loadStatusTags(ctx context.Context, q querier, d Dialect, selected string, args []any, streams []imagev1.ImageStream, index map[int64]int) error {
	tags := map[int64]map[string]*imagev1.NamedTagEventList{}
	entry := func(id int64, tag string) *imagev1.NamedTagEventList {
		if tags[id] == nil {
			tags[id] = map[string]*imagev1.NamedTagEventList{}
		}
		if tags[id][tag] == nil {
			tags[id][tag] = &imagev1.NamedTagEventList{Tag: tag}
		}
		return tags[id][tag]
	}
	rows, err := q.QueryContext(ctx, `SELECT stream_id, tag, created, docker_image_reference, image, generation
		FROM image_stream_tag_events WHERE stream_id IN (`+selected+`) ORDER BY stream_id, tag, position`, args...)
	if err != nil {
		return fmt.Errorf("load tag events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var tag, created string
		var e imagev1.TagEvent
		if err := rows.Scan(&id, &tag, &created, &e.DockerImageReference, &e.Image, &e.Generation); err != nil {
			return err
		}
		e.Created = metav1.NewTime(parseTime(created))
		l := entry(id, tag)
		l.Items = append(l.Items, e)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := loadTagVerdicts(ctx, q, d, selected, args, entry); err != nil {
		return err
	}
	if err := loadTagPullVerdicts(ctx, q, d, selected, args, entry); err != nil {
		return err
	}
	crows, err := q.QueryContext(ctx, `SELECT stream_id, tag, type, status, last_transition_time, reason, message, generation
		FROM image_stream_conditions WHERE stream_id IN (`+selected+`) ORDER BY stream_id, tag, position`, args...)
	if err != nil {
		return fmt.Errorf("load tag conditions: %w", err)
	}
	defer crows.Close()
	for crows.Next() {
		var id int64
		var tag, typ, status string
		var at sql.NullString
		var cond imagev1.TagEventCondition
		if err := crows.Scan(&id, &tag, &typ, &status, &at, &cond.Reason, &cond.Message, &cond.Generation); err != nil {
			return err
		}
		cond.Type, cond.Status = imagev1.TagEventConditionType(typ), corev1.ConditionStatus(status)
		if at.Valid {
			cond.LastTransitionTime = metav1.NewTime(parseTime(at.String))
		}
		l := entry(id, tag)
		l.Conditions = append(l.Conditions, cond)
	}
	if err := crows.Err(); err != nil {
		return err
	}
	for id, byTag := range tags {
		is := &streams[index[id]]
		names := make([]string, 0, len(byTag))
		for name := range byTag {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			is.Status.Tags = append(is.Status.Tags, *byTag[name])
		}
	}
	return nil
}

func jsonOrNull[M ~map[string]string](m M) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func unmarshalNullable(s sql.NullString, dst *map[string]string) error {
	if !s.Valid {
		return nil
	}
	return json.Unmarshal([]byte(s.String), dst)
}
