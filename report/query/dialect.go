package query

import (
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/regimport/regimport/catalog"
)

// dialect spells the few expressions of the report's SQL that SQLite and
// PostgreSQL write differently, for the database the snapshot reads
// (catalog.ReportSource.Dialect). They are the report's own: the
// catalog's backends spell their queries' expressions in catalog/sqlite
// and catalog/postgres, by the same rules.
type dialect struct{ pg bool }

func dialectOf(d catalog.Dialect) dialect { return dialect{pg: d == catalog.DialectPostgres} }

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

// timeValue is a time column as a value that orders and compares as the
// instant it names (SQLite's text times vary in their fractional digits).
func (d dialect) timeValue(col string) string {
	if d.pg {
		return col
	}
	return "julianday(" + col + ")"
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

// bytesContain is the condition "the bytes of the BLOB (bytea) column col
// contain the text literal lit", compared byte for byte.
func (d dialect) bytesContain(col, lit string) string {
	if d.pg {
		return "position(convert_to(" + lit + ", 'UTF8') IN " + col + ") > 0"
	}
	return "instr(" + col + ", CAST(" + lit + " AS BLOB)) > 0"
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

// placeholder is the text of the n-th parameter (1-based).
func placeholder(n int) string { return "$" + strconv.Itoa(n) }

// formatTime is the text of a time as the catalog stores it: RFC 3339 in
// UTC, to the microsecond.
func formatTime(t time.Time) string { return t.UTC().Round(time.Microsecond).Format(time.RFC3339Nano) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// shardOf reads the columns back.
func shardOf(index, count sql.NullInt64, group sql.NullString) catalog.Shard {
	if !count.Valid {
		return catalog.Shard{}
	}
	return catalog.Shard{Index: int(index.Int64), Count: int(count.Int64), Group: group.String}
}
