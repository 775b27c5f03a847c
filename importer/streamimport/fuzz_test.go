package streamimport

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: documents come from users' files. Any input
// yields documents or errors, never a panic, and:
//   - every error names the file it is about (users fix files by message);
//   - a file read without errors reads again, written back as a stream of
//     JSON documents, to the same documents and still without errors.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/imagestreamimports/*.yaml")
	if len(files) == 0 {
		f.Fatal("no seed documents in testdata/imagestreamimports")
	}
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"kind":"ImageStreamImport","apiVersion":"image.openshift.io/v1","metadata":{"name":"a","namespace":"b"},"spec":{"import":true}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		docs, errs := Parse("fuzz.yaml", b)
		for _, err := range errs {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
		}
		for _, d := range docs {
			if d == nil {
				t.Fatal("nil document without an error")
			}
		}
		if len(errs) > 0 || len(docs) == 0 {
			return
		}
		var parts []string
		for _, d := range docs {
			js, err := json.Marshal(d)
			if err != nil {
				t.Fatalf("a document read from the file does not marshal: %v", err)
			}
			parts = append(parts, string(js))
		}
		again, errs := Parse("again.json", []byte(strings.Join(parts, "\n")))
		if len(errs) > 0 {
			t.Fatalf("documents written back as JSON are refused: %v\n%s", errs, strings.Join(parts, "\n"))
		}
		if len(again) != len(docs) {
			t.Fatalf("%d documents written back read as %d", len(docs), len(again))
		}
		for i := range again {
			js, _ := json.Marshal(again[i])
			if string(js) != parts[i] {
				t.Fatalf("document %d changed on a round trip:\n%s\nbecame\n%s", i+1, parts[i], js)
			}
		}
	})
}
