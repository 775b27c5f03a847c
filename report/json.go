package report

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"iter"
)

// writeJSON writes the Document with its keys in declaration order. Small
// sections are indented; streamed lists have one compact element per line,
// so a 10,000-image inventory is never held in memory.
func (r *renderer) writeJSON(ctx context.Context, w *bufio.Writer) error {
	d := &r.doc
	var streamErr error
	first := true
	key := func(name string) {
		if !first {
			w.WriteString(",\n")
		}
		first = false
		fmt.Fprintf(w, "  %q: ", name)
	}
	value := func(name string, v any) error {
		key(name)
		b, err := json.MarshalIndent(v, "  ", "  ")
		if err != nil {
			return fmt.Errorf("encode %s: %w", name, err)
		}
		_, err = w.Write(b)
		return err
	}
	w.WriteString("{\n")
	for _, kv := range []struct {
		name string
		v    any
	}{
		{"apiVersion", d.APIVersion}, {"kind", d.Kind}, {"generatedAt", d.GeneratedAt}, {"catalog", d.Catalog},
		{"filter", d.Filter}, {"summary", d.Summary}, {"limitations", d.Limitations}, {"runs", d.Runs},
		{"repositories", d.Repositories}, {"signers", d.Signers}, {"signatureResults", d.SignatureResults},
		{"rejectionReasons", d.RejectionReasons}, {"storage", d.Storage},
		{"repositoryChanges", d.RepositoryChanges}, {"unreferencedImages", d.UnreferencedImages}, {"attestations", d.Attestations},
	} {
		if err := value(kv.name, kv.v); err != nil {
			return err
		}
	}
	if len(d.Mirrors) > 0 {
		if err := value("mirrors", d.Mirrors); err != nil {
			return err
		}
	}
	if d.PolicyPreview != nil {
		if err := value("policyPreview", d.PolicyPreview); err != nil {
			return err
		}
	}
	streams := []struct {
		name string
		seq  func(yield func(any) bool)
	}{
		{"rejectedImages", anySeq(r.rejected(ctx, &streamErr))},
		{"tagChanges", anySeq(r.tagChanges(ctx, &streamErr))},
		{"imageChanges", anySeq(r.imageChanges(ctx, &streamErr))},
		{"failures", anySeq(r.failures(ctx, &streamErr))},
		{"inventory", anySeq(r.inventory(ctx, &streamErr))},
		{"lineage", anySeq(r.lineage(ctx, &streamErr))},
		{"signatures", anySeq(r.signatureRows(ctx, &streamErr))},
		{"unverifiedTimes", anySeq(r.unverifiedTimes(ctx, &streamErr))},
	}
	if len(r.opts.KeyRetired) > 0 {
		streams = append(streams, struct {
			name string
			seq  func(yield func(any) bool)
		}{"keyRetired", anySeq(r.retiredKeySignatures(ctx, &streamErr))})
	}
	for _, s := range streams {
		key(s.name)
		w.WriteString("[")
		n := 0
		var encErr error
		s.seq(func(v any) bool {
			b, err := json.Marshal(v)
			if err != nil {
				encErr = fmt.Errorf("encode %s: %w", s.name, err)
				return false
			}
			if n > 0 {
				w.WriteString(",")
			}
			w.WriteString("\n    ")
			w.Write(b)
			n++
			return true
		})
		if encErr != nil {
			return encErr
		}
		if streamErr != nil {
			return streamErr
		}
		if n > 0 {
			w.WriteString("\n  ")
		}
		w.WriteString("]")
	}
	_, err := w.WriteString("\n}\n")
	return err
}

func anySeq[T any](s iter.Seq[T]) func(yield func(any) bool) {
	return func(yield func(any) bool) {
		for v := range s {
			if !yield(v) {
				return
			}
		}
	}
}
