package importer

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/registry"
	"go.podman.io/image/v5/docker/reference"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Annotations on an ImageStreamImport that filter and cap its repository
// import (spec.repository). Each one set replaces the matching command-line
// default (--include, --exclude, --semver, --newest, --max-tags).
const (
	// AnnotationInclude keeps only tags matching this regular expression
	// (Go syntax, unanchored: write ^...$ to match whole tags).
	AnnotationInclude = "regimport.io/include"
	// AnnotationExclude drops tags matching this regular expression.
	AnnotationExclude = "regimport.io/exclude"
	// AnnotationSemver keeps only tags that are semantic versions within
	// this range (Masterminds/semver syntax: ">=1.2, <2", "~1.4", "^2");
	// a leading "v" and a missing minor or patch are accepted in tags.
	AnnotationSemver = "regimport.io/semver"
	// AnnotationNewest keeps the N tags whose images were created last
	// (config "created"); it costs a manifest and a config request per
	// candidate tag, see TagFilter.Newest.
	AnnotationNewest = "regimport.io/newest"
	// AnnotationMaxTags caps the tags imported; the rest, in OpenShift's
	// order, are reported in status.repository.additionalTags. 0: no cap.
	AnnotationMaxTags = "regimport.io/max-tags"
)

// TagFilter selects the tags of a repository import. The zero value keeps
// every tag. Filters apply in this order: Include, Exclude, Semver, Newest;
// then the survivors are ordered as OpenShift orders them ("latest", then
// semantic versions newest first, then the rest by name) and MaxTags cuts.
type TagFilter struct {
	Include, Exclude *regexp.Regexp
	Semver           *semver.Constraints
	// SemverRange is Semver as written, for messages.
	SemverRange string
	// Newest keeps the N tags whose images were created last (0: all).
	// Knowing that needs every candidate's config: one manifest request
	// per candidate tag (plus one per chosen child of a list) and one
	// config blob request unless the catalog holds the config. The kept
	// tags are then imported as usual.
	Newest int
	// MaxTags caps the imported tags (0: no cap; OpenShift's is 50).
	MaxTags int
}

// TagFilterSpec is a tag filter as written, in flags, a job configuration
// or an ImageStreamImport's annotations: "" and 0 are unset. Parse is the
// one place any of them is parsed.
type TagFilterSpec struct {
	Include, Exclude, Semver string
	Newest, MaxTags          int
}

// TagFilterError is a setting of a TagFilterSpec that does not parse.
type TagFilterError struct {
	// Setting is include, exclude, semver, newest or maxTags.
	Setting, Value, Detail string
}

// Parse returns base with the settings of spec that are set replacing its
// fields, or the errors of those that do not parse.
func (spec TagFilterSpec) Parse(base TagFilter) (TagFilter, []TagFilterError) {
	f := base
	var errs []TagFilterError
	for _, re := range []struct {
		setting, value string
		dst            **regexp.Regexp
	}{{"include", spec.Include, &f.Include}, {"exclude", spec.Exclude, &f.Exclude}} {
		if re.value == "" {
			continue
		}
		c, err := regexp.Compile(re.value)
		if err != nil {
			errs = append(errs, TagFilterError{re.setting, re.value, err.Error()})
		}
		*re.dst = c
	}
	if spec.Semver != "" {
		c, err := semver.NewConstraint(spec.Semver)
		if err != nil {
			errs = append(errs, TagFilterError{"semver", spec.Semver, err.Error()})
		}
		f.Semver, f.SemverRange = c, spec.Semver
	}
	for _, n := range []struct {
		setting string
		value   int
		dst     *int
	}{{"newest", spec.Newest, &f.Newest}, {"maxTags", spec.MaxTags, &f.MaxTags}} {
		switch {
		case n.value < 0:
			errs = append(errs, TagFilterError{n.setting, strconv.Itoa(n.value), "must be a whole number, 0 or more"})
		case n.value > 0:
			*n.dst = n.value
		}
	}
	return f, errs
}

