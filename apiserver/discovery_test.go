package apiserver

import (
	"strings"
	"testing"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

func TestDiscovery(t *testing.T) {
	f := newFixture(t, 2)
	_, ts := serve(t, f.reader, Options{})

	t.Run("documents", func(t *testing.T) {
		_, body := get(t, ts.URL+"/apis")
		groups := decode[metav1.APIGroupList](t, body)
		if groups.Kind != "APIGroupList" || len(groups.Groups) != 1 || groups.Groups[0].PreferredVersion.GroupVersion != "image.openshift.io/v1" {
			t.Errorf("/apis: %s", body)
		}
		_, body = get(t, ts.URL+"/apis/image.openshift.io")
		if g := decode[metav1.APIGroup](t, body); g.Kind != "APIGroup" || g.Name != "image.openshift.io" || g.PreferredVersion.Version != "v1" {
			t.Errorf("/apis/image.openshift.io: %s", body)
		}
		_, body = get(t, ts.URL+"/apis/image.openshift.io/v1")
		res := decode[metav1.APIResourceList](t, body)
		img := res.APIResources[0]
		if res.GroupVersion != "image.openshift.io/v1" || img.Name != "images" || img.SingularName != "image" || img.Namespaced ||
			img.Kind != "Image" || strings.Join(img.Verbs, ",") != "get,list,watch" {
			t.Errorf("/apis/image.openshift.io/v1: %s", body)
		}
		_, body = get(t, ts.URL+"/oapi/v1")
		if res := decode[metav1.APIResourceList](t, body); res.GroupVersion != "v1" || len(res.APIResources) != 1 || res.APIResources[0].Name != "images" {
			t.Errorf("/oapi/v1: %s", body)
		}
		for _, p := range []string{"/api", "/oapi"} {
			_, body = get(t, ts.URL+p)
			if v := decode[metav1.APIVersions](t, body); v.Kind != "APIVersions" || strings.Join(v.Versions, ",") != "v1" {
				t.Errorf("%s: %s", p, body)
			}
		}
		_, body = get(t, ts.URL+"/version")
		if v := decode[version.Info](t, body); v.Major != "1" || !strings.Contains(v.GitVersion, "regimport") {
			t.Errorf("/version: %s", body)
		}
	})
	t.Run("aggregated", func(t *testing.T) {
		code, hdr, body := request(t, "GET", ts.URL+"/apis", map[string]string{"Accept": aggregatedV2 + ",application/json"})
		list := decode[apidiscoveryv2.APIGroupDiscoveryList](t, body)
		if code != 200 || hdr.Get("Content-Type") != aggregatedV2 || len(list.Items) != 1 || list.Items[0].Versions[0].Resources[0].Resource != "images" {
			t.Errorf("%d %s %s", code, hdr.Get("Content-Type"), body)
		}
	})
	t.Run("client-go discovery", func(t *testing.T) {
		for _, legacy := range []bool{false, true} {
			dc, err := discovery.NewDiscoveryClientForConfig(&rest.Config{Host: ts.URL})
			if err != nil {
				t.Fatal(err)
			}
			dc.UseLegacyDiscovery = legacy
			_, lists, err := dc.ServerGroupsAndResources()
			if err != nil {
				t.Fatalf("legacy=%v: %v", legacy, err)
			}
			found := false
			for _, l := range lists {
				for _, r := range l.APIResources {
					if l.GroupVersion == "image.openshift.io/v1" && r.Name == "images" && r.Kind == "Image" {
						found = true
					}
				}
			}
			if !found {
				t.Errorf("legacy=%v: images not discovered in %+v", legacy, lists)
			}
			if v, err := dc.ServerVersion(); err != nil || v.Minor != "34" {
				t.Errorf("server version %v %v", v, err)
			}
		}
	})
	t.Run("metrics", func(t *testing.T) {
		get(t, ts.URL+imagesPath)
		get(t, ts.URL+imagesPath+"/sha256:missing")
		request(t, "DELETE", ts.URL+imagesPath, nil)
		_, body := get(t, ts.URL+"/metrics")
		for _, want := range []string{
			`apiserver_request_total{code="200",resource="images",verb="LIST"}`,
			`apiserver_request_total{code="404",resource="images",verb="GET"}`,
			`apiserver_request_total{code="405",resource="images",verb="DELETECOLLECTION"}`,
			`apiserver_request_duration_seconds_bucket{resource="images",verb="LIST",le="0.0005"}`,
			`apiserver_storage_objects{resource="images.image.openshift.io"} 2`,
			"apiserver_longrunning_requests 0",
			"go_goroutines",
		} {
			if !strings.Contains(string(body), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
	t.Run("readyz fails without a catalog", func(t *testing.T) {
		f2 := newFixture(t, 1)
		_, ts2 := serve(t, f2.reader, Options{})
		f2.reader.Close()
		if code, body := get(t, ts2.URL+"/readyz"); code != 500 || !strings.Contains(string(body), "readyz check failed") {
			t.Errorf("%d %s", code, body)
		}
		if code, _ := get(t, ts2.URL+"/healthz"); code != 200 {
			t.Errorf("healthz %d", code)
		}
		code, body := get(t, ts2.URL+imagesPath)
		if st := decode[metav1.Status](t, body); code != 500 || st.Reason != metav1.StatusReasonInternalError || strings.Contains(st.Message, f2.path) {
			t.Errorf("list on a closed catalog: %d %s", code, body)
		}
	})
}

func TestNewValidates(t *testing.T) {
	if _, err := New(nil, Options{}); err == nil {
		t.Error("nil reader accepted")
	}
	f := newFixture(t, 0)
	if _, err := New(f.reader, Options{Token: " padded\n"}); err == nil {
		t.Error("a token with white space accepted")
	}
	if _, err := New(f.reader, Options{WatchPollInterval: -1}); err == nil {
		t.Error("negative interval accepted")
	}
}
