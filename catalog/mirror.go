package catalog

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// MirrorSourceTag is a current tag as a mirror plan needs it: where it
// points, when it last changed, and its repository's verdict on the image.
type MirrorSourceTag struct {
	Repository, Tag, Image string
	MediaType              string
	// ChangedAt and ChangedRun are those of the tag's newest history event
	// (added or moved); ChangedRun is 0 when no import run recorded it.
	ChangedAt  time.Time
	ChangedRun int64
	// Verdict and VerdictReason are the (repository, image) pair's stored
	// verdict; "" when never evaluated.
	Verdict       Verdict
	VerdictReason string
	// Instances are a list's packed instance verdicts (pullverdict.go).
	Instances string
}

// MirrorRemovedTag is a tag the catalog saw removed from its registry and
// that is not current again.
type MirrorRemovedTag struct {
	Repository, Tag string
	Previous        string // the digest it pointed at
	Reason          string
	RemovedAt       time.Time
	RemovedRun      int64
	// Complete: the removal was recorded from a complete listing (a whole
	// tag list, or a whole /v2/_catalog), not from a single 404.
	Complete bool
}

// Mirror actions as stored in mirrored_tags.action.
const (
	MirrorCopied  = "copied"  // copied to the destination by this run
	MirrorPresent = "present" // the destination already had the digest: nothing written
	MirrorDeleted = "deleted" // removed at the destination by --prune
	MirrorFailed  = "failed"  // the copy or deletion failed; reason says why
)

// MirrorRunSpec is what a mirror run was asked to do.
type MirrorRunSpec struct {
	Command, Destination, RepositoryGlob string
	RequireAccepted, DryRun              bool
}

// MirrorRunCounts are the totals a mirror run ends with.
type MirrorRunCounts struct {
	Copied, Present, Failed, Deleted int
}

// MirroredTag is one tag a mirror run acted on.
type MirroredTag struct {
	SourceRepository, Tag          string
	DestinationRepository, DestTag string
	Image                          string
	Action, Reason                 string
	At                             time.Time
	RunID                          int64
}

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
