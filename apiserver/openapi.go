package apiserver

import (
	"fmt"
	"net/http"
	"strings"

	restful "github.com/emicklei/go-restful/v3"
	imagev1 "github.com/openshift/api/image/v1"
	"github.com/openshift/api/openapi/generated_openapi"
	"k8s.io/kube-openapi/pkg/builder"
	"k8s.io/kube-openapi/pkg/cached"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/common/restfuladapter"
	"k8s.io/kube-openapi/pkg/handler"
	"k8s.io/kube-openapi/pkg/handler3"
	"k8s.io/kube-openapi/pkg/openapiconv"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// OpenAPI documents. The schemas are the definitions openshift/api ships
// (generated from the same Go types and comments as OpenShift's apiserver
// serves), assembled by kube-openapi's builder and served by its handlers,
// which negotiate JSON or protobuf and answer ETags and ?hash= the way
// kube-apiserver does. kubectl explain and clients that validate find the
// schemas by
// group-version-kind.

const (
	openAPIV2Path = "/openapi/v2"
	openAPIV3Path = "/openapi/v3"
	// openAPIV3GroupPath is the one group version regimport serves.
	openAPIV3GroupPath = "apis/" + groupName + "/v1"
)

// servedKinds are the kinds whose schemas carry
// x-kubernetes-group-version-kind, keyed by openshift/api's definition name.
var servedKinds = map[string]string{
	"github.com/openshift/api/image/v1.Image":           "Image",
	"github.com/openshift/api/image/v1.ImageList":       "ImageList",
	"github.com/openshift/api/image/v1.ImageStream":     "ImageStream",
	"github.com/openshift/api/image/v1.ImageStreamList": "ImageStreamList",
}

// openAPI serves /openapi/v2 and /openapi/v3, built once on first use (the
// generated definitions of all of openshift/api take a moment to assemble).
type openAPI struct {
	v2 http.Handler
	v3 *handler3.OpenAPIService
}

// capture keeps the handler kube-openapi registers for /openapi/v2.
type capture struct{ h http.Handler }

func (c *capture) Handle(_ string, h http.Handler) { c.h = h }

func newOpenAPI() *openAPI {
	v2 := cached.Once(cached.Func(func() (*spec.Swagger, string, error) {
		sw, err := buildSwagger()
		return sw, "v2", err
	}))
	v3 := cached.Transform(func(sw *spec.Swagger, etag string, err error) (*spec3.OpenAPI, string, error) {
		if err != nil {
			return nil, "", err
		}
		return openapiconv.ConvertV2ToV3(sw), etag, nil
	}, v2)
	var c capture
	handler.NewOpenAPIServiceLazy(v2).RegisterOpenAPIVersionedService(openAPIV2Path, &c)
	o := &openAPI{v2: c.h, v3: handler3.NewOpenAPIService()}
	o.v3.UpdateGroupVersionLazy(openAPIV3GroupPath, cached.Once(v3))
	return o
}

// buildSwagger assembles the paths regimport serves (each GET carries
// x-kubernetes-group-version-kind, as kube-apiserver's do: kubectl explain
// finds a resource's kind through them) and the definitions of their
// models and of everything those reference.
func buildSwagger() (*spec.Swagger, error) {
	sw, err := builder.BuildOpenAPISpecFromRoutes(restfuladapter.AdaptWebServices([]*restful.WebService{routes()}), &common.Config{
		Info: &spec.Info{InfoProps: spec.InfoProps{
			Title:   "regimport: the OpenShift Image API, read-only",
			Version: imagev1.GroupVersion.Version,
		}},
		GetDefinitions:    generated_openapi.GetOpenAPIDefinitions,
		GetDefinitionName: definitionName,
	})
	if err != nil {
		return nil, fmt.Errorf("build the OpenAPI document: %w", err)
	}
	return sw, nil
}

// routes describes the read paths of the group for the builder; requests
// never go through it (route dispatches them).
func routes() *restful.WebService {
	ws := new(restful.WebService).Path("/apis/"+groupName+"/v1").Produces("application/json", "application/yaml")
	gvk := func(kind string) map[string]string {
		return map[string]string{"group": groupName, "version": imagev1.GroupVersion.Version, "kind": kind}
	}
	none := func(*restful.Request, *restful.Response) {}
	name := ws.PathParameter("name", "name of the object").DataType("string")
	namespace := ws.PathParameter("namespace", "object name and auth scope, such as for teams and projects").DataType("string")
	includeManifest := ws.QueryParameter(includeManifestParam, "serve dockerImageManifest and dockerImageConfig too (regimport; OpenShift clears both on imported Images)").DataType("boolean")
	list := func(rb *restful.RouteBuilder) *restful.RouteBuilder {
		for _, p := range []struct{ name, doc, typ string }{
			{"labelSelector", "a selector to restrict the list of returned objects by their labels", "string"},
			{"fieldSelector", "a selector to restrict the list of returned objects by their fields (metadata.name)", "string"},
			{"limit", "the maximum number of responses to return for a list call", "integer"},
			{"continue", "the continue token of the previous page", "string"},
			{"resourceVersion", "resourceVersion sets a constraint on what resource versions a request may be served from", "string"},
			{"watch", "watch for changes to the described resources", "boolean"},
		} {
			rb = rb.Param(ws.QueryParameter(p.name, p.doc).DataType(p.typ))
		}
		return rb.Metadata("x-kubernetes-action", "list")
	}
	ws.Route(list(ws.GET("/images").To(none).Operation("listImageOpenshiftIoV1Image").Doc("list or watch objects of kind Image").
		Param(includeManifest).Returns(200, "OK", imagev1.ImageList{})).Metadata("x-kubernetes-group-version-kind", gvk("Image")))
	ws.Route(ws.GET("/images/{name}").To(none).Operation("readImageOpenshiftIoV1Image").Doc("read the specified Image").
		Param(name).Param(includeManifest).Returns(200, "OK", imagev1.Image{}).
		Metadata("x-kubernetes-action", "get").Metadata("x-kubernetes-group-version-kind", gvk("Image")))
	ws.Route(list(ws.GET("/imagestreams").To(none).Operation("listImageOpenshiftIoV1ImageStreamForAllNamespaces").
		Doc("list objects of kind ImageStream").Returns(200, "OK", imagev1.ImageStreamList{})).Metadata("x-kubernetes-group-version-kind", gvk("ImageStream")))
	ws.Route(list(ws.GET("/namespaces/{namespace}/imagestreams").To(none).Operation("listImageOpenshiftIoV1NamespacedImageStream").
		Doc("list objects of kind ImageStream").Param(namespace).Returns(200, "OK", imagev1.ImageStreamList{})).
		Metadata("x-kubernetes-group-version-kind", gvk("ImageStream")))
	ws.Route(ws.GET("/namespaces/{namespace}/imagestreams/{name}").To(none).Operation("readImageOpenshiftIoV1NamespacedImageStream").
		Doc("read the specified ImageStream").Param(namespace).Param(name).Returns(200, "OK", imagev1.ImageStream{}).
		Metadata("x-kubernetes-action", "get").Metadata("x-kubernetes-group-version-kind", gvk("ImageStream")))
	return ws
}

// definitionName is the apiserver's friendly name for a Go type
// (github.com/openshift/api/image/v1.Image -> com.github.openshift.api.image.v1.Image),
// with the group-version-kind extension on the served kinds.
func definitionName(name string) (string, spec.Extensions) {
	pkg, typ := name, ""
	if i := strings.LastIndex(name, "."); i >= 0 {
		pkg, typ = name[:i], name[i+1:]
	}
	parts := strings.Split(pkg, "/")
	host := strings.Split(parts[0], ".")
	for i, j := 0, len(host)-1; i < j; i, j = i+1, j-1 {
		host[i], host[j] = host[j], host[i]
	}
	friendly := strings.Join(append(append(host, parts[1:]...), typ), ".")
	friendly = strings.ReplaceAll(friendly, "-", "_")
	kind, ok := servedKinds[name]
	if !ok {
		return friendly, nil
	}
	return friendly, spec.Extensions{"x-kubernetes-group-version-kind": []any{
		map[string]any{"group": groupName, "version": imagev1.GroupVersion.Version, "kind": kind},
	}}
}

// serve answers the OpenAPI paths; ok is false for any other path.
func (o *openAPI) serve(w http.ResponseWriter, r *http.Request, path string) (ok bool) {
	switch {
	case path == openAPIV2Path:
		o.v2.ServeHTTP(w, r)
	case path == openAPIV3Path:
		o.v3.HandleDiscovery(w, r)
	case path == openAPIV3Path+"/"+openAPIV3GroupPath:
		o.v3.HandleGroupVersion(w, r)
	default:
		return false
	}
	return true
}
