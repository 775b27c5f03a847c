package kubernetes

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.podman.io/image/v5/types"
	corev1 "k8s.io/api/core/v1"

	"github.com/regimport/regimport/jobconfig"
	"github.com/regimport/regimport/signatures"
)

// containerFiles are the files a container sees through its ConfigMap and
// Secret volumes: absolute path -> content.
func containerFiles(t *testing.T, m *manifests, pod *corev1.PodSpec, c *corev1.Container) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, vm := range c.VolumeMounts {
		i := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == vm.Name })
		if i < 0 {
			t.Errorf("volumeMount %s: no volume of that name", vm.Name)
			continue
		}
		v := pod.Volumes[i]
		var data map[string][]byte
		var items []corev1.KeyToPath
		switch {
		case v.ConfigMap != nil:
			if v.ConfigMap.Name != m.configMap.Name {
				t.Errorf("volume %s: ConfigMap %q, the manifests define %q", v.Name, v.ConfigMap.Name, m.configMap.Name)
			}
			data = map[string][]byte{}
			for k, s := range m.configMap.Data {
				data[k] = []byte(s)
			}
			items = v.ConfigMap.Items
		case v.Secret != nil:
			if v.Secret.SecretName != m.secret.Name {
				t.Errorf("volume %s: Secret %q, the manifests define %q", v.Name, v.Secret.SecretName, m.secret.Name)
			}
			data = secretData(m.secret)
			items = v.Secret.Items
		case v.EmptyDir != nil:
			continue
		default:
			t.Errorf("volume %s: unexpected source %+v", v.Name, v.VolumeSource)
			continue
		}
		if !vm.ReadOnly {
			t.Errorf("volumeMount %s of a ConfigMap or Secret should be readOnly", vm.Name)
		}
		if len(items) == 0 {
			for k := range data {
				items = append(items, corev1.KeyToPath{Key: k, Path: k})
			}
		}
		for _, it := range items {
			content, ok := data[it.Key]
			if !ok {
				t.Errorf("volume %s: key %q is not in the %s", v.Name, it.Key, map[bool]string{true: "ConfigMap", false: "Secret"}[v.ConfigMap != nil])
				continue
			}
			files[path.Join(vm.MountPath, it.Path)] = content
		}
	}
	return files
}

// secretData merges stringData into data, as the API server does.
func secretData(s *corev1.Secret) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range s.Data {
		out[k] = v
	}
	for k, v := range s.StringData {
		out[k] = []byte(v)
	}
	return out
}

// hasFileUnder reports whether p is a provided file or a directory holding one.
func hasFileUnder(files map[string][]byte, p string) bool {
	if _, ok := files[p]; ok {
		return true
	}
	for f := range files {
		if strings.HasPrefix(f, strings.TrimSuffix(p, "/")+"/") {
			return true
		}
	}
	return false
}

var envRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// TestEnvAndFilesAreProvided: every $(VAR) the args use is defined in the
// container's env from a key that exists; every absolute path an argument
// names is a file a ConfigMap or Secret volume provides.
func TestEnvAndFilesAreProvided(t *testing.T) {
	m := mustLoad(t)
	for name, pod := range m.pods() {
		t.Run(name, func(t *testing.T) {
			c := regimportContainer(t, pod)
			for _, ref := range envRef.FindAllStringSubmatch(strings.Join(append(slices.Clone(c.Command), c.Args...), " "), -1) {
				if envVar(c, ref[1]) == nil {
					t.Errorf("%s is used in the args but not defined in env: Kubernetes would pass it literally", ref[0])
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
					continue
				}
				ref := e.ValueFrom.SecretKeyRef
				if _, ok := secretData(m.secret)[ref.Key]; ref.Name != m.secret.Name || !ok {
					t.Errorf("env %s: Secret %s key %s is not in the manifests' Secret %s", e.Name, ref.Name, ref.Key, m.secret.Name)
				}
			}
			files := containerFiles(t, m, pod, c)
			for _, a := range c.Args {
				if strings.HasPrefix(a, "/") {
					if _, ok := files[a]; !ok {
						t.Errorf("argument %s: no volume provides that file (have %v)", a, slices.Sorted(maps.Keys(files)))
					}
				}
			}
		})
	}
}

