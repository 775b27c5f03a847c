package importer

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseImageStreamImports: documents come from users' files; any input
// yields documents or errors naming where, never a panic.
func FuzzParseImageStreamImports(f *testing.F) {
	files, _ := filepath.Glob("../testdata/imagestreamimports/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"kind":"ImageStreamImport","apiVersion":"image.openshift.io/v1","metadata":{"name":"a","namespace":"b"},"spec":{"import":true}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		docs, errs := ParseImageStreamImports("fuzz.yaml", b)
		for _, d := range docs {
			if d == nil {
				t.Fatal("nil document without an error")
			}
		}
		_ = errs
	})
}
