package jobconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every example shipped in configs/ must load: they are documentation.
func TestExamplesLoad(t *testing.T) {
	files, err := filepath.Glob("../configs/*.yaml")
	if err != nil || len(files) < 2 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		c, err := Load(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		images, repos, regs := c.Requests()
		if len(images)+len(repos)+len(regs) == 0 {
			t.Errorf("%s: no sources", f)
		}
		if !filepath.IsAbs(c.Catalog) {
			t.Errorf("%s: catalog %q not resolved against the file", f, c.Catalog)
		}
	}
	c, _ := Load("../configs/example.yaml")
	_, _, regs := c.Requests()
	if strings.Join(regs, ",") != "quay.example.org/platform,quay.example.org/security" {
		t.Errorf("namespaces: %v", regs)
	}
}

func TestBadConfigsNameTheProblem(t *testing.T) {
	head := "apiVersion: regimport.io/v1\nkind: Config\n"
	for name, tc := range map[string]struct{ text, want string }{
		"typo":              {head + "concurency: 4\nsources:\n  - repository: r.example.com/a\n", "line 3: field concurency not found"},
		"version":           {"apiVersion: v2\nkind: Config\nsources:\n  - repository: r.example.com/a\n", `apiVersion: "v2"`},
		"no sources":        {head, "sources: at least one"},
		"two kinds":         {head + "sources:\n  - repository: r.example.com/a\n    registry: r.example.com\n", "sources[0]: set exactly one"},
		"bad image":         {head + "sources:\n  - images: [\"Not A Ref\"]\n", `sources[0].images[0]: "Not A Ref"`},
		"repository tagged": {head + "sources:\n  - repository: r.example.com/a:1\n", "has no tag or digest"},
		"bad http":          {head + "registries:\n  - host: r.example.com\n    http: \"3\"\nsources:\n  - repository: r.example.com/a\n", `registries[0].http: "3"`},
		"bad host":          {head + "registries:\n  - host: https://r.example.com\nsources:\n  - repository: r.example.com/a\n", "registries[0].host"},
		"wrong type":        {head + "concurrency: many\nsources:\n  - repository: r.example.com/a\n", "line 3"},
		"empty":             {"", "empty"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cfg.yaml")
			os.WriteFile(path, []byte(tc.text), 0o644)
			_, err := Load(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v, want one naming %s and containing %q", err, path, tc.want)
			}
		})
	}
}