// TestImportConfigIsValid: the ConfigMap's job configuration, policy and
// registries.d pass regimport's own loaders, and every file they name is
// mounted in the import pod.
func TestImportConfigIsValid(t *testing.T) {
	m := mustLoad(t)
	pod := &m.cronJob.Spec.JobTemplate.Spec.Template.Spec
	c := regimportContainer(t, pod)
	files := containerFiles(t, m, pod, c)
	configPath := flagValue(c.Args, "--config")
	raw, ok := files[configPath]
	if !ok {
		t.Fatalf("--config %s is not mounted", configPath)
	}
	cfg, err := jobconfig.Parse(bytes.NewReader(raw), configPath)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Catalog != "" {
		t.Errorf("catalog: %q in the config; the CronJob's --db from the Secret overrides it, so it only misleads", cfg.Catalog)
	}
	for key, p := range map[string]string{"authFile": cfg.AuthFile, "policy": cfg.Policy, "registriesD": cfg.RegistriesD, "registriesConf": cfg.RegistriesConf, "certDir": cfg.CertDir} {
		if p != "" && (!filepath.IsAbs(p) || !hasFileUnder(files, p)) {
			t.Errorf("config %s: %s %s is not a file the pod mounts", configPath, key, p)
		}
	}
	if cfg.Policy == "" || cfg.RegistriesD == "" || cfg.AuthFile == "" {
		t.Errorf("config: authFile %q, policy %q, registriesD %q: the deployment is meant to set all three", cfg.AuthFile, cfg.Policy, cfg.RegistriesD)
	}
	var authJSON struct {
		Auths       map[string]json.RawMessage `json:"auths"`
		CredsStore  string                     `json:"credsStore"`
		CredHelpers map[string]string          `json:"credHelpers"`
	}
	if err := json.Unmarshal(files[cfg.AuthFile], &authJSON); err != nil || len(authJSON.Auths) == 0 {
		t.Errorf("authFile %s: want a Docker config.json with auths (%v)", cfg.AuthFile, err)
	}
	if authJSON.CredsStore != "" || len(authJSON.CredHelpers) > 0 {
		t.Errorf("authFile %s names credential helpers; the image has none", cfg.AuthFile)
	}

	// The pod's files under a temporary root, policy paths moved along, for
	// the loaders that read files.
	root := t.TempDir()
	var moves []string
	for _, vm := range c.VolumeMounts {
		moves = append(moves, `"`+vm.MountPath+`/`, `"`+root+vm.MountPath+`/`)
	}
	relocate := strings.NewReplacer(moves...)
	for p, content := range files {
		content = []byte(relocate.Replace(string(content)))
		if err := os.MkdirAll(filepath.Dir(root+p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(root+p, content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := signatures.NewVerifier(signatures.Options{PolicyPath: root + cfg.Policy}); err != nil {
		t.Errorf("policy %s: %v", cfg.Policy, err)
	}
	for _, kp := range jsonStrings(t, files[cfg.Policy], "keyPath") {
		if _, ok := files[kp]; !ok {
			t.Errorf("policy %s: keyPath %s is not mounted", cfg.Policy, kp)
		}
	}
	regs, err := signatures.LoadRegistries(&types.SystemContext{RegistriesDirPath: root + cfg.RegistriesD})
	if err != nil {
		t.Errorf("registriesD %s: %v", cfg.RegistriesD, err)
	} else if regs == nil {
		t.Errorf("registriesD %s: nothing loaded", cfg.RegistriesD)
	}
}

// jsonStrings are the string values of every key named key in a JSON document.
func jsonStrings(t *testing.T, doc []byte, key string) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if s, ok := e.(string); ok && k == key {
					out = append(out, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}
