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

func TestSourceTagFiltersAndRegistryTLSVerify(t *testing.T) {
	text := `apiVersion: regimport.io/v1
kind: Config
registries:
  - host: lab.example.com:5000
    tlsVerify: false
  - host: r.example.com
sources:
  - repository: r.example.com/team/app
    tags: {include: '^v', exclude: '-rc', semver: '>=1.2, <2', newest: 5, maxTags: 50}
  - registry: lab.example.com:5000
    namespaces: [a, b]
    tags:
      maxTags: 3
  - repository: r.example.com/team/other
`
	c, err := Parse(strings.NewReader(text), "cfg.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if v := c.Registries[0].TLSVerify; v == nil || *v {
		t.Errorf("lab registry tlsVerify %v, want false", v)
	}
	if c.Registries[1].TLSVerify != nil {
		t.Errorf("r.example.com tlsVerify set without being written")
	}
	f := c.TagFilters()
	app := f["r.example.com/team/app"]
	if len(f) != 3 || app.Include == nil || app.Include.String() != "^v" || app.Exclude == nil || app.Exclude.String() != "-rc" ||
		app.SemverRange != ">=1.2, <2" || app.Semver == nil || app.Newest != 5 || app.MaxTags != 50 ||
		f["lab.example.com:5000/a"].MaxTags != 3 || f["lab.example.com:5000/b"].MaxTags != 3 {
		t.Errorf("tag filters %+v", f)
	}
	if got := app.Match([]string{"v1.3.0", "v1.4.0-rc1", "v2.0.0", "1.5.0"}); strings.Join(got, ",") != "v1.3.0" {
		t.Errorf("the parsed filter keeps %v, want v1.3.0", got)
	}
	if _, ok := f["r.example.com/team/other"]; ok {
		t.Error("a source without tags got a filter")
	}
}

func TestBadTagFiltersNameTheProblem(t *testing.T) {
	head := "apiVersion: regimport.io/v1\nkind: Config\nsources:\n"
	for name, tc := range map[string]struct{ text, want string }{
		"unknown key":    {head + "  - repository: r.example.com/a\n    tags:\n      newst: 3\n", "line 6: field newst not found"},
		"bad regex":      {head + "  - repository: r.example.com/a\n    tags: {include: '('}\n", `sources[0].tags.include: "("`},
		"bad semver":     {head + "  - repository: r.example.com/a\n    tags: {semver: 'one'}\n", `sources[0].tags.semver: "one"`},
		"negative":       {head + "  - repository: r.example.com/a\n    tags: {maxTags: -1}\n", `sources[0].tags.maxTags: "-1": must be a whole number, 0 or more`},
		"on images":      {head + "  - images: [r.example.com/a:1]\n    tags: {maxTags: 1}\n", "sources[0].tags: only with repository or registry"},
		"twice":          {head + "  - repository: r.example.com/a\n  - repository: r.example.com/a\n    tags: {maxTags: 1}\n", "sources[1]: r.example.com/a is already a source (sources[0])"},
		"tlsVerify typo": {"apiVersion: regimport.io/v1\nkind: Config\nregistries:\n  - host: r.example.com\n    tlsverify: false\nsources:\n  - repository: r.example.com/a\n", "line 5: field tlsverify not found"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.text), "cfg.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