// NewTagFilter builds a TagFilter from flag values ("" and 0 mean unset).
func NewTagFilter(include, exclude, semverRange string, newest, maxTags int) (TagFilter, error) {
	f, ferrs := TagFilterSpec{Include: include, Exclude: exclude, Semver: semverRange, Newest: newest, MaxTags: maxTags}.Parse(TagFilter{})
	if len(ferrs) > 0 {
		errs := make([]string, len(ferrs))
		for i, e := range ferrs {
			flag := e.Setting
			if flag == "maxTags" {
				flag = "max-tags"
			}
			errs[i] = fmt.Sprintf("--%s %q: %s", flag, e.Value, e.Detail)
		}
		return TagFilter{}, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return f, nil
}

// filterAnnotations are the annotation of each TagFilterSpec setting
// parsed from text.
var filterAnnotations = map[string]string{"include": AnnotationInclude, "exclude": AnnotationExclude, "semver": AnnotationSemver}

// TagFilterFromAnnotations returns base with the filter annotations that
// are set (non-empty) replacing its fields, or the errors of those that do
// not parse, each naming its annotation.
func TagFilterFromAnnotations(base TagFilter, annotations map[string]string) (TagFilter, field.ErrorList) {
	var errs field.ErrorList
	p := field.NewPath("metadata", "annotations")
	spec := TagFilterSpec{Include: annotations[AnnotationInclude], Exclude: annotations[AnnotationExclude], Semver: annotations[AnnotationSemver]}
	f, ferrs := spec.Parse(base)
	for _, e := range ferrs {
		errs = append(errs, field.Invalid(p.Key(filterAnnotations[e.Setting]), e.Value, e.Detail))
	}
	// Counts are text here, and an explicit 0 (no limit) replaces base's.
	count := func(key string, dst *int) {
		v := annotations[key]
		if v == "" {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			errs = append(errs, field.Invalid(p.Key(key), v, "must be a whole number, 0 or more"))
			return
		}
		*dst = n
	}
	count(AnnotationNewest, &f.Newest)
	count(AnnotationMaxTags, &f.MaxTags)
	return f, errs
}

// Match keeps the tags Include, Exclude and Semver let through.
func (f TagFilter) Match(tags []string) []string {
	out := tags[:0:0]
	for _, t := range tags {
		if f.Include != nil && !f.Include.MatchString(t) {
			continue
		}
		if f.Exclude != nil && f.Exclude.MatchString(t) {
			continue
		}
		if f.Semver != nil {
			v, err := semver.NewVersion(t)
			if err != nil || !f.Semver.Check(v) {
				continue
			}
		}
		out = append(out, t)
	}
	return out
}

// Cap orders tags as OpenShift does and splits them at MaxTags.
func (f TagFilter) Cap(tags []string) (kept, additional []string) {
	tags = append([]string(nil), tags...)
	PrioritizeTags(tags)
	if f.MaxTags <= 0 || len(tags) <= f.MaxTags {
		return tags, nil
	}
	return tags[:f.MaxTags], tags[f.MaxTags:]
}

var (
	minorSemantic  = regexp.MustCompile(`^\d+\.\d+$`)
	minorWithPatch = regexp.MustCompile(`^(\d+\.\d+)-\w+$`)
)

type tagRank struct {
	tag      string
	priority int // 0 latest, 1 minor version (5.1, v5.1-rc1), 2 full version, 3 other
	version  *semver.Version
	prefix   string
}

func rankTag(tag string) tagRank {
	if tag == "latest" {
		return tagRank{tag: tag}
	}
	short, prefix := tag, ""
	if strings.HasPrefix(tag, "v") {
		short, prefix = tag[1:], "v"
	}
	if v, err := semver.StrictNewVersion(short); err == nil {
		return tagRank{tag: tag, priority: 2, version: v, prefix: prefix}
	}
	if minorSemantic.MatchString(short) {
		if v, err := semver.StrictNewVersion(short + ".0"); err == nil {
			return tagRank{tag: tag, priority: 1, version: v, prefix: prefix}
		}
	}
	if m := minorWithPatch.FindStringSubmatch(short); m != nil {
		if v, err := semver.StrictNewVersion(strings.Replace(short, m[1], m[1]+".0", 1)); err == nil {
			return tagRank{tag: tag, priority: 1, version: v, prefix: prefix}
		}
	}
	return tagRank{tag: tag, priority: 3, prefix: prefix}
}

// PrioritizeTags orders tags in place the way OpenShift picks the tags of a
// repository import: "latest" first, then minor versions ("5.1", "v5.1",
// "v5.1-rc1") newest first, then full semantic versions newest first, then
// every other tag by name.
func PrioritizeTags(tags []string) {
	ranks := make([]tagRank, len(tags))
	for i, t := range tags {
		ranks[i] = rankTag(t)
	}
	sort.SliceStable(ranks, func(i, j int) bool {
		a, b := ranks[i], ranks[j]
		if a.priority != b.priority {
			return a.priority < b.priority
		}
		if a.priority == 3 || a.priority == 0 {
			return a.tag < b.tag
		}
		if c := a.version.Compare(b.version); c != 0 {
			return c > 0
		}
		return a.prefix < b.prefix
	})
	for i, r := range ranks {
		tags[i] = r.tag
	}
}

// filterTags applies a TagFilter to a repository imported
// whole by Run (lists imported whole, as Run does); tags past MaxTags are
// logged and skipped.
func (r *fetcher) filterTags(ctx context.Context, name reference.Named, tags []string, f TagFilter) ([]string, error) {
	if f == (TagFilter{}) {
		return tags, nil
	}
	tags = f.Match(tags)
	tags, err := r.newest(ctx, name, tags, f.Newest, nil)
	if err != nil {
		return nil, err
	}
	kept, skipped := f.Cap(tags)
	if len(skipped) > 0 {
		r.imp.log.Info("tags past the cap skipped", "repository", name.Name(), "max-tags", f.MaxTags, "skipped", len(skipped))
	}
	return kept, nil
}

// newest keeps the n tags of a repository whose images were created last;
// a tag whose creation time cannot be read counts as oldest. See
// TagFilter.Newest for the cost.
//
// legacy says which children of a list count, as in fetchTarget.
func (r *fetcher) newest(ctx context.Context, name reference.Named, tags []string, n int, legacy *catalog.Platform) ([]string, error) {
	if n <= 0 || len(tags) <= n {
		return tags, nil
	}
	repo, err := r.repository(name)
	if err != nil {
		return nil, err
	}
	created := make([]time.Time, len(tags))
	g := errgroup.Group{}
	g.SetLimit(r.imp.conc)
	for i, tag := range tags {
		g.Go(func() error {
			t, err := r.createdAt(ctx, repo, tag, legacy)
			if err != nil {
				r.imp.log.Warn("cannot tell when a tag's image was created; counting it as oldest", "repository", name.Name(), "tag", tag, "error", err)
			}
			created[i] = t
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	idx := make([]int, len(tags))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return created[idx[a]].After(created[idx[b]]) })
	kept := make([]string, 0, n)
	for _, i := range idx[:n] {
		kept = append(kept, tags[i])
	}
	return kept, nil
}

// createdAt reads when a tag's image was created: the config's created
// time, the newest child's for a list imported whole, the chosen child's
// in Legacy mode.
func (r *fetcher) createdAt(ctx context.Context, repo *registry.Repository, tag string, legacy *catalog.Platform) (time.Time, error) {
	m, err := repo.GetManifest(ctx, tag)
	if err != nil {
		return time.Time{}, err
	}
	kind, err := KindOf(m.MediaType)
	if err != nil || kind == SingleImage {
		if err != nil {
			return time.Time{}, err
		}
		return r.configCreated(ctx, repo, m)
	}
	entries, err := r.listEntries(m)
	entries = imageEntries(entries) // BuildKit attestations are not images
	if err != nil || len(entries) == 0 {
		return time.Time{}, fmt.Errorf("list %s: %v", m.Digest, err)
	}
	var newest time.Time
	for _, d := range listChildren(entries, legacy) {
		child, err := repo.GetManifest(ctx, d.String())
		if err != nil {
			return time.Time{}, err
		}
		t, err := r.configCreated(ctx, repo, child)
		if err != nil {
			return time.Time{}, err
		}
		if t.After(newest) {
			newest = t
		}
	}
	return newest, nil
}

func (r *fetcher) configCreated(ctx context.Context, repo *registry.Repository, m *registry.Manifest) (time.Time, error) {
	if isSchema1(m.MediaType) {
		meta, _, _, err := fromSchema1(m.Bytes)
		return meta.Created.Time, err
	}
	desc, err := ConfigDescriptor(m.Bytes, m.MediaType)
	if err != nil {
		return time.Time{}, err
	}
	config, err := r.imp.cat.Config(ctx, desc.Digest.String())
	if err != nil {
		if config, err = repo.GetBlob(ctx, m.Source, desc.Digest, registry.MaxManifestBytes); err != nil {
			return time.Time{}, fmt.Errorf("config %s: %w", desc.Digest, err)
		}
	}
	var c struct {
		Created time.Time `json:"created"`
	}
	if err := json.Unmarshal(config, &c); err != nil {
		return time.Time{}, fmt.Errorf("config %s: %w", desc.Digest, err)
	}
	return c.Created, nil
}
