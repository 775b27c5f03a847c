package kubernetes

import (
	"os"
	"os/exec"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/yaml"
)

const kustomizationFile = "kustomization.yaml"

// kustomization is the part of kustomize's Kustomization the manifests use;
// strict decoding makes any other field an error here.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
}

// TestKustomization: kustomization.yaml lists every manifest but the
// Secret (applying its placeholders would overwrite real credentials), and
// renames the image the containers name. With kubectl, its kustomize
// builds it and the result decodes strictly with the image replaced.
func TestKustomization(t *testing.T) {
	m := mustLoad(t)
	raw, err := os.ReadFile(kustomizationFile)
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(raw, &k); err != nil {
		t.Fatalf("%s: %v", kustomizationFile, err)
	}
	want := slices.DeleteFunc(slices.Clone(m.files), func(f string) bool { return f == "secret.yaml" })
	if got := slices.Sorted(slices.Values(k.Resources)); !slices.Equal(got, want) {
		t.Errorf("resources %v, want %v", got, want)
	}
	if len(k.Images) != 1 {
		t.Fatalf("images %+v, want one", k.Images)
	}
	for name, pod := range m.pods() {
		if img := regimportContainer(t, pod).Image; img != k.Images[0].Name {
			t.Errorf("%s runs image %q; kustomization.yaml renames %q", name, img, k.Images[0].Name)
		}
	}

	if _, err := exec.LookPath("kubectl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("kubectl is not installed (make test-deps installs it)")
		}
		t.Skip("kubectl is not installed; make test-deps installs it")
	}
	out, err := exec.Command("kubectl", "kustomize", ".").Output()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v", err)
	}
	objs, err := decodeDocuments("kubectl kustomize", out)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 5 {
		t.Errorf("kubectl kustomize built %d objects, want 5 (ConfigMap, CronJob, Deployment, Service, PodDisruptionBudget)", len(objs))
	}
	wantImage := k.Images[0].NewName + ":" + k.Images[0].NewTag
	for _, o := range objs {
		var img string
		switch o := o.(type) {
		case *batchv1.CronJob:
			img = o.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Image
		case *appsv1.Deployment:
			img = o.Spec.Template.Spec.Containers[0].Image
		default:
			continue
		}
		if img != wantImage {
			t.Errorf("%T: image %q after kustomize, want %q", o, img, wantImage)
		}
	}
}
