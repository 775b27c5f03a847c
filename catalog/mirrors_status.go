package catalog

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// PullVerdict is the verdict a mirror gates on for this tag, with its
// reason: the tag's pull verdict (pullverdict.go), over a list's platform
// instances.
func (t MirrorSourceTag) PullVerdict() (verdict Verdict, reason string) {
	v, why := PullVerdictOf(t.Verdict, t.VerdictReason, t.Instances)
	if v == "" {
		return VerdictUnevaluated, "no signature verdict recorded for this repository and image"
	}
	return v, why
}

// PullAccepted reports whether the tag's pull verdict is accepted.
func (t MirrorSourceTag) PullAccepted() bool {
	v, _ := t.PullVerdict()
	return v == VerdictAccepted
}

// MirrorDestinationStatus is one destination's state, as its newest
// (not dry-run) mirror run defined its scope.
type MirrorDestinationStatus struct {
	Destination     string    `json:"destination"`
	LastRun         int64     `json:"lastRun"`
	LastRunStatus   string    `json:"lastRunStatus"`
	LastRunAt       time.Time `json:"lastRunAt"`
	RepositoryGlob  string    `json:"repositoryGlob,omitempty"`
	RequireAccepted bool      `json:"requireAccepted"`
	InSync          int       `json:"inSync"`
	// Behind are tags changed upstream (or never copied) whose current
	// digest the destination does not have.
	Behind []MirrorLag `json:"behind"`
	// HeldBack are tags whose pull verdict is not accepted, for a
	// destination mirrored with --require accepted.
	HeldBack []MirrorLag `json:"heldBack"`
}

// MirrorLag is one tag a destination lacks, with why.
type MirrorLag struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	Image      string `json:"image"`
	// Mirrored is the digest last copied there ("" when never).
	Mirrored string `json:"mirrored,omitempty"`
	Reason   string `json:"reason"`
}

// MirrorStatus compares every destination's newest mirror run with the
// current tags in its scope. Destinations come in name order.
func (c *Catalog) MirrorStatus(ctx context.Context, repositoryGlob string) ([]MirrorDestinationStatus, error) {
	return mirrorStatus(ctx, c.read, repositoryGlob)
}

// MirrorStatus is Catalog.MirrorStatus in the report's snapshot, for the
// report's --repository.
func (s *ReportSnapshot) MirrorStatus(ctx context.Context) ([]MirrorDestinationStatus, error) {
	return mirrorStatus(ctx, s.tx, s.glob)
}

