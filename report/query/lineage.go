package query

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	digest "github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/docker/reference"
)

// Lineage: which image each image is built on, and whether that base has
// been superseded under its tag.
//
// An image's base is, first, what its manifest says
// (org.opencontainers.image.base.digest and .base.name, the OCI image
// spec's annotations); else the
// image of the catalog whose layers are the longest proper prefix of its
// own (by layer digest, in order). An image whose layers equal another's is
// not that image's base, nor the other way round: equal layer lists are
// the same filesystem (the same image pushed twice with another config or
// manifest format), not one built on the other. Several images with the
// same layers as the longest prefix: the first by digest is the base.
//
// Finding the longest prefix is linear in the catalog's layers: every
// single image is indexed by a hash of its whole layer list, and each
// image looks up the chained hash of each of its proper prefixes (a
// lookup per layer; a hit is confirmed by comparing the layers), so a
// catalog of n images of at most L layers costs O(n·L), whatever the
// number of images that share a base. The index holds 16 bytes per layer
// of each image in memory (layerKey), which is the one part of the report
// whose memory grows with the catalog.

// ReportLineage is one row of the lineage table: an image under a tag of
// a repository (or under none, Tag ""), its base, and where the base's tag
// points now. A tag that points at a manifest list has one row per
// platform image of the list. The Base fields are "" when no base is
// known: no annotation, and no image of the catalog whose layers are a
// proper prefix of this image's.
type ReportLineage struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	Digest     string `json:"digest"`
	// BaseRepository and BaseTag are where the base came from: the
	// base.name annotation, or the tag under which the catalog saw the
	// base (or a manifest list holding it) in its tag history; BaseTag is
	// "" when the base was never seen under a tag.
	BaseRepository string `json:"baseRepository"`
	BaseTag        string `json:"baseTag"`
	// BaseDigest is the base image: the base.digest annotation (which may
	// name a manifest list), or the image whose layers are the prefix.
	BaseDigest string `json:"baseDigest"`
	// BaseCurrentDigest is what BaseRepository:BaseTag points at now ("":
	// the tag is not in the catalog, or was removed).
	BaseCurrentDigest string `json:"baseCurrentDigest"`
	// BaseOutdated: the base's tag now points at another image (neither
	// the base nor a manifest list holding it).
	BaseOutdated bool `json:"baseOutdated"`
}

// Manifest annotations of the OCI image spec that name an image's base.
const (
	annotationBaseName   = "org.opencontainers.image.base.name"
	annotationBaseDigest = "org.opencontainers.image.base.digest"
)

// lineageIndex is what one snapshot works out once: the base of every
// single image, and the tag history of those bases.
type lineageIndex struct {
	names  []string         // image index -> digest
	byName map[string]int32 // digest -> image index
	base   []int32          // image index -> base by layers (-1: none)
	// annotated: images whose manifest names a base.
	annotated map[string]baseAnnotation
	// parents: the manifest lists that hold an image, for the images that
	// are bases (or named as such).
	parents map[string][]string
	// history: per base digest, the tags it (or a list holding it) was seen under.
	history map[string][]tagSeen
	// current: where a (repository, tag) points now, for the tags in history
	// and the base.name annotations.
	current map[repoTag]string
	// refs: a base's own repository (dockerImageReference), for bases never tagged.
	refs map[string]string
}

type baseAnnotation struct {
	repository, tag string // from base.name ("" when absent or unreadable)
	digest          string // from base.digest, or base.name's digest
}

type repoTag struct{ repository, tag string }

// tagSeen is a tag under which a base was seen: its first event that
// pointed at the base, and where the tag points now.
type tagSeen struct {
	repoTag
	first   int64
	current string
}

