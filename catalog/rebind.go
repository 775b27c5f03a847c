package catalog

import (
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"
)

// boundQuery is a catalog query as PostgreSQL takes it: SQLite's `?` and
// `@name` parameters numbered $1, $2, ..., and SQLite's char(N) spelled
// chr(N). slots says which argument each number takes.
type boundQuery struct {
	sql   string
	slots []slot
}

// slot is the argument behind one $N: the pos-th positional argument
// (0-based), or the named argument name.
type slot struct {
	pos  int
	name string
}

// rebind rewrites a query written for SQLite into PostgreSQL's spelling.
// It leaves string literals, quoted identifiers, comments and
// dollar-quoted bodies alone, so a '?' or '@' inside them is kept.
func rebind(query string) boundQuery {
	var b strings.Builder
	b.Grow(len(query) + 16)
	var slots []slot
	named := map[string]int{}
	positional := 0
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			j := closing(query, i+1, c)
			b.WriteString(query[i:j])
			i = j
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i
			}
			b.WriteString(query[i : i+j])
			i += j
		case c == '/' && strings.HasPrefix(query[i:], "/*"):
			j := strings.Index(query[i+2:], "*/")
			end := len(query)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(query[i:end])
			i = end
		case c == '$' && i+1 < len(query) && (query[i+1] == '$' || isIdentStart(query[i+1])) && dollarTag(query[i:]) != "":
			tag := dollarTag(query[i:])
			j := strings.Index(query[i+len(tag):], tag)
			end := len(query)
			if j >= 0 {
				end = i + len(tag) + j + len(tag)
			}
			b.WriteString(query[i:end])
			i = end
		case c == '?' && i+1 < len(query) && query[i+1] >= '0' && query[i+1] <= '9':
			// ?NNN: SQLite's numbered parameter, the NNN-th argument.
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			num, _ := strconv.Atoi(query[i+1 : j])
			key := "?" + query[i+1:j]
			n, ok := named[key]
			if !ok {
				slots = append(slots, slot{pos: num - 1})
				n = len(slots)
				named[key] = n
			}
			b.WriteString("$" + strconv.Itoa(n))
			i = j
		case c == '?':
			slots = append(slots, slot{pos: positional})
			positional++
			b.WriteString("$" + strconv.Itoa(len(slots)))
			i++
		case c == '@' && i+1 < len(query) && isIdentStart(query[i+1]):
			j := i + 1
			for j < len(query) && isIdentPart(query[j]) {
				j++
			}
			name := query[i+1 : j]
			n, ok := named[name]
			if !ok {
				slots = append(slots, slot{pos: -1, name: name})
				n = len(slots)
				named[name] = n
			}
			b.WriteString("$" + strconv.Itoa(n))
			i = j
		case isIdentStart(c):
			j := i
			for j < len(query) && isIdentPart(query[j]) {
				j++
			}
			word := query[i:j]
			if strings.EqualFold(word, "char") && j < len(query) && query[j] == '(' {
				word = "chr"
			}
			b.WriteString(word)
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return boundQuery{sql: b.String(), slots: slots}
}

// args orders a call's arguments as the rewritten query numbers them.
// Booleans become 0 and 1: the catalog keeps flags in integer columns, as
// SQLite stores them.
func (q boundQuery) args(in []driver.NamedValue) ([]driver.NamedValue, error) {
	if len(q.slots) == 0 {
		// Written for PostgreSQL ($N), or without parameters: named
		// arguments the query does not use are dropped, as SQLite ignores them.
		var out []driver.NamedValue
		for _, a := range in {
			if a.Name == "" {
				out = append(out, a)
			}
		}
		return out, nil
	}
	var positional []driver.Value
	byName := map[string]driver.Value{}
	for _, a := range in {
		if a.Name != "" {
			byName[a.Name] = a.Value
		} else {
			positional = append(positional, a.Value)
		}
	}
	out := make([]driver.NamedValue, len(q.slots))
	for i, s := range q.slots {
		var v driver.Value
		if s.name != "" {
			var ok bool
			if v, ok = byName[s.name]; !ok {
				return nil, fmt.Errorf("catalog query: no argument named %q", s.name)
			}
		} else {
			if s.pos >= len(positional) {
				return nil, fmt.Errorf("catalog query wants %d positional arguments, %d given", s.pos+1, len(positional))
			}
			v = positional[s.pos]
		}
		if bv, ok := v.(bool); ok {
			v = int64(0)
			if bv {
				v = int64(1)
			}
		}
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out, nil
}

// closing returns the index after the quote that ends a literal opened
// before from; a doubled quote is part of the literal.
func closing(s string, from int, quote byte) int {
	for i := from; i < len(s); i++ {
		if s[i] == quote {
			if i+1 < len(s) && s[i+1] == quote {
				i++
				continue
			}
			return i + 1
		}
	}
	return len(s)
}

// dollarTag returns the $tag$ that opens a dollar-quoted string at the
// start of s, or "" when s does not start with one.
func dollarTag(s string) string {
	for j := 1; j < len(s); j++ {
		if s[j] == '$' {
			return s[:j+1]
		}
		if !isIdentPart(s[j]) {
			return ""
		}
	}
	return ""
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentPart(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }
