package catalog

import (
	"regexp"
	"strings"
)

// dialect spells the few expressions SQLite and PostgreSQL write
// differently. Every other query is one text both accept (see params.go);
// nothing rewrites SQL at run time: a query that differs is composed here,
// from each database's own functions, when it is built.
//
// The differences, and why they are not shared:
//   - finding a character: SQLite has instr, PostgreSQL strpos;
//   - times: SQLite stores RFC 3339 text, compared through julianday();
//     PostgreSQL stores timestamptz and compares it natively, with indexes;
//   - repository of "repository@digest": substr/instr against split_part.
type dialect struct{ pg bool }

// hasDigest is the condition "ref (a column) contains '@'".
func (d dialect) hasDigest(ref string) string {
	if d.pg {
		return "strpos(" + ref + ", '@') > 0"
	}
	return "instr(" + ref + ", '@') > 0"
}

// repositoryOf is the part of ref before its '@' (ref must have one).
func (d dialect) repositoryOf(ref string) string {
	if d.pg {
		return "split_part(" + ref + ", '@', 1)"
	}
	return "substr(" + ref + ", 1, instr(" + ref + ", '@') - 1)"
}

// contains is the condition "the text column col contains the text expr".
func (d dialect) contains(col, expr string) string {
	if d.pg {
		return "strpos(" + col + ", " + expr + ") > 0"
	}
	return "instr(" + col + ", " + expr + ") > 0"
}

// timeValue is a time column as a value that orders and compares as the
// instant it names (SQLite's text times vary in their fractional digits).
func (d dialect) timeValue(col string) string {
	if d.pg {
		return col
	}
	return "julianday(" + col + ")"
}

// epochMillis is a time column as milliseconds since 1970 (a float).
func (d dialect) epochMillis(col string) string {
	if d.pg {
		return "(extract(epoch FROM " + col + ") * 1000)"
	}
	return "((julianday(" + col + ") - 2440587.5) * 86400000.0)"
}

// jsonText is the text at a path of keys in the JSON document col.
func (d dialect) jsonText(col string, keys ...string) string {
	if d.pg {
		return col + " #>> '{" + strings.Join(keys, ",") + "}'"
	}
	return "json_extract(" + col + ", '$." + strings.Join(keys, ".") + "')"
}

// distinctList is the distinct values of the text column col joined by
// commas, in no particular order (callers sort): SQLite's DISTINCT takes
// one-argument aggregates only.
func (d dialect) distinctList(col string) string {
	if d.pg {
		return "string_agg(DISTINCT " + col + ", ',')"
	}
	return "group_concat(DISTINCT " + col + ")"
}

// timeText turns a timeValue back into a time the Go side parses.
func (d dialect) timeText(v string) string {
	if d.pg {
		return v
	}
	return "strftime('%Y-%m-%dT%H:%M:%fZ', " + v + ")"
}

// timeParam is a parameter (a placeholder) holding an RFC 3339 time, as a timeValue.
func (d dialect) timeParam(p string) string {
	if d.pg {
		return "CAST(" + p + " AS timestamptz)"
	}
	return "julianday(" + p + ")"
}

// timeOrder is a key that sorts a time column by its instant to the
// microsecond (PostgreSQL's precision). SQLite's julianday() keeps only
// milliseconds, and its text sorts wrongly when the number of fractional
// digits differs, so there the key is the text with six fractional digits.
func (d dialect) timeOrder(col string) string {
	if d.pg {
		return col
	}
	return "substr(" + col + ", 1, 19) || '.' || substr(ltrim(rtrim(substr(" + col + ", 20), 'Z'), '.') || '000000', 1, 6)"
}

func (c *Catalog) dialect() dialect { return dialect{pg: c.pg} }

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