// Lineage streams the lineage of the images in scope, by repository, tag
// (untagged rows last) and digest. The first call works out the bases of
// the whole catalog (bases may be in repositories outside the filter);
// later calls on the same snapshot reuse them.
func (s *ReportSnapshot) Lineage(ctx context.Context, fn func(ReportLineage) error) error {
	if s.lineage == nil {
		idx, err := s.buildLineage(ctx)
		if err != nil {
			return err
		}
		s.lineage = idx
	}
	idx := s.lineage
	// A list's entries are rows of the list's tags; an entry no tag of its
	// repository reaches through a list is a row of its own, untagged.
	notArtifact := func(col string) string {
		return `NOT EXISTS (SELECT 1 FROM image_artifacts a WHERE a.image_name = ` + col + `)`
	}
	q := `SELECT repository, tag, digest FROM (
		SELECT ir.repository, coalesce(ir.tag, '') AS tag, ir.image_name AS digest
		FROM report_ir ir JOIN images i ON i.name = ir.image_name
		WHERE i.manifest_media_type NOT IN ` + listTypes + ` AND ` + notArtifact("ir.image_name") + `
		  AND (ir.tag IS NOT NULL OR NOT EXISTS (SELECT 1 FROM image_manifests m JOIN report_ir p ON p.image_name = m.list_name
			WHERE m.digest = ir.image_name AND p.repository = ir.repository AND p.tag IS NOT NULL))
		UNION ALL
		SELECT ir.repository, ir.tag, m.digest
		FROM report_ir ir JOIN image_manifests m ON m.list_name = ir.image_name JOIN images c ON c.name = m.digest
		WHERE ir.tag IS NOT NULL AND c.manifest_media_type NOT IN ` + listTypes + ` AND ` + notArtifact("m.digest") + `) AS lr
	ORDER BY repository, tag = '', tag, digest`
	return s.each(ctx, "lineage", s.query().with(q), func(rows *sql.Rows) error {
		var r ReportLineage
		if err := rows.Scan(&r.Repository, &r.Tag, &r.Digest); err != nil {
			return err
		}
		idx.resolve(&r)
		return fn(r)
	})
}

// resolve fills in the base of r.Digest.
func (x *lineageIndex) resolve(r *ReportLineage) {
	byLayers := ""
	if i, ok := x.byName[r.Digest]; ok && x.base[i] >= 0 {
		byLayers = x.names[x.base[i]]
	}
	a, annotated := x.annotated[r.Digest]
	switch {
	case annotated && a.digest != "":
		r.BaseDigest = a.digest
		if a.repository != "" {
			x.named(r, a)
		} else {
			x.fromHistory(r)
		}
	case annotated && a.repository != "":
		r.BaseDigest = byLayers
		x.named(r, a)
	case byLayers != "":
		r.BaseDigest = byLayers
		x.fromHistory(r)
	}
}

// named takes the base's tag from its base.name annotation.
func (x *lineageIndex) named(r *ReportLineage, a baseAnnotation) {
	r.BaseRepository, r.BaseTag = a.repository, a.tag
	r.BaseCurrentDigest = x.current[repoTag{a.repository, a.tag}]
	r.BaseOutdated = r.BaseDigest != "" && r.BaseCurrentDigest != "" && !x.holds(r.BaseCurrentDigest, r.BaseDigest)
}

// fromHistory takes the base's tag from the tag history: a tag the base
// was seen under that has since moved on, if any (the base is outdated),
// else one that still points at it, else one since removed; the first
// seen among equals.
func (x *lineageIndex) fromHistory(r *ReportLineage) {
	rank := func(t tagSeen) int {
		switch {
		case t.current == "":
			return 2
		case x.holds(t.current, r.BaseDigest):
			return 1
		}
		return 0
	}
	var best *tagSeen
	for i, t := range x.history[r.BaseDigest] {
		if best == nil || rank(t) < rank(*best) || rank(t) == rank(*best) && t.first < best.first {
			best = &x.history[r.BaseDigest][i]
		}
	}
	if best == nil {
		r.BaseRepository = x.refs[r.BaseDigest]
		return
	}
	r.BaseRepository, r.BaseTag, r.BaseCurrentDigest = best.repository, best.tag, best.current
	r.BaseOutdated = rank(*best) == 0
}

// holds says whether the tag target (an image or a list) is base or a
// list that holds it.
func (x *lineageIndex) holds(target, base string) bool {
	return target == base || slices.Contains(x.parents[base], target)
}

