package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	configv1 "github.com/openshift/api/config/v1"
	"github.com/regimport/regimport/mirror"
	"go.yaml.in/yaml/v3"
	k8syaml "sigs.k8s.io/yaml"
)

// skopeoRegistry is skopeo sync's documented source-file schema (--src
// yaml), written here from skopeo's documentation, not from our producer.
type skopeoRegistry struct {
	Images           map[string][]string `yaml:"images"`
	ImagesByTagRegex map[string]string   `yaml:"images-by-tag-regex"`
	ImagesBySemver   map[string][]string `yaml:"images-by-semver"`
	Credentials      struct {
		Username string `yaml:"username"`
		Password string `yaml:"password"`
	} `yaml:"credentials"`
	TLSVerify bool   `yaml:"tls-verify"`
	CertDir   string `yaml:"cert-dir"`
}

// regsyncConfig is regsync's documented configuration schema (version 1).
type regsyncConfig struct {
	Version  int              `yaml:"version"`
	Creds    []map[string]any `yaml:"creds"`
	Defaults map[string]any   `yaml:"defaults"`
	Sync     []struct {
		Source     string         `yaml:"source"`
		Target     string         `yaml:"target"`
		Type       string         `yaml:"type"`
		Tags       map[string]any `yaml:"tags"`
		Platform   string         `yaml:"platform"`
		Backup     string         `yaml:"backup"`
		Interval   string         `yaml:"interval"`
		Schedule   string         `yaml:"schedule"`
		RateLimit  map[string]any `yaml:"ratelimit"`
		MediaTypes []string       `yaml:"mediaTypes"`
		Hooks      map[string]any `yaml:"hooks"`
	} `yaml:"sync"`
}

func strictYAML(t *testing.T, name, doc string, v any) {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s does not decode under its schema: %v\n%s", name, err, doc)
	}
}

// Each plan format decodes strictly under the schema of the tool that
// reads it, and names exactly the plan's images.
func TestMirrorPlanFormats(t *testing.T) {
	e := newMirrorEnv(t)
	src, dstPrefix := e.src.Host(), e.dst.Host()+"/mirror"
	plan := func(format string) string {
		t.Helper()
		code, out, errOut := runCLI(t, "mirror", "plan", "--db", e.db, "--to", dstPrefix, "--format", format)
		if code != ExitOK {
			t.Fatalf("plan --format %s: exit %d\n%s", format, code, errOut)
		}
		return out
	}
	digests := map[string]string{"v1": e.app.Digest.String(), "multi": e.multi.Digest.String()}

	var sk map[string]skopeoRegistry
	strictYAML(t, "skopeo-sync", plan("skopeo-sync"), &sk)
	if len(sk) != 1 || len(sk[src].Images) != 2 || fmt.Sprint(sk[src].Images["sig/app"]) != fmt.Sprint([]string{digests["multi"], digests["v1"]}) ||
		fmt.Sprint(sk[src].Images["sig/bare"]) != fmt.Sprint([]string{e.bare.Digest.String()}) {
		t.Fatalf("skopeo-sync: %+v", sk)
	}

	var rs regsyncConfig
	strictYAML(t, "regsync", plan("regsync"), &rs)
	if rs.Version != 1 || len(rs.Sync) != 3 {
		t.Fatalf("regsync: %+v", rs)
	}
	wantSync := map[string]string{
		dstPrefix + "/sig/app:v1":    src + "/sig/app@" + digests["v1"],
		dstPrefix + "/sig/app:multi": src + "/sig/app@" + digests["multi"],
		dstPrefix + "/sig/bare:v1":   src + "/sig/bare@" + e.bare.Digest.String(),
	}
	for _, s := range rs.Sync {
		if s.Type != "image" || wantSync[s.Target] != s.Source {
			t.Fatalf("regsync entry %+v, want source %s", s, wantSync[s.Target])
		}
	}

	var idms configv1.ImageDigestMirrorSet
	if err := k8syaml.UnmarshalStrict([]byte(plan("idms")), &idms); err != nil {
		t.Fatal(err)
	}
	if idms.Kind != "ImageDigestMirrorSet" || idms.APIVersion != "config.openshift.io/v1" || idms.Name == "" ||
		len(idms.Spec.ImageDigestMirrors) != 2 || idms.Spec.ImageDigestMirrors[0].Source != src+"/sig/app" ||
		fmt.Sprint(idms.Spec.ImageDigestMirrors[0].Mirrors) != fmt.Sprint([]string{dstPrefix + "/sig/app"}) {
		t.Fatalf("idms: %+v", idms)
	}
	var itms configv1.ImageTagMirrorSet
	if err := k8syaml.UnmarshalStrict([]byte(plan("itms")), &itms); err != nil {
		t.Fatal(err)
	}
	if itms.Kind != "ImageTagMirrorSet" || len(itms.Spec.ImageTagMirrors) != 2 || itms.Spec.ImageTagMirrors[1].Source != src+"/sig/bare" {
		t.Fatalf("itms: %+v", itms)
	}

	var p mirror.Plan
	dec := json.NewDecoder(bytes.NewReader([]byte(plan("json"))))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatal(err)
	}
	if p.Kind != mirror.PlanKind || len(p.Copies) != 3 || p.Copies[1].Digest != digests["v1"] || p.Copies[1].Verdict != "accepted" {
		t.Fatalf("json plan: %+v", p)
	}

	if code, _, errOut := runCLI(t, "mirror", "plan", "--db", e.db, "--to", dstPrefix, "--format", "nope"); code != ExitUsage || !strings.Contains(errOut, "want one of") {
		t.Fatalf("bad format: exit %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "mirror", "plan", "--db", e.db, "--to", dstPrefix, "--since", "yesterday"); code != ExitUsage || !strings.Contains(errOut, "RFC 3339") {
		t.Fatalf("bad --since: exit %d %s", code, errOut)
	}
}
