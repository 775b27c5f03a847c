package catalog

import (
	"database/sql/driver"
	"reflect"
	"testing"
)

func TestRebindSpellsSQLiteParametersForPostgres(t *testing.T) {
	cases := []struct {
		in, want string
		slots    []slot
	}{
		{`SELECT a FROM t WHERE x = ? AND y = ?`, `SELECT a FROM t WHERE x = $1 AND y = $2`, []slot{{pos: 0}, {pos: 1}}},
		// ?NNN reuses one number; named parameters too.
		{`WHERE r = ?1 AND (i = ?2 OR j = ?2)`, `WHERE r = $1 AND (i = $2 OR j = $2)`, []slot{{pos: 0}, {pos: 1}}},
		{`WHERE @glob = '' OR glob(@glob, r.name) AND run <= @toRun`, `WHERE $1 = '' OR glob($1, r.name) AND run <= $2`,
			[]slot{{pos: -1, name: "glob"}, {pos: -1, name: "toRun"}}},
		// Literals, quoted names, comments and dollar-quoted bodies are kept.
		{`SELECT '?', "a?b", instr(x, '@') -- what? @no
			FROM t WHERE y = ?`, `SELECT '?', "a?b", instr(x, '@') -- what? @no
			FROM t WHERE y = $1`, []slot{{pos: 0}}},
		{`SELECT 'it''s ?' /* ? */ , ?`, `SELECT 'it''s ?' /* ? */ , $1`, []slot{{pos: 0}}},
		{`CREATE FUNCTION f() AS $$ SELECT '?' || @x $$; SELECT $tag$ ? $tag$`, `CREATE FUNCTION f() AS $$ SELECT '?' || @x $$; SELECT $tag$ ? $tag$`, nil},
		// char(N) is chr(N); a column called charset is not touched.
		{`SELECT group_concat(x, char(10)), charset FROM t`, `SELECT group_concat(x, chr(10)), charset FROM t`, nil},
		// Already PostgreSQL's spelling.
		{`SELECT pg_advisory_lock($1)`, `SELECT pg_advisory_lock($1)`, nil},
	}
	for _, c := range cases {
		got := rebind(c.in)
		if got.sql != c.want || !reflect.DeepEqual(got.slots, c.slots) {
			t.Errorf("rebind(%q)\n got %q %v\nwant %q %v", c.in, got.sql, got.slots, c.want, c.slots)
		}
	}
}

func TestReboundArgumentsFollowTheNumbers(t *testing.T) {
	q := rebind(`WHERE a = @b AND c = ? AND d = @b AND e = ? AND f = ?`)
	got, err := q.args([]driver.NamedValue{
		{Ordinal: 1, Name: "b", Value: "B"}, {Ordinal: 2, Value: int64(1)}, {Ordinal: 3, Value: true}, {Ordinal: 4, Value: false},
	})
	if err != nil {
		t.Fatal(err)
	}
	var vals []driver.Value
	for i, a := range got {
		if a.Ordinal != i+1 || a.Name != "" {
			t.Errorf("argument %d: ordinal %d name %q", i, a.Ordinal, a.Name)
		}
		vals = append(vals, a.Value)
	}
	// Booleans are stored as SQLite stores them: 1 and 0.
	if want := []driver.Value{"B", int64(1), int64(1), int64(0)}; !reflect.DeepEqual(vals, want) {
		t.Errorf("arguments %v, want %v", vals, want)
	}
	if _, err := q.args([]driver.NamedValue{{Ordinal: 1, Value: int64(1)}}); err == nil {
		t.Error("a missing named argument was not reported")
	}
	if _, err := rebind(`WHERE a = ? AND b = ?`).args([]driver.NamedValue{{Ordinal: 1, Value: 1}}); err == nil {
		t.Error("a missing positional argument was not reported")
	}
}

// Both dialects reach the same schema version, so a catalog can move
// between them (regimport migrate --from/--to).
func TestDialectsEndAtTheSameVersion(t *testing.T) {
	lite, err := migrations(false)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := migrations(true)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := lite[len(lite)-1].version, pg[len(pg)-1].version; a != b {
		t.Errorf("SQLite migrations end at %d, PostgreSQL's at %d: every migration after 0007 needs a file in both directories", a, b)
	}
}
