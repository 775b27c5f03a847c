package kubernetes

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// manifests are the objects of deploy/kubernetes/*.yaml, one of each kind.
type manifests struct {
	cronJob    *batchv1.CronJob
	deployment *appsv1.Deployment
	service    *corev1.Service
	configMap  *corev1.ConfigMap
	secret     *corev1.Secret
	budget     *policyv1.PodDisruptionBudget
	files      []string // the manifest files, kustomization.yaml excepted
}

// strictDecoder decodes YAML or JSON into the typed objects of the API
// groups the manifests use; an unknown or duplicated field, a wrong type or
// a kind outside these groups is an error, as `kubectl apply
// --validate=strict` makes it one.
func strictDecoder() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, policyv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err) // only a broken k8s.io/api fails here
		}
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}

// decodeDocuments decodes every YAML document of a file; documents holding
// only comments are skipped.
func decodeDocuments(name string, data []byte) ([]runtime.Object, error) {
	dec := strictDecoder()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []runtime.Object
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		if isBlankYAML(doc) {
			continue
		}
		obj, _, err := dec.Decode(doc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		objs = append(objs, obj)
	}
}

func isBlankYAML(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") && line != "---" {
			return false
		}
	}
	return true
}

// loadManifests decodes every manifest of dir and files each object by
// kind; a second object of a kind, or a kind nobody expects, is an error.
func loadManifests(dir string) (*manifests, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	m := &manifests{}
	for _, path := range paths {
		if filepath.Base(path) == kustomizationFile {
			continue // not a Kubernetes object; TestKustomization reads it
		}
		m.files = append(m.files, filepath.Base(path))
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		objs, err := decodeDocuments(filepath.Base(path), data)
		if err != nil {
			return nil, err
		}
		for _, obj := range objs {
			if err := m.add(obj); err != nil {
				return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
			}
		}
	}
	if m.cronJob == nil || m.deployment == nil || m.service == nil || m.configMap == nil || m.secret == nil || m.budget == nil {
		return nil, fmt.Errorf("%s: want one CronJob, Deployment, Service, PodDisruptionBudget, ConfigMap and Secret, got %+v", dir, m)
	}
	return m, nil
}

func (m *manifests) add(obj runtime.Object) error {
	twice := func(kind string) error { return fmt.Errorf("a second %s", kind) }
	switch o := obj.(type) {
	case *batchv1.CronJob:
		if m.cronJob != nil {
			return twice("CronJob")
		}
		m.cronJob = o
	case *appsv1.Deployment:
		if m.deployment != nil {
			return twice("Deployment")
		}
		m.deployment = o
	case *corev1.Service:
		if m.service != nil {
			return twice("Service")
		}
		m.service = o
	case *corev1.ConfigMap:
		if m.configMap != nil {
			return twice("ConfigMap")
		}
		m.configMap = o
	case *corev1.Secret:
		if m.secret != nil {
			return twice("Secret")
		}
		m.secret = o
	case *policyv1.PodDisruptionBudget:
		if m.budget != nil {
			return twice("PodDisruptionBudget")
		}
		m.budget = o
	default:
		return fmt.Errorf("unexpected %T", obj)
	}
	return nil
}

// pods are the pod templates of the manifests, by workload name.
func (m *manifests) pods() map[string]*corev1.PodSpec {
	return map[string]*corev1.PodSpec{
		"CronJob " + m.cronJob.Name:       &m.cronJob.Spec.JobTemplate.Spec.Template.Spec,
		"Deployment " + m.deployment.Name: &m.deployment.Spec.Template.Spec,
	}
}

// regimportContainer is the pod's container named regimport.
func regimportContainer(t *testing.T, pod *corev1.PodSpec) *corev1.Container {
	t.Helper()
	for i := range pod.Containers {
		if pod.Containers[i].Name == "regimport" {
			return &pod.Containers[i]
		}
	}
	t.Fatalf("no container named regimport in %+v", pod.Containers)
	return nil
}

func mustLoad(t *testing.T) *manifests {
	t.Helper()
	m, err := loadManifests(".")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestManifestsDecodeStrictly: every manifest is a typed Kubernetes object.
func TestManifestsDecodeStrictly(t *testing.T) {
	m := mustLoad(t)
	want := []string{"configmap.yaml", "cronjob.yaml", "secret.yaml", "serve.yaml"}
	if !slices.Equal(m.files, want) {
		t.Errorf("manifest files %v, want %v (a new file needs a check here)", m.files, want)
	}
}

// TestStrictDecodingRejectsMistakes: the decoder the other tests trust
// refuses a misspelled field, a wrong type, a duplicated key and an unknown
// kind, each in a copy of a real manifest.
func TestStrictDecodingRejectsMistakes(t *testing.T) {
	orig, err := os.ReadFile("cronjob.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeDocuments("cronjob.yaml", orig); err != nil {
		t.Fatalf("the original does not decode: %v", err)
	}
	for _, tc := range []struct{ name, from, to, msg string }{
		{"misspelled field", "completionMode: Indexed", "completionMod: Indexed", `unknown field "spec.jobTemplate.spec.completionMod"`},
		{"wrong type", "parallelism: 3", "parallelism: three", "parallelism"},
		{"duplicated key", "parallelism: 3", "parallelism: 3\n      parallelism: 2", `"parallelism" already set`},
		{"unknown kind", "kind: CronJob", "kind: CronJobs", "CronJobs"},
		{"misspelled container field", "readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true", "readOnlyRootFileSystem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := bytes.Replace(orig, []byte(tc.from), []byte(tc.to), 1)
			if bytes.Equal(bad, orig) {
				t.Fatalf("%q is not in cronjob.yaml", tc.from)
			}
			_, err := decodeDocuments("cronjob.yaml", bad)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("decoding with %q: %v, want an error containing %q", tc.to, err, tc.msg)
			}
		})
	}
}

