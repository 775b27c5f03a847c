package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/regimport/regimport/report/query"
)

// PolicyPreview is what a policy would change if `regimport verify`
// enforced it: each (repository, image) pair whose verdict would differ
// from the stored one, a summary per repository, and the current tags a
// node could then not pull. A report reads the catalog only, so it does
// not evaluate policies: the caller (regimport report --policy FILE,
// regimport verify --dry-run) evaluates them and passes the result in
// Options.PolicyPreview. Build one with Add and Finish.
type PolicyPreview struct {
	// Policy names the policy files evaluated.
	Policy string `json:"policy"`
	// Pairs is how many (repository, image) pairs were evaluated; Changed
	// how many of them would get another verdict.
	Pairs   int `json:"pairs"`
	Changed int `json:"changed"`
	// Changes are the pairs whose verdict would change, by repository and digest.
	Changes []PolicyChange `json:"changes"`
	// Repositories summarize each repository evaluated, by name.
	Repositories []PolicyRepository `json:"repositories"`
	// PullBlocked are the current tags a node could not pull (wholly or on
	// some platforms) under the policy, by reference: `regimport verify`
	// would exit 4 for them.
	PullBlocked []PolicyPullBlock `json:"pullBlocked"`
	// Errors are the pairs that could not be evaluated.
	Errors []PolicyError `json:"errors"`
}

// PolicyChange is one pair whose verdict would change: From (stored, ""
// when never evaluated) -> To (under the policy), with the policy's reason.
type PolicyChange struct {
	Repository string   `json:"repository"`
	Tags       []string `json:"tags"`
	Digest     string   `json:"digest"`
	From       string   `json:"from"`
	FromReason string   `json:"fromReason"`
	To         string   `json:"to"`
	Reason     string   `json:"reason"`
}

// PolicyRepository counts one repository's pairs: how many were
// evaluated, would change, and what their verdicts would be.
type PolicyRepository struct {
	Repository  string `json:"repository"`
	Pairs       int    `json:"pairs"`
	Changed     int    `json:"changed"`
	Accepted    int    `json:"accepted"`
	Rejected    int    `json:"rejected"`
	Unevaluated int    `json:"unevaluated"`
	NoPolicy    int    `json:"noPolicy"`
	Errors      int    `json:"errors"`
}

// PolicyPullBlock is a current tag whose pull verdict would block a pull.
type PolicyPullBlock struct {
	Repository string `json:"repository"`
	Reference  string `json:"reference"`
	Verdict    string `json:"verdict"`
	Reason     string `json:"reason"`
}

// PolicyError is a pair that could not be evaluated, and why.
type PolicyError struct {
	Repository string `json:"repository"`
	Digest     string `json:"digest"`
	Error      string `json:"error"`
}

// Add counts one evaluated pair (c.From and c.To its stored and would-be
// verdicts) and lists it when its verdict would change; err says it could
// not be evaluated.
func (p *PolicyPreview) Add(c PolicyChange, err error) {
	i := sort.Search(len(p.Repositories), func(i int) bool { return p.Repositories[i].Repository >= c.Repository })
	if i == len(p.Repositories) || p.Repositories[i].Repository != c.Repository {
		p.Repositories = append(p.Repositories, PolicyRepository{})
		copy(p.Repositories[i+1:], p.Repositories[i:])
		p.Repositories[i] = PolicyRepository{Repository: c.Repository}
	}
	r := &p.Repositories[i]
	p.Pairs++
	r.Pairs++
	if err != nil {
		r.Errors++
		p.Errors = append(p.Errors, PolicyError{Repository: c.Repository, Digest: c.Digest, Error: err.Error()})
		return
	}
	switch c.To {
	case "accepted":
		r.Accepted++
	case "rejected":
		r.Rejected++
	case "unevaluated":
		r.Unevaluated++
	case "no-policy":
		r.NoPolicy++
	}
	if c.From != c.To {
		if c.Tags == nil {
			c.Tags = []string{}
		}
		p.Changed++
		r.Changed++
		p.Changes = append(p.Changes, c)
	}
}

