package apiserver

import (
	"net/http"
	"strconv"

	imagev1 "github.com/openshift/api/image/v1"
)

// includeManifestParam asks for the raw manifest and config on Images
// (GET, LIST and WATCH). OpenShift clears dockerImageManifest and
// dockerImageConfig on the Images an import creates, so by default the
// endpoint serves neither; the catalog keeps both for audits and offline
// re-verification, and this parameter serves them.
//
// A query parameter rather than a label selector: it changes what is
// served, not which objects match, so a selector would lie to caches that
// key on it. kubectl passes it with `get --raw '...?includeManifest=true'`,
// client-go with RESTClient().Get()...Param("includeManifest", "true").
// The name is the one ImageStreamImport uses for the same choice.
const includeManifestParam = "includeManifest"

// includeRaw reads includeManifest like the apiserver reads a bool
// parameter: absent is false; a value that is no bool is a 400.
func includeRaw(r *http.Request) (bool, error) {
	v, ok := r.URL.Query()[includeManifestParam]
	if !ok || len(v) == 0 || v[0] == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v[0])
	if err != nil {
		return false, badRequest("%s must be true or false, not %q", includeManifestParam, v[0])
	}
	return b, nil
}

// withoutRaw clears the raw manifest and config, as OpenShift's
// PrepareImageForCreate does before it stores an imported Image.
func withoutRaw(img *imagev1.Image) {
	img.DockerImageManifest, img.DockerImageConfig = "", ""
}
