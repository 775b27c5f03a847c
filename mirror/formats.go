package mirror

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	configv1 "github.com/openshift/api/config/v1"
	"go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8syaml "sigs.k8s.io/yaml"
)

// Formats a plan can be written in.
var Formats = []string{"mapping", "skopeo-sync", "regsync", "idms", "itms", "json"}

// Write renders a plan in one of Formats. Held-back tags and deletions
// appear only in the JSON plan (and, for mapping, as comments): the other
// tools have no place for them.
func Write(w io.Writer, p *Plan, format string) error {
	switch format {
	case "mapping":
		return writeMapping(w, p)
	case "skopeo-sync":
		return writeYAML(w, SkopeoSource(p))
	case "regsync":
		return writeYAML(w, RegsyncConfig(p))
	case "idms":
		return writeK8s(w, DigestMirrorSet(p))
	case "itms":
		return writeK8s(w, TagMirrorSet(p))
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	}
	return fmt.Errorf("format %q: want one of %s", format, strings.Join(Formats, ", "))
}

// writeMapping writes oc image mirror's mapping: SRC@sha256:...=DEST:TAG,
// one line per tag.
func writeMapping(w io.Writer, p *Plan) error {
	for _, c := range p.Copies {
		if _, err := fmt.Fprintf(w, "%s=%s\n", c.SourceRef(), c.DestinationRef()); err != nil {
			return err
		}
	}
	for _, h := range p.HeldBack {
		if _, err := fmt.Fprintf(w, "# held back %s:%s (%s): %s\n", h.Source, h.Tag, h.Verdict, h.Reason); err != nil {
			return err
		}
	}
	return nil
}

// SkopeoRegistry is one registry of a skopeo sync source file (--src yaml),
// with the field names skopeo documents.
type SkopeoRegistry struct {
	// Images maps a repository (path under the registry) to the tags or
	// digests to copy; a plan names digests.
	Images map[string][]string `yaml:"images"`
}

// SkopeoSource is the skopeo sync source file for a plan: each source
// registry's repositories with the planned digests. skopeo sync pushes
// images named by digest without a tag; use --scoped or a mapping to place
// them, and the mapping format when tags must follow.
func SkopeoSource(p *Plan) map[string]SkopeoRegistry {
	out := map[string]SkopeoRegistry{}
	for _, c := range p.Copies {
		host, path, _ := strings.Cut(c.Source, "/")
		r, ok := out[host]
		if !ok {
			r = SkopeoRegistry{Images: map[string][]string{}}
			out[host] = r
		}
		if !contains(r.Images[path], c.Digest) {
			r.Images[path] = append(r.Images[path], c.Digest)
		}
	}
	return out
}

// RegsyncFile is a regsync configuration, with the fields regsync documents.
type RegsyncFile struct {
	Version int           `yaml:"version"`
	Sync    []RegsyncStep `yaml:"sync"`
}

// RegsyncStep is one sync entry: an image copied from a digest to a tag.
type RegsyncStep struct {
	Source string `yaml:"source"`
	Target string `yaml:"target"`
	Type   string `yaml:"type"` // image
}

// RegsyncConfig is the regsync configuration for a plan: one image entry
// per tag, from the planned digest.
func RegsyncConfig(p *Plan) RegsyncFile {
	f := RegsyncFile{Version: 1, Sync: []RegsyncStep{}}
	for _, c := range p.Copies {
		f.Sync = append(f.Sync, RegsyncStep{Source: c.SourceRef(), Target: c.DestinationRef(), Type: "image"})
	}
	return f
}

// mirroredRepositories maps each source repository of the plan to its
// destination repositories, sorted.
func mirroredRepositories(p *Plan) ([]string, map[string][]configv1.ImageMirror) {
	m := map[string][]configv1.ImageMirror{}
	for _, c := range p.Copies {
		dest := configv1.ImageMirror(c.Destination)
		if !containsMirror(m[c.Source], dest) {
			m[c.Source] = append(m[c.Source], dest)
		}
	}
	sources := make([]string, 0, len(m))
	for s := range m {
		sources = append(sources, s)
	}
	sort.Strings(sources)
	return sources, m
}

// SetName names the IDMS and ITMS objects a plan renders.
const SetName = "regimport-mirror"

// DigestMirrorSet is the OpenShift ImageDigestMirrorSet for the
// repositories a plan mirrors.
func DigestMirrorSet(p *Plan) *configv1.ImageDigestMirrorSet {
	s := &configv1.ImageDigestMirrorSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: configv1.GroupVersion.String(), Kind: "ImageDigestMirrorSet"},
		ObjectMeta: metav1.ObjectMeta{Name: SetName},
		Spec:       configv1.ImageDigestMirrorSetSpec{ImageDigestMirrors: []configv1.ImageDigestMirrors{}},
	}
	sources, m := mirroredRepositories(p)
	for _, src := range sources {
		s.Spec.ImageDigestMirrors = append(s.Spec.ImageDigestMirrors, configv1.ImageDigestMirrors{Source: src, Mirrors: m[src]})
	}
	return s
}

// TagMirrorSet is the OpenShift ImageTagMirrorSet for the repositories a
// plan mirrors.
func TagMirrorSet(p *Plan) *configv1.ImageTagMirrorSet {
	s := &configv1.ImageTagMirrorSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: configv1.GroupVersion.String(), Kind: "ImageTagMirrorSet"},
		ObjectMeta: metav1.ObjectMeta{Name: SetName},
		Spec:       configv1.ImageTagMirrorSetSpec{ImageTagMirrors: []configv1.ImageTagMirrors{}},
	}
	sources, m := mirroredRepositories(p)
	for _, src := range sources {
		s.Spec.ImageTagMirrors = append(s.Spec.ImageTagMirrors, configv1.ImageTagMirrors{Source: src, Mirrors: m[src]})
	}
	return s
}

func writeYAML(w io.Writer, v any) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return err
	}
	return enc.Close()
}

// writeK8s writes an API object as Kubernetes YAML (its JSON field names),
// without the empty status and creationTimestamp a decoder would add.
func writeK8s(w io.Writer, obj any) error {
	raw, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return err
	}
	delete(doc, "status")
	if md, ok := doc["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	out, err := k8syaml.Marshal(doc)
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsMirror(list []configv1.ImageMirror, s configv1.ImageMirror) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
