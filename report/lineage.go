package report

import (
	"cmp"
	"context"
	"iter"
	"slices"
	"strconv"
)

// lineageTable is the CSV and Markdown table of lineage: every image with
// the base it is built on (query.ReportLineage says how a base is found).
func (r *renderer) lineageTable(ctx context.Context, errp *error) table {
	return table{name: "lineage", title: "Lineage: the base each image is built on",
		note:    "An image's base is what its manifest's org.opencontainers.image.base.digest and .base.name annotations name, else the image whose layers are the longest proper prefix of its own (an image with the same layers as another is not its base). The base's tag is the annotated one, or one the catalog saw pointing at the base; baseOutdated: that tag now points at another image (baseCurrentDigest).",
		columns: []string{"repository", "tag", "digest", "baseRepository", "baseTag", "baseDigest", "baseCurrentDigest", "baseOutdated"},
		rows: seqRows(r.lineage(ctx, errp), func(v LineageRow) []string {
			return []string{v.Repository, v.Tag, v.Digest, v.BaseRepository, v.BaseTag, v.BaseDigest, v.BaseCurrentDigest, strconv.FormatBool(v.BaseOutdated)}
		})}
}

// LineageBase is one base of the HTML report's lineage section: the images
// built on it (the first maxDerivedShown of them, by repository and tag)
// and whether its tag has moved on.
type LineageBase struct {
	Repository, Tag, Digest, CurrentDigest string
	Outdated                               bool
	Images                                 int      // rows built on it
	Derived                                []string // repository:tag (or repository@digest) of the first ones
}

// maxDerivedShown caps the images listed beside one base; the table of
// every image and its base below has them all.
const maxDerivedShown = 20

// lineageSummary is what the HTML lineage section says in figures.
type lineageSummary struct {
	Bases            []LineageBase // outdated first, then most images first
	Images, WithBase int
	OnOutdated       int
	OutdatedBases    int
}

// lineageBases reads the lineage once to group it by base.
func (r *renderer) lineageBases(ctx context.Context, errp *error) lineageSummary {
	var s lineageSummary
	at := map[[3]string]int{}
	for v := range r.lineage(ctx, errp) {
		s.Images++
		if v.BaseDigest == "" && v.BaseRepository == "" {
			continue
		}
		s.WithBase++
		if v.BaseOutdated {
			s.OnOutdated++
		}
		key := [3]string{v.BaseRepository, v.BaseTag, v.BaseDigest}
		i, ok := at[key]
		if !ok {
			i = len(s.Bases)
			at[key] = i
			s.Bases = append(s.Bases, LineageBase{Repository: v.BaseRepository, Tag: v.BaseTag, Digest: v.BaseDigest,
				CurrentDigest: v.BaseCurrentDigest, Outdated: v.BaseOutdated})
			s.OutdatedBases += b2i(v.BaseOutdated)
		}
		b := &s.Bases[i]
		b.Images++
		if len(b.Derived) < maxDerivedShown {
			name := v.Repository + ":" + v.Tag
			if v.Tag == "" {
				name = v.Repository + "@" + v.Digest
			}
			b.Derived = append(b.Derived, name)
		}
	}
	slices.SortStableFunc(s.Bases, func(a, b LineageBase) int {
		if a.Outdated != b.Outdated {
			return b2i(b.Outdated) - b2i(a.Outdated)
		}
		if a.Images != b.Images {
			return b.Images - a.Images
		}
		return cmp.Or(cmp.Compare(a.Repository, b.Repository), cmp.Compare(a.Tag, b.Tag), cmp.Compare(a.Digest, b.Digest))
	})
	return s
}

// derivedRows are the lineage rows that have a base, for the HTML table.
func (r *renderer) derivedRows(ctx context.Context, errp *error) iter.Seq[LineageRow] {
	return func(yield func(LineageRow) bool) {
		for v := range r.lineage(ctx, errp) {
			if (v.BaseDigest != "" || v.BaseRepository != "") && !yield(v) {
				return
			}
		}
	}
}
