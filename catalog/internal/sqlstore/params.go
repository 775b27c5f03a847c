package sqlstore

import (
	"strconv"
	"strings"
)

// Queries name their parameters $1, $2, ... in the order they first appear.
// PostgreSQL numbers parameters that way, and SQLite reads $1 as a named
// parameter that takes the slot of its first appearance, so such a text
// means the same on both (TestSharedQueriesNumberParametersInOrder checks
// every query literal of the package). Queries composed in Go number their
// parameters with placeholders, which continues the count.

// placeholder is the text of the n-th parameter (1-based).
func placeholder(n int) string { return "$" + strconv.Itoa(n) }

// placeholders is "$from, $from+1, ..." for n parameters.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(placeholder(from + i))
	}
	return b.String()
}

// valuesRows is the VALUES list of a multi-row INSERT: rows tuples of cols
// parameters each, numbered on from $from.
func valuesRows(from, rows, cols int) string {
	var b strings.Builder
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		b.WriteString(placeholders(from+r*cols, cols))
		b.WriteString(")")
	}
	return b.String()
}