func mirrorStatus(ctx context.Context, q querier, repositoryGlob string) ([]MirrorDestinationStatus, error) {
	rows, err := q.QueryContext(ctx, `SELECT r.destination, r.id, r.status, r.started_at, r.repository_glob, r.require_accepted
		  FROM mirror_runs r
		 WHERE r.id = (SELECT max(x.id) FROM mirror_runs x WHERE x.destination = r.destination AND NOT x.dry_run)
		 ORDER BY r.destination`)
	if err != nil {
		return nil, fmt.Errorf("mirror destinations: %w", err)
	}
	var dests []MirrorDestinationStatus
	for rows.Next() {
		var d MirrorDestinationStatus
		var at scanTime
		if err := rows.Scan(&d.Destination, &d.LastRun, &d.LastRunStatus, &at, &d.RepositoryGlob, &d.RequireAccepted); err != nil {
			rows.Close()
			return nil, fmt.Errorf("mirror destinations: %w", err)
		}
		d.LastRunAt = at.t
		dests = append(dests, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(dests) == 0 {
		return dests, err
	}
	tags, err := mirrorSourceTags(ctx, q)
	if err != nil {
		return nil, err
	}
	report, err := MatchRepositories(repositoryGlob)
	if err != nil {
		return nil, err
	}
	for i := range dests {
		d := &dests[i]
		scope, err := MatchRepositories(d.RepositoryGlob)
		if err != nil {
			return nil, err
		}
		last, err := lastMirrored(ctx, q, d.Destination)
		if err != nil {
			return nil, err
		}
		d.Behind, d.HeldBack = []MirrorLag{}, []MirrorLag{}
		for _, t := range tags {
			if !scope(t.Repository) || !report(t.Repository) {
				continue
			}
			if d.RequireAccepted && !t.PullAccepted() {
				v, why := t.PullVerdict()
				d.HeldBack = append(d.HeldBack, MirrorLag{Repository: t.Repository, Tag: t.Tag, Image: t.Image, Reason: joinReason(string(v), why)})
				continue
			}
			got := last[t.Repository+":"+t.Tag]
			switch {
			case got == t.Image:
				d.InSync++
			case got == "":
				d.Behind = append(d.Behind, MirrorLag{Repository: t.Repository, Tag: t.Tag, Image: t.Image, Reason: "never copied"})
			default:
				d.Behind = append(d.Behind, MirrorLag{Repository: t.Repository, Tag: t.Tag, Image: t.Image, Mirrored: got, Reason: "moved upstream since the last copy"})
			}
		}
	}
	return dests, nil
}

// LastMirrored maps each source repository:tag to the digest the catalog
// last recorded at a destination (copied, found present, or deleted).
func (c *Catalog) LastMirrored(ctx context.Context, destination string) (map[string]string, error) {
	return lastMirrored(ctx, c.read, destination)
}

// lastMirrored maps source repository:tag to the digest a destination
// last got for it (copied or found present).
func lastMirrored(ctx context.Context, q querier, destination string) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT m.source_repository, m.tag, m.image_name FROM mirrored_tags m
		  JOIN mirror_runs r ON r.id = m.run_id
		 WHERE r.destination = $1 AND m.action IN ('copied', 'present', 'deleted')
		   AND m.id = (SELECT max(x.id) FROM mirrored_tags x JOIN mirror_runs y ON y.id = x.run_id
		               WHERE y.destination = r.destination AND x.source_repository = m.source_repository AND x.tag = m.tag
		                 AND x.action IN ('copied', 'present', 'deleted'))`, destination)
	if err != nil {
		return nil, fmt.Errorf("mirrored to %s: %w", destination, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var repo, tag, image string
		if err := rows.Scan(&repo, &tag, &image); err != nil {
			return nil, err
		}
		out[repo+":"+tag] = image
	}
	return out, rows.Err()
}

func joinReason(verdict, reason string) string {
	if reason == "" {
		return verdict
	}
	return verdict + ": " + reason
}

// MatchRepositories turns repository globs (SQLite GLOB: * and ? match
// any character, / included; [...] a class), separated by commas, which no
// repository name contains, into a matcher; "" matches all.
func MatchRepositories(globs string) (func(string) bool, error) {
	if globs == "" {
		return func(string) bool { return true }, nil
	}
	var res []*regexp.Regexp
	for _, g := range strings.Split(globs, ",") {
		re, err := GlobRegexp(strings.TrimSpace(g))
		if err != nil {
			return nil, err
		}
		res = append(res, re)
	}
	return func(name string) bool {
		for _, re := range res {
			if re.MatchString(name) {
				return true
			}
		}
		return false
	}, nil
}

// GlobRegexp compiles a repository glob as the report's and mirror's
// --repository flags read it: * and ? match any character, / included.
func GlobRegexp(glob string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(glob); i++ {
		switch ch := glob[i]; ch {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			end := strings.IndexByte(glob[i+1:], ']')
			if end < 0 {
				return nil, fmt.Errorf("glob %q: unclosed [", glob)
			}
			class := glob[i+1 : i+1+end]
			if strings.HasPrefix(class, "^") {
				class = "^" + regexp.QuoteMeta(class[1:])
			} else {
				class = regexp.QuoteMeta(class)
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\-`, "-") + "]")
			i += end + 1
		default:
			b.WriteString(regexp.QuoteMeta(string(ch)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}
