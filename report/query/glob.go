package query

import (
	"regexp"
	"strings"
)

// GlobRegexp is globRegexp for matching in Go what the queries match in SQL.
func GlobRegexp(pattern string) string { return globRegexp(pattern) }

// globRegexp is the anchored regular expression (PostgreSQL's ~) that
// matches what the SQLite GLOB pattern does: * any text, ? one character,
// [...] and [^...] a class; case-sensitive.
func globRegexp(pattern string) string {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			// A class runs to the first ']' after its first character.
			j := strings.IndexByte(pattern[min(i+2, len(pattern)):], ']')
			if j < 0 {
				b.WriteString(`\[`)
				continue
			}
			end := min(i+2, len(pattern)) + j
			b.WriteString("[" + strings.ReplaceAll(pattern[i+1:end], `\`, `\\`) + "]")
			i = end
		default:
			b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		}
	}
	b.WriteString("$")
	return b.String()
}
