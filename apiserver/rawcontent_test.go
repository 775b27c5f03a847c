package apiserver

import (
	"context"
	"net/http"
	"strings"
	"testing"

	imagev1 "github.com/openshift/api/image/v1"
)

// Images are served without their raw manifest and config unless
// ?includeManifest=true asks for them, on get, list and watch; the catalog
// still holds both.
func TestIncludeManifest(t *testing.T) {
	f := newFixture(t, 6)
	_, ts := serve(t, f.reader, Options{})
	ctx := context.Background()
	names := allNames(t, f.reader)
	stored, err := f.reader.GetImage(ctx, names[1])
	if err != nil {
		t.Fatal(err)
	}
	if stored.DockerImageManifest == "" {
		t.Fatal("the catalog lost the raw manifest")
	}

	code, b := get(t, ts.URL+imagesPath+"/"+names[1])
	if img := decode[imagev1.Image](t, b); code != http.StatusOK || img.DockerImageManifest != "" || img.DockerImageConfig != "" || img.Name != names[1] {
		t.Errorf("default get: %d, manifest %q, config %q", code, img.DockerImageManifest, img.DockerImageConfig)
	}
	code, b = get(t, ts.URL+imagesPath+"/"+names[1]+"?includeManifest=true")
	if img := decode[imagev1.Image](t, b); code != http.StatusOK || img.DockerImageManifest != stored.DockerImageManifest || img.DockerImageConfig != stored.DockerImageConfig {
		t.Errorf("get with includeManifest: %d, manifest %q, config %q", code, img.DockerImageManifest, img.DockerImageConfig)
	}

	code, b = get(t, ts.URL+imagesPath+"?limit=4")
	list := decode[imagev1.ImageList](t, b)
	if code != http.StatusOK || len(list.Items) != 4 {
		t.Fatalf("default list: %d, %d items", code, len(list.Items))
	}
	for _, img := range list.Items {
		if img.DockerImageManifest != "" || img.DockerImageConfig != "" {
			t.Errorf("default list item %s carries raw content", img.Name)
		}
	}
	code, b = get(t, ts.URL+imagesPath+"?includeManifest=true")
	list = decode[imagev1.ImageList](t, b)
	withConfig := 0
	for _, img := range list.Items {
		if img.DockerImageManifest == "" {
			t.Errorf("list item %s without its manifest under includeManifest", img.Name)
		}
		if img.DockerImageConfig != "" {
			withConfig++
		}
	}
	if code != http.StatusOK || len(list.Items) != len(names) || withConfig == 0 {
		t.Errorf("list with includeManifest: %d, %d items, %d with a config", code, len(list.Items), withConfig)
	}

	es := openWatch(t, ts.URL+imagesPath+"?watch=true&resourceVersion=0&timeoutSeconds=1&includeManifest=1", nil)
	if img := imageOf(t, es.mustNext(t)); img.DockerImageManifest == "" {
		t.Error("watch with includeManifest: no manifest")
	}
	es = openWatch(t, ts.URL+imagesPath+"?watch=true&resourceVersion=0&timeoutSeconds=1", nil)
	if img := imageOf(t, es.mustNext(t)); img.DockerImageManifest != "" {
		t.Error("default watch carries the manifest")
	}

	code, b = get(t, ts.URL+imagesPath+"?includeManifest=maybe")
	if code != http.StatusBadRequest || !strings.Contains(string(b), `includeManifest must be true or false, not \"maybe\"`) {
		t.Errorf("bad value: %d %s", code, b)
	}
}
