package imagestream

import (
	"time"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	kapierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// DockerImageResource is what OpenShift's importer names in NotFound statuses.
var DockerImageResource = schema.GroupResource{Group: imagev1.GroupName, Resource: "dockerimage"}

// MarkRemovedTags shows a removed tag in the image streams whose spec tags
// import it (from.name names repository:tag, however written) as OpenShift
// shows a tag whose scheduled import now fails: the tag keeps its history,
// gets ImportSuccess=False with reason NotFound and the message of a 404,
// and its spec tag's generation is reset (see Apply). The digest the
// tag had is not compared: a Legacy import keeps a list's child there.
func MarkRemovedTags(now time.Time) catalog.StreamMarker {
	return func(cur *imagev1.ImageStream, repository, tag, previous string) *imagev1.ImageStream {
		var updates []TagUpdate
		for _, spec := range cur.Spec.Tags {
			if spec.From == nil || spec.From.Kind != "DockerImage" || !pullsTag(spec.From.Name, repository, tag) {
				continue
			}
			status := kapierrors.NewNotFound(DockerImageResource, repository+":"+tag).ErrStatus
			updates = append(updates, TagUpdate{Tag: spec.Name, From: spec.From.Name, Policy: spec.ImportPolicy,
				RefPolicy: spec.ReferencePolicy, SpecImage: true, Failure: &status})
		}
		if len(updates) == 0 {
			return nil
		}
		return Apply(cur, cur.Namespace, cur.Name, updates, now)
	}
}

// pullsTag reports whether a spec tag's from.name names repository:tag.
func pullsTag(from, repository, tag string) bool {
	f, err := ParseFrom(from)
	if err != nil || f.ID != "" {
		return false
	}
	named, err := f.Normalized()
	if err != nil || named.Name() != repository {
		return false
	}
	t := f.Tag
	if t == "" {
		t = "latest"
	}
	return t == tag
}
