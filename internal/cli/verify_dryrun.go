package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/catalogdb"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/report"
	"github.com/regimport/regimport/signatures"
)

// verifyDryRun is `regimport verify --dry-run`: what verify would change
// under the policy, evaluated offline on a read-only catalog. It takes no
// run lock (it writes nothing, as a report does) and exits as verify
// would: 3 when a pair could not be evaluated, 4 when a node could not
// pull a current tag.
func verifyDryRun(ctx context.Context, s Streams, db string, v *signatures.Verifier, policy string, names []string, format string, quiet bool) int {
	cat, err := openReadOnly(ctx, db, "verify --dry-run")
	if err != nil {
		return fail(s, ExitFatal, "%v", err)
	}
	defer cat.Close()
	p, err := previewPolicy(ctx, cat, v, policy, names)
	if err != nil {
		return fail(s, ExitFatal, "verify --dry-run: %v", err)
	}
	switch format {
	case "json":
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		err = enc.Encode(p)
	case "csv":
		err = report.WritePolicyPreviewCSV(s.Out, p)
	default:
		err = printPolicyPreview(s.Out, p, quiet)
	}
	if err != nil {
		return fail(s, ExitFatal, "verify --dry-run: %v", err)
	}
	unevaluated := 0
	for _, r := range p.Repositories {
		unevaluated += r.Unevaluated
	}
	switch {
	case len(p.Errors) > 0 || unevaluated > 0:
		return ExitPartial
	case len(p.PullBlocked) > 0:
		return ExitRejected
	}
	return ExitOK
}

// openReadOnly opens the catalog as a report does: read-only, never migrated.
func openReadOnly(ctx context.Context, db, command string) (catalog.Catalog, error) {
	cat, err := catalogdb.Open(ctx, db, catalog.Options{ReadOnly: true})
	if errors.Is(err, catalog.ErrNeedMigrate) {
		return nil, fmt.Errorf("%s: %w\nregimport %s never writes to a catalog; a command that opens it for writing "+
			"(regimport import, regimport verify) migrates it, on a copy if this file must stay as it is", command, err, command)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", command, err)
	}
	return cat, nil
}

// previewPolicy evaluates the verifier's policy against every pair the
// catalog holds (or those of names) and collects what would change, for
// verify --dry-run and report --policy alike.
func previewPolicy(ctx context.Context, cat catalog.Catalog, v *signatures.Verifier, policy string, names []string) (*report.PolicyPreview, error) {
	p := &report.PolicyPreview{Policy: policy}
	blocks, err := importer.PreviewVerify(ctx, cat, v, names, func(r importer.VerdictPreview) {
		p.Add(report.PolicyChange{Repository: r.Repository, Tags: r.Tags, Digest: r.Image, From: string(r.From), FromReason: r.FromReason,
			To: string(r.To), Reason: r.Reason}, r.Err)
	})
	if err != nil {
		return nil, err
	}
	for _, b := range blocks {
		repo, _, _ := cutLast(b.Reference, ":")
		p.PullBlocked = append(p.PullBlocked, report.PolicyPullBlock{Repository: repo, Reference: b.Reference, Verdict: string(b.Verdict), Reason: b.Reason})
	}
	p.Finish()
	return p, nil
}

func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// policyName says which policy files a preview evaluated.
func policyName(policy string, modern modernSignatureFlags) string {
	var parts []string
	if policy != "" {
		parts = append(parts, policy)
	}
	if modern.notationPolicy != "" {
		parts = append(parts, "notation trust policy "+modern.notationPolicy)
	}
	if modern.trustedRoot != "" {
		parts = append(parts, "sigstore trusted root "+modern.trustedRoot)
	}
	return strings.Join(parts, ", ")
}

// printPolicyPreview writes the text form: one line per pair that would
// change (repository, tags, digest, old -> new, reason), a summary per
// repository, the tags a node could not pull, and the totals.
func printPolicyPreview(w io.Writer, p *report.PolicyPreview, quiet bool) error {
	verdict := func(v string) string {
		if v == "" {
			return "none"
		}
		return v
	}
	if !quiet {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, c := range p.Changes {
			tags := strings.Join(c.Tags, ",")
			if tags == "" {
				tags = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s -> %s\t%s\n", c.Repository, tags, c.Digest, verdict(c.From), verdict(c.To), c.Reason)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, e := range p.Errors {
			fmt.Fprintf(w, "error     %s@%s: %s\n", e.Repository, e.Digest, e.Error)
		}
		if len(p.Changes)+len(p.Errors) > 0 {
			fmt.Fprintln(w)
		}
		for _, r := range p.Repositories {
			fmt.Fprintf(w, "%s: %d %s, %d would change; under the policy %d accepted, %d rejected, %d unevaluated, %d errors\n",
				r.Repository, r.Pairs, plural(r.Pairs, "pair", "pairs"), r.Changed, r.Accepted, r.Rejected, r.Unevaluated, r.Errors)
		}
	}
	for _, b := range p.PullBlocked {
		fmt.Fprintf(w, "pull %-9s %s: %s\n", b.Verdict, b.Reference, b.Reason)
	}
	_, err := fmt.Fprintf(w, "dry run under %s: %d of %d (repository, image) pairs would change verdict, %d errors; nothing was written\n",
		p.Policy, p.Changed, p.Pairs, len(p.Errors))
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
