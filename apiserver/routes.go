package apiserver

import (
	"context"
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

const (
	groupName    = "image.openshift.io"
	groupVersion = groupName + "/v1"
	groupPrefix  = "/apis/" + groupVersion + "/"
	legacyPrefix = "/oapi/v1/"

	resImages  = "images"
	resStreams = "imagestreams"
)

// target is the API object a resource path names.
type target struct {
	legacy    bool   // under /oapi/v1: objects say apiVersion v1
	resource  string // resImages or resStreams
	namespace string // image streams only; "" is every namespace
	name      string // "" for the collection
	watch     bool   // the /watch/ path form
	// includeRaw serves Images with their raw manifest and config
	// (?includeManifest=true).
	includeRaw bool
}

func (t target) groupResource() schema.GroupResource {
	if t.legacy {
		return schema.GroupResource{Resource: t.resource}
	}
	return schema.GroupResource{Group: groupName, Resource: t.resource}
}

func (t target) apiVersion() string {
	if t.legacy {
		return "v1"
	}
	return groupVersion
}

func (t target) kind() string {
	if t.resource == resStreams {
		return "ImageStream"
	}
	return "Image"
}

// route dispatches everything but the health checks.
func (s *Server) route(w http.ResponseWriter, r *http.Request, info *requestInfo) {
	path := r.URL.Path
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	if doc, ok := s.discovery(path); ok {
		if !readMethod(r.Method) {
			s.writeError(w, r, methodNotAllowed())
			return
		}
		s.serveDiscovery(w, r, doc)
		return
	}
	if strings.HasPrefix(path, "/openapi/") {
		if !readMethod(r.Method) {
			s.writeError(w, r, methodNotAllowed())
			return
		}
		if s.openAPI.serve(w, r, path) {
			return
		}
	}
	if path == "/metrics" {
		if !readMethod(r.Method) {
			s.writeError(w, r, methodNotAllowed())
			return
		}
		s.metrics.handler().ServeHTTP(w, r)
		return
	}
	var t target
	var ok bool
	if rest, found := strings.CutPrefix(path, groupPrefix); found {
		t, ok = parseTarget(rest, false)
	} else if rest, found := strings.CutPrefix(path, legacyPrefix); found {
		t, ok = parseTarget(rest, true)
	}
	if !ok {
		s.writeError(w, r, notFoundPath())
		return
	}
	info.resource = t.resource
	if !readMethod(r.Method) {
		verb, metricVerb := writeVerb(r.Method, t.name != "")
		info.verb = metricVerb
		s.writeError(w, r, methodNotSupported(t, verb))
		return
	}
	s.serveRead(w, r, info, t)
}

// parseTarget reads the part of a path after the group version.
func parseTarget(rest string, legacy bool) (target, bool) {
	t := target{legacy: legacy}
	segs := strings.Split(rest, "/")
	if segs[0] == "watch" {
		t.watch, segs = true, segs[1:]
	}
	for _, s := range segs {
		if s == "" {
			return t, false
		}
	}
	switch {
	case len(segs) >= 1 && len(segs) <= 2 && segs[0] == resImages:
		t.resource = resImages
		if len(segs) == 2 {
			t.name = segs[1]
		}
	case legacy:
		return t, false
	case len(segs) == 1 && segs[0] == resStreams:
		t.resource = resStreams
	case len(segs) >= 3 && len(segs) <= 4 && segs[0] == "namespaces" && segs[2] == resStreams:
		t.resource, t.namespace = resStreams, segs[1]
		if len(segs) == 4 {
			t.name = segs[3]
		}
	default:
		return t, false
	}
	return t, true
}

func readMethod(m string) bool { return m == http.MethodGet || m == http.MethodHead }

// writeVerb names a write for the 405 message (the apiserver's verb) and for
// metrics (the apiserver's metric label).
func writeVerb(method string, item bool) (verb, metric string) {
	switch method {
	case http.MethodPost:
		return "create", "POST"
	case http.MethodPut:
		return "update", "PUT"
	case http.MethodPatch:
		return "patch", "PATCH"
	case http.MethodDelete:
		if item {
			return "delete", "DELETE"
		}
		return "deletecollection", "DELETECOLLECTION"
	}
	return strings.ToLower(method), method
}

// serveRead answers GET and HEAD on a resource path.
func (s *Server) serveRead(w http.ResponseWriter, r *http.Request, info *requestInfo, t target) {
	out, err := negotiate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if t.includeRaw, err = includeRaw(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	if t.watch || watchRequested(r) {
		info.verb = "WATCH"
		s.watchResource(w, r, t, out)
		return
	}
	// Gets and lists end by RequestTimeout, whatever timeoutSeconds asks;
	// the connection's write deadline follows a little later (HTTPServer).
	ctx, cancel := context.WithTimeout(r.Context(), s.limits.RequestTimeout)
	defer cancel()
	r = r.WithContext(ctx)
	switch {
	case t.name != "":
		info.verb = "GET"
		if t.resource == resImages {
			s.getImage(w, r, t, out)
		} else {
			s.getImageStream(w, r, t, out)
		}
	default:
		info.verb = "LIST"
		if t.resource == resImages {
			s.listImages(w, r, t, out)
		} else {
			s.listImageStreams(w, r, t, out)
		}
	}
}

// watchRequested reads ?watch= the way the ListOptions codec does: present
// and neither "0" nor "false" means true.
func watchRequested(r *http.Request) bool {
	v, ok := r.URL.Query()["watch"]
	return ok && len(v) > 0 && v[0] != "0" && !strings.EqualFold(v[0], "false")
}
