package report

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
)

// writeMarkdown writes GitHub-flavoured Markdown for tickets: a short
// summary, the limitations, then every table (or only --table).
func (r *renderer) writeMarkdown(ctx context.Context, w *bufio.Writer) error {
	d := &r.doc
	s, g := d.Summary, d.Summary.Signatures
	var streamErr error
	if r.opts.Table == "" {
		fmt.Fprintf(w, "# Registry catalog report: %s\n\n", mdCell(d.Catalog.File))
		fmt.Fprintf(w, "Generated %s from `%s` (schema %d)", stamp(d.GeneratedAt), mdCell(d.Catalog.File), d.Catalog.SchemaVersion)
		if d.Filter.Repository != "" {
			fmt.Fprintf(w, ", repositories matching `%s`", mdCell(d.Filter.Repository))
		}
		w.WriteString(".\n\n")
		if s.Images == 0 {
			w.WriteString("**The catalog holds no images")
			if d.Filter.Repository != "" {
				w.WriteString(" in the repositories selected")
			}
			w.WriteString(".**\n\n")
		}
		fmt.Fprintf(w, "- **%d images** (%d manifest lists) in **%d repositories** under %d tags; %d unique layers, %s.\n",
			s.Images, s.ManifestLists, s.Repositories, s.Tags, s.UniqueLayers, humanBytes(s.UniqueLayerBytes))
		fmt.Fprintf(w, "- Signatures: **%d accepted**, **%d rejected**, %d no policy; %d signed, **%d unsigned**, **%d never evaluated**; %d signers.\n",
			g.Accepted, g.Rejected, g.NoPolicy, g.Signed, g.Unsigned, g.NotEvaluated, s.Signers)
		fmt.Fprintf(w, "- Changes from %s to %s: %d tags added, %d moved, %d images added, %d re-verified with another result, %d failures.\n",
			d.Filter.From.Description, d.Filter.To.Description, s.Changes.TagsAdded, s.Changes.TagsMoved,
			s.Changes.ImagesAdded, s.Changes.VerificationChanged, s.Changes.Failures)
		fmt.Fprintf(w, "- %d import runs", s.Runs)
		if s.LastRun != nil {
			fmt.Fprintf(w, "; the last, run %d, started %s and %s", s.LastRun.ID, stamp(s.LastRun.StartedAt), s.LastRun.Status)
		}
		w.WriteString(".\n\n## What this report cannot tell\n\n")
		for _, l := range d.Limitations {
			fmt.Fprintf(w, "- %s\n", mdCell(l))
		}
		w.WriteString("\n")
	}
	for _, t := range r.tables(ctx, &streamErr) {
		if r.opts.Table != "" && t.name != r.opts.Table || r.opts.Table == "" && t.name == "summary" {
			continue
		}
		fmt.Fprintf(w, "## %s\n\n", t.title)
		if t.note != "" {
			fmt.Fprintf(w, "%s\n\n", mdCell(t.note))
		}
		n := 0
		for row := range t.rows {
			if n == 0 {
				w.WriteString("| " + strings.Join(t.columns, " | ") + " |\n|")
				for _, c := range t.columns {
					if numericColumn(c) {
						w.WriteString("---:|")
					} else {
						w.WriteString("---|")
					}
				}
				w.WriteString("\n")
			}
			w.WriteString("|")
			for i, cell := range row {
				if bytesColumn(t.columns[i]) {
					if v, err := strconv.ParseInt(cell, 10, 64); err == nil {
						cell = humanBytes(v)
					}
				}
				w.WriteString(" " + mdCell(cell) + " |")
			}
			w.WriteString("\n")
			n++
		}
		if streamErr != nil {
			return streamErr
		}
		if n == 0 {
			w.WriteString("None.\n")
		}
		w.WriteString("\n")
	}
	return nil
}

var mdEscaper = strings.NewReplacer("|", `\|`, "\r\n", " ", "\n", " ", "\r", " ", "<", "&lt;", ">", "&gt;")

func mdCell(s string) string { return mdEscaper.Replace(s) }

func bytesColumn(c string) bool { return c == "size" || c == "bytes" || c == "sharedBytes" }

func numericColumn(c string) bool {
	switch c {
	case "size", "bytes", "sharedBytes", "layers", "images", "tags", "signatures", "trustedSignatures", "count",
		"accepted", "rejected", "noPolicy", "signed", "signedAccepted", "unsigned", "notEvaluated", "imported", "unchanged", "failed",
		"newImages", "tagsAdded", "tagsMoved", "verificationChanges", "acceptedImages", "rejectedImages", "min", "max":
		return true
	}
	return strings.HasPrefix(c, "signatures.")
}