// Finish sorts the lists and makes empty ones [] (never null in JSON).
func (p *PolicyPreview) Finish() {
	sort.SliceStable(p.Changes, func(i, j int) bool {
		a, b := p.Changes[i], p.Changes[j]
		return a.Repository < b.Repository || a.Repository == b.Repository && a.Digest < b.Digest
	})
	sort.SliceStable(p.PullBlocked, func(i, j int) bool { return p.PullBlocked[i].Reference < p.PullBlocked[j].Reference })
	p.Changes, p.Repositories, p.PullBlocked, p.Errors = nonNil(p.Changes), nonNil(p.Repositories), nonNil(p.PullBlocked), nonNil(p.Errors)
}

// only is the preview restricted to repositories matching the report's
// --repository glob, as the report's queries match them.
func (p *PolicyPreview) only(glob string) (*PolicyPreview, error) {
	if glob == "" {
		return p, nil
	}
	re, err := regexp.Compile(query.GlobRegexp(glob))
	if err != nil {
		return nil, usagef("--repository %q: %v", glob, err)
	}
	out := &PolicyPreview{Policy: p.Policy}
	for _, r := range p.Repositories {
		if re.MatchString(r.Repository) {
			out.Repositories = append(out.Repositories, r)
			out.Pairs += r.Pairs
			out.Changed += r.Changed
		}
	}
	out.Changes = keep(p.Changes, func(c PolicyChange) bool { return re.MatchString(c.Repository) })
	out.PullBlocked = keep(p.PullBlocked, func(b PolicyPullBlock) bool { return re.MatchString(b.Repository) })
	out.Errors = keep(p.Errors, func(e PolicyError) bool { return re.MatchString(e.Repository) })
	out.Finish()
	return out, nil
}

func keep[T any](s []T, ok func(T) bool) []T {
	var out []T
	for _, v := range s {
		if ok(v) {
			out = append(out, v)
		}
	}
	return out
}

// policyPreviewColumns are the columns of the policy-preview table.
var policyPreviewColumns = []string{"repository", "tags", "digest", "from", "fromReason", "to", "reason"}

func policyChangeCells(c PolicyChange) []string {
	return []string{c.Repository, list(c.Tags), c.Digest, c.From, c.FromReason, c.To, c.Reason}
}

// policyPreviewTables is the policy-preview table: in the report only when
// a preview was asked for (or the table is asked for by name: a CSV of
// just the header then).
func (r *renderer) policyPreviewTables() []table {
	p := r.doc.PolicyPreview
	if p == nil && r.opts.Table != "policy-preview" {
		return nil
	}
	if p == nil {
		p = &PolicyPreview{}
	}
	return []table{{name: "policy-preview", title: "What the policy would change", note: policyPreviewNote(p),
		columns: policyPreviewColumns, rows: sliceRows(p.Changes, policyChangeCells)}}
}

func policyPreviewNote(p *PolicyPreview) string {
	note := fmt.Sprintf("Under %s, evaluated offline against the stored signatures (nothing was written): %d of %d (repository, image) pairs would change verdict",
		p.Policy, p.Changed, p.Pairs)
	if len(p.Errors) > 0 {
		note += fmt.Sprintf(", %d could not be evaluated", len(p.Errors))
	}
	if len(p.PullBlocked) > 0 {
		refs := make([]string, len(p.PullBlocked))
		for i, b := range p.PullBlocked {
			refs[i] = b.Reference + " (" + b.Verdict + ")"
		}
		note += "; a node could not pull " + strings.Join(refs, ", ")
	}
	return note + "."
}

// WritePolicyPreviewCSV writes the preview's changes as the report's
// policy-preview table: RFC 4180 CSV with one header row, cells defused
// as the report's are (regimport verify --dry-run --format csv).
func WritePolicyPreviewCSV(w io.Writer, p *PolicyPreview) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(policyPreviewColumns); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	for _, c := range p.Changes {
		row := policyChangeCells(c)
		for i, cell := range row {
			row[i] = defuse(cell)
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}
