package jobconfig

import (
	"bytes"
	"os"
	"testing"
)

// FuzzParse: any input is a Config that validates, or an error; never a panic.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"../configs/example.yaml", "../configs/minimal.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("apiVersion: regimport.io/v1\nkind: Config\nsources: [{registry: a.b}]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(bytes.NewReader(b), "fuzz.yaml")
		if err != nil {
			return
		}
		if c.validate() != nil {
			t.Fatal("Parse returned a config that does not validate")
		}
	})
}
