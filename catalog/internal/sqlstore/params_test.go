package sqlstore

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Every query text of the package is shared by SQLite and PostgreSQL
// (what differs is composed from the Dialect's expressions), so its $N
// parameters must mean the same on both: PostgreSQL binds $N to the N-th argument, SQLite to the slot
// of $N's first appearance. They agree exactly when, in each literal,
// the numbers first appear in increasing order without gaps. A literal
// that continues a query built in Go may start above $1.
func TestSharedQueriesNumberParametersInOrder(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\$(\d+)`)
	checked := 0
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			text, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			seen := map[int]bool{}
			next := 0
			for _, m := range param.FindAllStringSubmatch(text, -1) {
				n, _ := strconv.Atoi(m[1])
				if seen[n] {
					continue
				}
				if next != 0 && n != next {
					t.Errorf("%s: parameter $%d first appears where $%d is due, in %q", file, n, next, text)
				}
				seen[n] = true
				next = n + 1
			}
			if len(seen) > 0 {
				checked++
			}
			if strings.Contains(text, "?") && looksLikeSQL(text) && file != "copy.go" {
				t.Errorf("%s: a query with ? (SQLite only; write $N): %q", file, text)
			}
			return true
		})
	}
	if checked < 50 {
		t.Errorf("only %d query literals with parameters found; is the test reading the package?", checked)
	}
}

func looksLikeSQL(s string) bool {
	for _, kw := range []string{"SELECT ", "INSERT ", "UPDATE ", "DELETE ", " WHERE "} {
		if strings.Contains(s, kw) {
			return true
		}
	}
	return false
}
