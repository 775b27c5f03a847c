// Package jobconfig reads the versioned configuration file of a scheduled
// regimport run (`regimport import --config FILE`): what to import, where
// the catalog and the credentials are, and how hard each registry may be
// pushed. Unknown keys are errors with their line, so a typo never silently
// falls back to a default at 3 a.m.
package jobconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/regimport/regimport/importer"
	"go.podman.io/image/v5/docker/reference"
	"go.yaml.in/yaml/v3"
)

// Version is the only configuration version this build reads.
const Version = "regimport.io/v1"

// Config is one configuration file.
type Config struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	// Catalog is the SQLite file (default catalog.db, relative to the
	// file) or a PostgreSQL URL (postgres://...).
	Catalog string `yaml:"catalog"`
	// Concurrency is the number of references fetched at once.
	Concurrency int `yaml:"concurrency"`
	// AuthFile, RegistriesConf, Policy, RegistriesD, CertDir point at the
	// usual containers files; relative paths are relative to this file.
	AuthFile       string `yaml:"authFile"`
	RegistriesConf string `yaml:"registriesConf"`
	Policy         string `yaml:"policy"`
	RegistriesD    string `yaml:"registriesD"`
	CertDir        string `yaml:"certDir"`
	// MetricsFile receives Prometheus text metrics at the end of each run.
	MetricsFile string `yaml:"metricsFile"`
	// TLSVerify false skips TLS verification and allows plain HTTP everywhere.
	TLSVerify *bool `yaml:"tlsVerify"`
	// Registries tune single hosts.
	Registries []Registry `yaml:"registries"`
	// Sources say what to import.
	Sources []Source `yaml:"sources"`
}

// Registry tunes one registry host.
type Registry struct {
	Host              string  `yaml:"host"`
	Concurrency       int     `yaml:"concurrency"`
	RequestsPerSecond float64 `yaml:"requestsPerSecond"`
	// HTTP is "1.1" to force HTTP/1.1, "2" or "" for the default (HTTP/2 when offered).
	HTTP string `yaml:"http"`
	// TLSVerify false skips TLS verification and allows plain HTTP for
	// this host only; true verifies it even when the global tlsVerify is
	// false; unset follows the global setting.
	TLSVerify *bool `yaml:"tlsVerify"`
}

// TagFilter selects the tags of a repository or registry source, as the
// command-line flags --include, --exclude, --semver, --newest and
// --max-tags do. Include, exclude and semver narrow what the source asks
// about (a tag they leave out is never removed by its listing); newest and
// maxTags choose among the listed tags. Its fields are those of
// importer.TagFilterSpec, which parses it when the file is read.
type TagFilter struct {
	Include string `yaml:"include"` // regular expression (Go syntax, unanchored)
	Exclude string `yaml:"exclude"` // regular expression
	Semver  string `yaml:"semver"`  // a semantic version range: ">=1.2, <2"
	Newest  int    `yaml:"newest"`  // the N tags whose images were built last
	MaxTags int    `yaml:"maxTags"` // at most this many, in OpenShift's order
}

// Source is one thing to import: exactly one of Images, Repository, Registry.
type Source struct {
	// Images are tag or digest references.
	Images []string `yaml:"images"`
	// Repository imports every tag of one repository.
	Repository string `yaml:"repository"`
	// Registry imports every repository of a registry host...
	Registry string `yaml:"registry"`
	// ...optionally only under these namespaces.
	Namespaces []string `yaml:"namespaces"`
	// Tags filter the tags of a repository or registry source; they
	// replace the command line's filter flags for this source.
	Tags *TagFilter `yaml:"tags"`
	// Mirror names destinations this source's changes are copied to after
	// each import (mirror.go).
	Mirror []Mirror `yaml:"mirror"`
	// filter is Tags parsed, by Parse.
	filter importer.TagFilter
}

var hostPattern = regexp.MustCompile(`^[A-Za-z0-9.-]+(:[0-9]+)?$`)

// Load reads and validates a configuration file.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c, err := Parse(bytes.NewReader(b), path)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.resolve(dir)
	return c, nil
}

// Parse reads a configuration; name is used in errors.
func Parse(r io.Reader, name string) (*Config, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("config %s: the file is empty", name)
		}
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	return &c, nil
}

