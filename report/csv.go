package report

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"strings"
)

// writeCSV writes one table (default: the inventory) as RFC 4180 CSV with
// one header row: fields with commas, quotes or line breaks are quoted, and
// lines end with CRLF.
//
// Spreadsheets run a cell that starts with = + - or @ as a formula; such a
// cell (text from registries and certificates, never a number here) is
// written with a leading apostrophe, as OWASP advises for CSV injection.
func (r *renderer) writeCSV(ctx context.Context, w *bufio.Writer) error {
	name := r.opts.Table
	if name == "" {
		name = "inventory"
	}
	var streamErr error
	for _, t := range r.tables(ctx, &streamErr) {
		if t.name != name {
			continue
		}
		cw := csv.NewWriter(w)
		cw.UseCRLF = true
		if err := cw.Write(t.columns); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
		var err error
		for row := range t.rows {
			for i, cell := range row {
				row[i] = defuse(cell)
			}
			if err = cw.Write(row); err != nil {
				break
			}
		}
		cw.Flush()
		if err == nil {
			err = cw.Error()
		}
		if streamErr != nil {
			return streamErr
		}
		if err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
		return nil
	}
	return usagef("no table %q", name)
}

// defuse keeps a spreadsheet from evaluating a cell as a formula.
func defuse(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