// buildLineage reads what lineage needs from the whole catalog: layers,
// base annotations, list entries, tag history.
func (s *ReportSnapshot) buildLineage(ctx context.Context) (*lineageIndex, error) {
	x := &lineageIndex{byName: map[string]int32{}, annotated: map[string]baseAnnotation{}, parents: map[string][]string{},
		history: map[string][]tagSeen{}, current: map[repoTag]string{}, refs: map[string]string{}}
	layers, err := s.readLayers(ctx, x)
	if err != nil {
		return nil, err
	}
	x.base = basesByPrefix(x.names, layers)
	if err := s.readBaseAnnotations(ctx, x); err != nil {
		return nil, err
	}
	// The digests whose tag history matters: every base.
	subjects := map[string]bool{}
	for _, b := range x.base {
		if b >= 0 {
			subjects[x.names[b]] = true
		}
	}
	names := map[repoTag]bool{}
	for _, a := range x.annotated {
		if a.digest != "" {
			subjects[a.digest] = true
		}
		if a.repository != "" {
			names[repoTag{a.repository, a.tag}] = true
		}
	}
	if err := s.each(ctx, "lineage lists", s.query().with(`SELECT list_name, digest FROM image_manifests`), func(rows *sql.Rows) error {
		var list, child string
		if err := rows.Scan(&list, &child); err != nil {
			return err
		}
		if subjects[child] {
			x.parents[child] = append(x.parents[child], list)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	// An event's image refers to the subjects it is or holds.
	refers := map[string][]string{}
	for sub := range subjects {
		refers[sub] = append(refers[sub], sub)
		for _, l := range x.parents[sub] {
			refers[l] = append(refers[l], sub)
		}
	}
	seen := map[string]map[repoTag]int{} // subject -> tag -> index in history
	err = s.each(ctx, "lineage tag history", s.query().with(`SELECT e.id, r.name, e.tag, e.image_name, coalesce(t.image_name, '')
		FROM tag_events e JOIN repositories r ON r.id = e.repository_id
		LEFT JOIN tags t ON t.repository_id = e.repository_id AND t.tag = e.tag
		WHERE e.event != 'removed' ORDER BY e.id`), func(rows *sql.Rows) error {
		var id int64
		var rt repoTag
		var image, current string
		if err := rows.Scan(&id, &rt.repository, &rt.tag, &image, &current); err != nil {
			return err
		}
		if names[rt] {
			x.current[rt] = current
		}
		for _, sub := range refers[image] {
			m := seen[sub]
			if m == nil {
				m = map[repoTag]int{}
				seen[sub] = m
			}
			if _, ok := m[rt]; !ok {
				m[rt] = len(x.history[sub])
				x.history[sub] = append(x.history[sub], tagSeen{repoTag: rt, first: id, current: current})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var untagged []string
	for sub := range subjects {
		if len(x.history[sub]) == 0 {
			untagged = append(untagged, sub)
		}
	}
	if err := s.readRepositories(ctx, x, untagged); err != nil {
		return nil, err
	}
	return x, nil
}

// layerKey is a layer digest as 128 bits: for sha256 digests (every
// layer a registry serves), the first 32 hex digits of the hash; for any
// other spelling, FNV-128a of the text. Two different layers share a key
// with a probability of about n²/2¹²⁹ for n layers: none in any catalog.
// Keys instead of the digests' text keep the index to 16 bytes a layer,
// with no table of distinct digests.
type layerKey [2]uint64

func keyOf(d []byte) layerKey {
	const prefix = "sha256:"
	if len(d) == len(prefix)+64 && string(d[:len(prefix)]) == prefix {
		var k layerKey
		ok := true
		for i := range 32 {
			c := d[len(prefix)+i]
			var v uint64
			switch {
			case c >= '0' && c <= '9':
				v = uint64(c - '0')
			case c >= 'a' && c <= 'f':
				v = uint64(c-'a') + 10
			default:
				ok = false
			}
			k[i/16] = k[i/16]<<4 | v
		}
		if ok {
			return k
		}
	}
	h := fnv.New128a()
	h.Write(d)
	var sum [16]byte
	h.Sum(sum[:0])
	return layerKey{binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:])}
}

// readLayers reads every single image's layer list (artifacts' blobs are
// not layers) as layer keys. Each image's list comes as one row, its
// digests joined in SQL: a row per image rather than per layer is most of
// what reading them costs.
func (s *ReportSnapshot) readLayers(ctx context.Context, x *lineageIndex) ([][]layerKey, error) {
	var layers [][]layerKey
	err := s.each(ctx, "lineage layers", s.query().with(`SELECT l.image_name, string_agg(l.digest, ',' ORDER BY l.position) FROM image_layers l
		WHERE NOT EXISTS (SELECT 1 FROM image_artifacts a WHERE a.image_name = l.image_name) GROUP BY l.image_name`), func(rows *sql.Rows) error {
		var name string
		var list sql.RawBytes
		if err := rows.Scan(&name, &list); err != nil {
			return err
		}
		l := make([]layerKey, 0, bytes.Count(list, []byte{','})+1)
		for rest := list; len(rest) > 0; {
			var layer []byte
			if i := bytes.IndexByte(rest, ','); i >= 0 {
				layer, rest = rest[:i], rest[i+1:]
			} else {
				layer, rest = rest, nil
			}
			l = append(l, keyOf(layer))
		}
		x.byName[name] = int32(len(x.names))
		x.names = append(x.names, name)
		layers = append(layers, l)
		return nil
	})
	return layers, err
}

// basesByPrefix returns, for each image, the image whose layer list is the
// longest proper prefix of its own (-1: none). Ties go to the first name.
func basesByPrefix(names []string, layers [][]layerKey) []int32 {
	// Every image by the hash of its whole layer list; a bucket's images
	// are chained through next.
	head := make(map[uint64]int32, len(layers))
	next := make([]int32, len(layers))
	for i, l := range layers {
		if len(l) == 0 {
			next[i] = -1
			continue
		}
		h := prefixHash(l)
		if j, ok := head[h]; ok {
			next[i] = j
		} else {
			next[i] = -1
		}
		head[h] = int32(i)
	}
	base := make([]int32, len(layers))
	for i, l := range layers {
		base[i] = -1
		h := uint64(0)
		for k := 1; k < len(l); k++ { // proper prefixes only
			h = chain(h, l[k-1])
			j, ok := head[h]
			if !ok {
				continue
			}
			found := int32(-1)
			for ; j >= 0; j = next[j] {
				if len(layers[j]) == k && slices.Equal(layers[j], l[:k]) && (found < 0 || names[j] < names[found]) {
					found = j
				}
			}
			if found >= 0 {
				base[i] = found // a longer prefix found later replaces it
			}
		}
	}
	return base
}

func prefixHash(l []layerKey) uint64 {
	h := uint64(0)
	for _, id := range l {
		h = chain(h, id)
	}
	return h
}

// chain extends the hash of a prefix by one layer (splitmix64's finalizer
// over the pair): hits are confirmed by comparing layers, so it needs to
// spread, not to resist collisions made on purpose.
func chain(h uint64, k layerKey) uint64 {
	z := h ^ (k[0]+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= (z >> 31) ^ k[1]
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// readBaseAnnotations reads the base annotations of the single images
// whose manifests mention them (the manifests are searched in SQL, and
// only those are decoded). A manifest that does not decode, or a value
// that does not parse, names no base.
func (s *ReportSnapshot) readBaseAnnotations(ctx context.Context, x *lineageIndex) error {
	q := `SELECT name, manifest FROM images WHERE manifest_media_type NOT IN ` + listTypes + ` AND ` +
		s.d.bytesContain("manifest", "'org.opencontainers.image.base.'")
	return s.each(ctx, "lineage annotations", s.query().with(q), func(rows *sql.Rows) error {
		var name string
		var manifest []byte
		if err := rows.Scan(&name, &manifest); err != nil {
			return err
		}
		var m struct {
			Annotations map[string]string `json:"annotations"`
		}
		if json.Unmarshal(manifest, &m) != nil {
			return nil
		}
		if a, ok := parseBaseAnnotations(m.Annotations); ok {
			x.annotated[name] = a
		}
		return nil
	})
}

// parseBaseAnnotations reads base.name (a reference: a missing tag is
// latest, as docker pull reads it) and base.digest.
func parseBaseAnnotations(ann map[string]string) (baseAnnotation, bool) {
	var a baseAnnotation
	if d, err := digest.Parse(strings.TrimSpace(ann[annotationBaseDigest])); err == nil {
		a.digest = d.String()
	}
	if n := strings.TrimSpace(ann[annotationBaseName]); n != "" {
		if named, err := reference.ParseNormalizedNamed(n); err == nil {
			a.repository = named.Name()
			if t, ok := named.(reference.Tagged); ok {
				a.tag = t.Tag()
			} else if d, ok := named.(reference.Digested); ok {
				if a.digest == "" {
					a.digest = d.Digest().String()
				}
			} else {
				a.tag = "latest"
			}
		}
	}
	return a, a.digest != "" || a.repository != ""
}

// readRepositories reads the repository of the bases never seen under a
// tag, from their dockerImageReference.
func (s *ReportSnapshot) readRepositories(ctx context.Context, x *lineageIndex, names []string) error {
	slices.Sort(names)
	for len(names) > 0 {
		batch := names[:min(len(names), 500)]
		names = names[len(batch):]
		q := s.query()
		var in []string
		for _, n := range batch {
			in = append(in, q.arg(n))
		}
		q.with(`SELECT name, docker_image_reference FROM images WHERE name IN (` + strings.Join(in, ", ") + `)`)
		if err := s.each(ctx, "lineage base repositories", q, func(rows *sql.Rows) error {
			var name, ref string
			if err := rows.Scan(&name, &ref); err != nil {
				return err
			}
			repo, _, _ := strings.Cut(ref, "@")
			x.refs[name] = repo
			return nil
		}); err != nil {
			return fmt.Errorf("lineage: %w", err)
		}
	}
	return nil
}