// TestWorkloadsAreLockedDown: both pods run as the image's non-root user on a
// read-only root file system without capabilities, with /tmp writable,
// resource requests and a memory limit, and run the image's entrypoint.
func TestWorkloadsAreLockedDown(t *testing.T) {
	m := mustLoad(t)
	image := readContainerfile(t)
	for name, pod := range m.pods() {
		t.Run(name, func(t *testing.T) {
			psc := pod.SecurityContext
			if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || fmt.Sprint(*psc.RunAsUser) != image.uid {
				t.Errorf("pod securityContext %+v: want runAsNonRoot and runAsUser %s (the Containerfile's USER)", psc, image.uid)
			}
			if psc != nil && (psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault) {
				t.Errorf("pod seccompProfile %+v, want RuntimeDefault", psc.SeccompProfile)
			}
			if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
				t.Error("automountServiceAccountToken must be false: regimport never talks to the Kubernetes API")
			}
			c := regimportContainer(t, pod)
			sc := c.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
				t.Errorf("container securityContext %+v: want readOnlyRootFilesystem, no privilege escalation, capabilities drop [ALL]", sc)
			}
			if !slices.Equal(c.Command, []string{image.entrypoint}) {
				t.Errorf("command %v, want [%s], the Containerfile's ENTRYPOINT", c.Command, image.entrypoint)
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("resources %+v: want cpu and memory requests and a memory limit", c.Resources)
			}
			if v := volumeAt(pod, c, "/tmp"); v == nil || v.EmptyDir == nil {
				t.Errorf("/tmp must be an emptyDir (the root file system is read-only), got %+v", v)
			}
		})
	}
}

// volumeAt is the volume mounted at path in c, or nil.
func volumeAt(pod *corev1.PodSpec, c *corev1.Container, path string) *corev1.Volume {
	for _, vm := range c.VolumeMounts {
		if vm.MountPath == path {
			for i := range pod.Volumes {
				if pod.Volumes[i].Name == vm.Name {
					return &pod.Volumes[i]
				}
			}
		}
	}
	return nil
}

// TestServiceReachesServe: the Service selects the Deployment's pods (and
// nothing of the import), its target port is the container port serve's
// --listen names, and the Deployment's selector matches its own pods.
func TestServiceReachesServe(t *testing.T) {
	m := mustLoad(t)
	d := m.deployment
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("replicas %v, want at least 2", d.Spec.Replicas)
	}
	if !selects(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
		t.Errorf("the Deployment's selector %v does not select its pods %v", d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
	}
	if !selects(m.service.Spec.Selector, d.Spec.Template.Labels) {
		t.Errorf("the Service's selector %v does not select serve's pods %v", m.service.Spec.Selector, d.Spec.Template.Labels)
	}
	if selects(m.service.Spec.Selector, m.cronJob.Spec.JobTemplate.Spec.Template.Labels) {
		t.Errorf("the Service's selector %v also selects the import pods", m.service.Spec.Selector)
	}
	if !selects(m.budget.Spec.Selector.MatchLabels, d.Spec.Template.Labels) || m.budget.Spec.MinAvailable == nil ||
		m.budget.Spec.MinAvailable.IntValue() < 1 || m.budget.Spec.MinAvailable.IntValue() >= int(*d.Spec.Replicas) {
		t.Errorf("PodDisruptionBudget %v minAvailable %v: want serve's pods, at least 1 and fewer than the %d replicas (or no drain could proceed)",
			m.budget.Spec.Selector.MatchLabels, m.budget.Spec.MinAvailable, *d.Spec.Replicas)
	}
	for _, tsc := range d.Spec.Template.Spec.TopologySpreadConstraints {
		if tsc.LabelSelector == nil || !selects(tsc.LabelSelector.MatchLabels, d.Spec.Template.Labels) {
			t.Errorf("topologySpreadConstraint %+v does not select serve's pods: it would spread nothing", tsc.LabelSelector)
		}
	}
	c := regimportContainer(t, &d.Spec.Template.Spec)
	listen := flagValue(c.Args, "--listen")
	_, port, ok := strings.Cut(listen, ":")
	if !ok {
		t.Fatalf("serve's --listen %q has no port", listen)
	}
	for _, sp := range m.service.Spec.Ports {
		if got := containerPort(c, sp.TargetPort.String()); fmt.Sprint(got) != port {
			t.Errorf("Service port %s targets %s = container port %d; serve listens on %s", sp.Name, sp.TargetPort.String(), got, port)
		}
	}
	for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s probe %+v: want an httpGet probe", name, p)
			continue
		}
		if got := containerPort(c, p.HTTPGet.Port.String()); fmt.Sprint(got) != port {
			t.Errorf("%s probe port %s = %d; serve listens on %s", name, p.HTTPGet.Port.String(), got, port)
		}
	}
}

// containerPort resolves a port given by name or number; 0 when unknown.
func containerPort(c *corev1.Container, nameOrNumber string) int32 {
	for _, p := range c.Ports {
		if p.Name == nameOrNumber || fmt.Sprint(p.ContainerPort) == nameOrNumber {
			return p.ContainerPort
		}
	}
	return 0
}

// selects reports whether every label of the selector is on the pod.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// flagValue is the value of --name in args (as "--name V" or "--name=V").
func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}
