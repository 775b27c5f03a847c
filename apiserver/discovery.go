package apiserver

import (
	"mime"
	"net/http"
	"runtime"
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
)

// aggregatedV2 is the media type of aggregated discovery, which kubectl and
// client-go ask for first: the whole API in two requests (/api, /apis).
const aggregatedV2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

// discoveryDoc builds a discovery answer; aggregated is set when the client
// accepts aggregated discovery.
type discoveryDoc func(r *http.Request, aggregated bool) (obj any, contentType string)

// discovery returns the document served at path, if it is a discovery path.
func (s *Server) discovery(path string) (discoveryDoc, bool) {
	plain := func(v any) discoveryDoc {
		return func(*http.Request, bool) (any, string) { return v, "application/json" }
	}
	switch path {
	case "/":
		return plain(&metav1.RootPaths{Paths: []string{
			"/api", "/api/v1", "/apis", "/apis/" + groupName, "/apis/" + groupVersion,
			"/healthz", "/livez", "/metrics", "/oapi", "/oapi/v1", "/readyz", "/version",
		}}), true
	case "/api":
		return func(r *http.Request, aggregated bool) (any, string) {
			if aggregated {
				return aggregatedList(apidiscoveryv2.APIGroupDiscovery{
					Versions: []apidiscoveryv2.APIVersionDiscovery{{Version: "v1", Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}},
				}), aggregatedV2
			}
			return apiVersions(r), "application/json"
		}, true
	case "/api/v1":
		return plain(resourceList("v1", nil)), true
	case "/apis":
		return func(r *http.Request, aggregated bool) (any, string) {
			if aggregated {
				return aggregatedList(groupDiscovery()), aggregatedV2
			}
			return &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}, Groups: []metav1.APIGroup{apiGroup()}}, "application/json"
		}, true
	case "/apis/" + groupName:
		g := apiGroup()
		g.TypeMeta = metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}
		return plain(&g), true
	case "/apis/" + groupVersion:
		return plain(resourceList(groupVersion, apiResources(false))), true
	case "/oapi":
		return func(r *http.Request, _ bool) (any, string) { return apiVersions(r), "application/json" }, true
	case "/oapi/v1":
		return plain(resourceList("v1", apiResources(true))), true
	case "/version":
		return plain(&version.Info{
			Major: "1", Minor: "34", GitVersion: "v1.34.1+regimport", GitTreeState: "clean",
			GoVersion: runtime.Version(), Compiler: runtime.Compiler, Platform: runtime.GOOS + "/" + runtime.GOARCH,
		}), true
	}
	return nil, false
}

func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request, doc discoveryDoc) {
	obj, ct := doc(r, acceptsAggregated(r.Header.Get("Accept")))
	b, err := marshal(obj, isPrettyPrint(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(append(b, '\n'))
}

func acceptsAggregated(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, p, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && mt == "application/json" && p["g"] == "apidiscovery.k8s.io" && p["v"] == "v2" && p["as"] == "APIGroupDiscoveryList" {
			return true
		}
	}
	return false
}

func apiVersions(r *http.Request) *metav1.APIVersions {
	return &metav1.APIVersions{
		TypeMeta:                   metav1.TypeMeta{Kind: "APIVersions"},
		Versions:                   []string{"v1"},
		ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host}},
	}
}

func apiGroup() metav1.APIGroup {
	v := metav1.GroupVersionForDiscovery{GroupVersion: groupVersion, Version: "v1"}
	return metav1.APIGroup{Name: groupName, Versions: []metav1.GroupVersionForDiscovery{v}, PreferredVersion: v}
}

func resourceList(gv string, res []metav1.APIResource) *metav1.APIResourceList {
	if res == nil {
		res = []metav1.APIResource{}
	}
	return &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv, APIResources: res}
}

// apiResources lists what the group version serves; the legacy /oapi/v1
// serves images only.
func apiResources(legacy bool) []metav1.APIResource {
	res := []metav1.APIResource{{
		Name: resImages, SingularName: "image", Namespaced: false, Kind: "Image",
		Verbs: metav1.Verbs{"get", "list", "watch"},
	}}
	if !legacy {
		res = append(res, metav1.APIResource{
			Name: resStreams, SingularName: "imagestream", Namespaced: true, Kind: "ImageStream",
			Verbs: metav1.Verbs{"get", "list", "watch"}, ShortNames: []string{"is"}, Categories: []string{"all"},
		})
	}
	return res
}

func groupDiscovery() apidiscoveryv2.APIGroupDiscovery {
	var res []apidiscoveryv2.APIResourceDiscovery
	for _, r := range apiResources(false) {
		scope := apidiscoveryv2.ScopeCluster
		if r.Namespaced {
			scope = apidiscoveryv2.ScopeNamespace
		}
		res = append(res, apidiscoveryv2.APIResourceDiscovery{
			Resource: r.Name, SingularResource: r.SingularName, Scope: scope, Verbs: r.Verbs,
			ShortNames: r.ShortNames, Categories: r.Categories,
			ResponseKind: &metav1.GroupVersionKind{Group: groupName, Version: "v1", Kind: r.Kind},
		})
	}
	return apidiscoveryv2.APIGroupDiscovery{
		ObjectMeta: metav1.ObjectMeta{Name: groupName},
		Versions: []apidiscoveryv2.APIVersionDiscovery{{
			Version: "v1", Resources: res, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent,
		}},
	}
}

func aggregatedList(groups ...apidiscoveryv2.APIGroupDiscovery) *apidiscoveryv2.APIGroupDiscoveryList {
	return &apidiscoveryv2.APIGroupDiscoveryList{
		TypeMeta: metav1.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/v2"},
		Items:    groups,
	}
}
