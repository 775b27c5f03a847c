package jobconfig

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzParse: any input is a Config or an error, never a panic; and a Config
// that was accepted survives a round trip (written back as YAML, read again
// to the same Config), names at least one thing to import, and has only
// absolute paths once resolved against the file's directory.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"../configs/example.yaml", "../configs/minimal.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("apiVersion: regimport.io/v1\nkind: Config\nsources: [{registry: a.b}]\n"))
	f.Add([]byte("apiVersion: regimport.io/v1\nkind: Config\ncatalog: x.db\ntlsVerify: false\nsources: [{registry: a.b, namespaces: [t/]}, {images: [a/b:c]}]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(bytes.NewReader(b), "fuzz.yaml")
		if err != nil {
			return
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("an accepted config does not marshal: %v", err)
		}
		again, err := Parse(bytes.NewReader(out), "again.yaml")
		if err != nil {
			t.Fatalf("an accepted config, written back, is refused: %v\n%s", err, out)
		}
		if out2, _ := yaml.Marshal(again); !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the config:\n%s\nbecame\n%s", out, out2)
		}
		images, repositories, registries := c.Requests()
		if len(images)+len(repositories)+len(registries) == 0 {
			t.Fatalf("an accepted config imports nothing:\n%s", out)
		}
		dir := "/etc/regimport"
		c.resolve(dir)
		for _, p := range []string{c.Catalog, c.AuthFile, c.RegistriesConf, c.Policy, c.RegistriesD, c.CertDir, c.MetricsFile} {
			if p != "" && !filepath.IsAbs(p) && p[0] != '~' {
				t.Fatalf("path %q is relative after resolving against %s", p, dir)
			}
		}
	})
}