func (c *Config) validate() error {
	var errs []error
	if c.APIVersion != Version {
		errs = append(errs, fmt.Errorf("apiVersion: %q, want %q", c.APIVersion, Version))
	}
	if c.Kind != "Config" {
		errs = append(errs, fmt.Errorf("kind: %q, want \"Config\"", c.Kind))
	}
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency: %d must not be negative", c.Concurrency))
	}
	for i, r := range c.Registries {
		field := fmt.Sprintf("registries[%d]", i)
		if !hostPattern.MatchString(r.Host) {
			errs = append(errs, fmt.Errorf("%s.host: %q is not a registry host", field, r.Host))
		}
		if r.Concurrency < 0 || r.RequestsPerSecond < 0 {
			errs = append(errs, fmt.Errorf("%s: concurrency and requestsPerSecond must not be negative", field))
		}
		if r.HTTP != "" && r.HTTP != "1.1" && r.HTTP != "2" {
			errs = append(errs, fmt.Errorf("%s.http: %q, want \"1.1\" or \"2\"", field, r.HTTP))
		}
	}
	if len(c.Sources) == 0 {
		errs = append(errs, errors.New("sources: at least one source is required"))
	}
	for i, s := range c.Sources {
		field := fmt.Sprintf("sources[%d]", i)
		set := 0
		for _, ok := range []bool{len(s.Images) > 0, s.Repository != "", s.Registry != ""} {
			if ok {
				set++
			}
		}
		if set != 1 {
			errs = append(errs, fmt.Errorf("%s: set exactly one of images, repository, registry", field))
		}
		if len(s.Namespaces) > 0 && s.Registry == "" {
			errs = append(errs, fmt.Errorf("%s.namespaces: only with registry", field))
		}
		for j, ref := range s.Images {
			if _, err := reference.ParseNormalizedNamed(ref); err != nil {
				errs = append(errs, fmt.Errorf("%s.images[%d]: %q: %v", field, j, ref, err))
			}
		}
		if s.Repository != "" {
			if named, err := reference.ParseNormalizedNamed(s.Repository); err != nil {
				errs = append(errs, fmt.Errorf("%s.repository: %q: %v", field, s.Repository, err))
			} else if !reference.IsNameOnly(named) {
				errs = append(errs, fmt.Errorf("%s.repository: %q: a repository has no tag or digest (use images)", field, s.Repository))
			}
		}
		if s.Registry != "" && !hostPattern.MatchString(s.Registry) {
			errs = append(errs, fmt.Errorf("%s.registry: %q is not a registry host (namespaces go in namespaces)", field, s.Registry))
		}
		if s.Tags != nil {
			if len(s.Images) > 0 {
				errs = append(errs, fmt.Errorf("%s.tags: only with repository or registry", field))
			}
			var ferrs []error
			c.Sources[i].filter, ferrs = s.Tags.parse(field + ".tags")
			errs = append(errs, ferrs...)
		}
	}
	// A repository or registry entry listed twice would have two filters,
	// and one listing's removals would depend on which came last.
	seen := map[string]int{}
	for i, s := range c.Sources {
		for _, entry := range s.entries() {
			if j, dup := seen[entry]; dup {
				errs = append(errs, fmt.Errorf("sources[%d]: %s is already a source (sources[%d])", i, entry, j))
			}
			seen[entry] = i
		}
	}
	errs = append(errs, c.validateMirrors()...)
	return errors.Join(errs...)
}

// parse parses the filter the one way the importer parses every filter
// (importer.TagFilterSpec), naming field in errors.
func (f *TagFilter) parse(field string) (importer.TagFilter, []error) {
	filter, ferrs := importer.TagFilterSpec(*f).Parse(importer.TagFilter{})
	errs := make([]error, len(ferrs))
	for i, e := range ferrs {
		errs[i] = fmt.Errorf("%s.%s: %q: %s", field, e.Setting, e.Value, e.Detail)
	}
	return filter, errs
}

// entries are the importer inputs a repository or registry source becomes.
func (s Source) entries() []string {
	switch {
	case s.Repository != "":
		return []string{s.Repository}
	case s.Registry != "" && len(s.Namespaces) == 0:
		return []string{s.Registry}
	}
	var out []string
	for _, ns := range s.Namespaces {
		out = append(out, s.Registry+"/"+strings.Trim(ns, "/"))
	}
	return out
}

// TagFilters maps each repository or registry entry of Requests that has
// its own tag filter to that filter, as parsed when the file was read.
func (c *Config) TagFilters() map[string]importer.TagFilter {
	out := map[string]importer.TagFilter{}
	for _, s := range c.Sources {
		if s.Tags == nil {
			continue
		}
		for _, entry := range s.entries() {
			out[entry] = s.filter
		}
	}
	return out
}

// resolve makes relative paths relative to the configuration's directory,
// so cron's working directory does not matter. A catalog given as a
// PostgreSQL URL is not a path: joined to the directory it would become a
// SQLite file named after the URL, password and all.
func (c *Config) resolve(dir string) {
	for _, p := range []*string{&c.Catalog, &c.AuthFile, &c.RegistriesConf, &c.Policy, &c.RegistriesD, &c.CertDir, &c.MetricsFile} {
		if p == &c.Catalog && (strings.HasPrefix(*p, "postgres://") || strings.HasPrefix(*p, "postgresql://")) {
			continue
		}
		if *p != "" && !filepath.IsAbs(*p) && !strings.HasPrefix(*p, "~") {
			*p = filepath.Join(dir, *p)
		}
	}
	if c.Catalog == "" {
		c.Catalog = filepath.Join(dir, "catalog.db")
	}
}

// Requests groups the sources as importer requests: tag and digest
// references, repositories (all tags), and registries (catalog).
func (c *Config) Requests() (images, repositories, registries []string) {
	for _, s := range c.Sources {
		images = append(images, s.Images...)
		if s.Repository != "" {
			repositories = append(repositories, s.Repository)
		}
		if s.Registry != "" {
			registries = append(registries, s.entries()...)
		}
	}
	return images, repositories, registries
}
