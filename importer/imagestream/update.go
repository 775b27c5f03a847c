package imagestream

import (
	"github.com/regimport/regimport/catalog"
	"sort"
	"time"

	imagev1 "github.com/openshift/api/image/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TagUpdate is what one imported (or failed) tag does to an image stream,
// in the order OpenShift's ImageStreamImport applies them: the repository's
// tags first, then spec.images.
type TagUpdate struct {
	Tag       string
	From      string // the spec tag's from.name
	Policy    imagev1.TagImportPolicy
	RefPolicy imagev1.TagReferencePolicy
	// SpecImage: from spec.images, whose failed tags still get a spec tag.
	SpecImage bool
	// Image and PullSpec on success; Failure otherwise.
	Image, PullSpec string
	Failure         *metav1.Status
}

// Apply returns the image stream an import leaves, or nil when it
// changes nothing, as OpenShift's imagestreamimport REST and the image
// stream strategy compute it: a tag event pushed to the front (collapsed
// when the tag did not move), failed tags marked ImportSuccess=False,
// spec tags set from what was imported, and generations.
func Apply(current *imagev1.ImageStream, namespace, name string, updates []TagUpdate, now time.Time) *imagev1.ImageStream {
	at := metav1.NewTime(now.UTC().Truncate(time.Second))
	create := current == nil
	stream := current
	if create {
		stream = &imagev1.ImageStream{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	}
	withoutDerivedConditions(stream)
	original := stream.DeepCopy()
	nextGeneration := stream.Generation + 1
	x := indexTags(stream)
	for _, u := range updates {
		if u.Failure != nil {
			x.setFailureCondition(u.Tag, *u.Failure, nextGeneration, at)
			if u.SpecImage {
				x.ensureSpecTag(u, false)
			}
			continue
		}
		event := imagev1.TagEvent{Created: at, DockerImageReference: u.PullSpec, Image: u.Image, Generation: nextGeneration}
		if x.hasTagChanged(u.Tag, event) {
			x.ensureSpecTag(u, true)
			x.addTagEvent(u.Tag, event)
		}
		x.specTag(u.Tag).ImportPolicy = u.Policy
		x.statusTag(u.Tag).Conditions = nil // a success clears earlier failures
	}
	sortTags(stream)
	if stream.Annotations == nil {
		stream.Annotations = map[string]string{}
	}
	_, checked := original.Annotations[imagev1.DockerImageRepositoryCheckAnnotation]
	if create {
		stream.Annotations[imagev1.DockerImageRepositoryCheckAnnotation] = at.UTC().Format(time.RFC3339)
		stream.Generation = 1
		for i := range stream.Spec.Tags {
			stream.Spec.Tags[i].Generation = ptr(int64(1))
		}
		return stream
	}
	if checked && equality.Semantic.DeepEqual(original, stream) {
		return nil
	}
	stream.Annotations[imagev1.DockerImageRepositoryCheckAnnotation] = at.UTC().Format(time.RFC3339)
	prepareForUpdate(stream, original)
	return stream
}

// withoutDerivedConditions drops the status tag conditions the catalog
// derives when it reads a stream (the signature verdict), which an import
// neither sets nor clears.
func withoutDerivedConditions(stream *imagev1.ImageStream) {
	for i := range stream.Status.Tags {
		conds := stream.Status.Tags[i].Conditions[:0]
		for _, c := range stream.Status.Tags[i].Conditions {
			if !catalog.IsDerivedCondition(c.Type) {
				conds = append(conds, c)
			}
		}
		if len(conds) == 0 {
			conds = nil
		}
		stream.Status.Tags[i].Conditions = conds
	}
}

// prepareForUpdate is the image stream strategy's generation bookkeeping:
// the stream's generation moves when its spec does, and new, moved or reset
// spec tags take the stream's generation.
func prepareForUpdate(stream, old *imagev1.ImageStream) {
	kept := stream.Status.Tags[:0]
	for _, t := range stream.Status.Tags {
		if len(t.Items) > 0 || len(t.Conditions) > 0 {
			kept = append(kept, t)
		}
	}
	stream.Status.Tags = kept
	stream.Generation = old.Generation
	oldTags := indexTags(old)
	for i := range stream.Spec.Tags {
		ref := &stream.Spec.Tags[i]
		if ref.Generation != nil && *ref.Generation == 0 {
			continue
		}
		if oldRef := oldTags.findSpec(ref.Name); oldRef != nil {
			ref.Generation = oldRef.Generation
		}
	}
	if !equality.Semantic.DeepEqual(old.Spec, stream.Spec) || stream.Generation == 0 {
		stream.Generation = old.Generation + 1
	}
	for i := range stream.Spec.Tags {
		ref := &stream.Spec.Tags[i]
		if oldRef := oldTags.findSpec(ref.Name); oldRef == nil || tagRefChanged(*oldRef, *ref, stream.Namespace) {
			ref.Generation = nil
		}
		if ref.Generation != nil && *ref.Generation != 0 {
			continue
		}
		ref.Generation = ptr(stream.Generation)
	}
}

// tagRefChanged is the strategy's test for a spec tag that must take the
// stream's new generation.
func tagRefChanged(old, next imagev1.TagReference, namespace string) bool {
	if next.From == nil || next.From.Kind == "" && next.From.Name == "" {
		return false
	}
	oldFrom := old.From
	if oldFrom == nil {
		oldFrom = &corev1.ObjectReference{}
	}
	oldNS, nextNS := oldFrom.Namespace, next.From.Namespace
	if oldNS == "" {
		oldNS = namespace
	}
	if nextNS == "" {
		nextNS = namespace
	}
	switch {
	case oldNS != nextNS, oldFrom.Name != next.From.Name, old.Reference != next.Reference,
		old.ImportPolicy.ImportMode != next.ImportPolicy.ImportMode:
		return true
	}
	return old.Generation != nil && next.Generation != nil && *old.Generation != *next.Generation && *next.Generation == 0
}

// hasTagChanged reports whether a tag must get event e: it is new, points
// elsewhere, or its spec asks for a newer generation.
func (x *tagIndex) hasTagChanged(tag string, e imagev1.TagEvent) bool {
	st := x.findStatus(tag)
	if st == nil || len(st.Items) == 0 {
		return true
	}
	spec := x.findSpec(tag)
	if spec == nil || spec.Generation == nil {
		return true
	}
	prev := st.Items[0]
	return prev.DockerImageReference != e.DockerImageReference || prev.Image != e.Image || *spec.Generation > prev.Generation
}

// addTagEvent is OpenShift's AddTagEventToImageStream: the event goes to
// the front, unless the newest one names the same image or reference, in
// which case that one is updated in place.
func (x *tagIndex) addTagEvent(tag string, next imagev1.TagEvent) {
	st := x.statusTag(tag)
	if len(st.Items) == 0 {
		st.Items = []imagev1.TagEvent{next}
		return
	}
	prev := &st.Items[0]
	sameRef, sameImage := prev.DockerImageReference == next.DockerImageReference, prev.Image == next.Image
	switch {
	case sameRef && sameImage && prev.Generation == next.Generation:
		return
	case sameRef && sameImage:
	case sameRef:
		prev.Image = next.Image
	case sameImage:
		prev.DockerImageReference = next.DockerImageReference
	default:
		st.Conditions = nil
		st.Items = append([]imagev1.TagEvent{next}, st.Items...)
		return
	}
	prev.Generation = next.Generation
	st.Conditions = nil
}

// setFailureCondition marks a tag ImportSuccess=False with the Status's
// reason and message, unless it already says exactly that.
func (x *tagIndex) setFailureCondition(tag string, status metav1.Status, generation int64, at metav1.Time) {
	message := status.Message
	if message == "" {
		message = "unknown error prevented import"
	}
	cond := imagev1.TagEventCondition{Type: imagev1.ImportSuccess, Status: corev1.ConditionFalse, Message: message,
		Reason: string(status.Reason), Generation: generation, LastTransitionTime: at}
	if st := x.findStatus(tag); st != nil {
		for _, c := range st.Conditions {
			if c.Type == cond.Type && c.Status == cond.Status && c.Reason == cond.Reason && c.Message == cond.Message {
				return
			}
		}
	}
	x.statusTag(tag).Conditions = []imagev1.TagEventCondition{cond}
	if spec := x.findSpec(tag); spec != nil {
		spec.Generation = ptr(int64(0))
	}
}

// ensureSpecTag points a spec tag at what was imported; an existing one is
// left alone unless reset. An explicit reference policy is kept.
func (x *tagIndex) ensureSpecTag(u TagUpdate, reset bool) {
	if x.findSpec(u.Tag) != nil && !reset {
		return
	}
	spec := x.specTag(u.Tag)
	spec.From = &corev1.ObjectReference{Kind: "DockerImage", Name: u.From}
	spec.Generation = ptr(int64(0))
	spec.ImportPolicy = u.Policy
	if spec.ReferencePolicy.Type == "" {
		spec.ReferencePolicy = u.RefPolicy
	}
}

// tagIndex finds a stream's spec and status tags by name without scanning:
// repository imports can carry thousands of tags.
type tagIndex struct {
	is           *imagev1.ImageStream
	spec, status map[string]int
}

func indexTags(is *imagev1.ImageStream) *tagIndex {
	x := &tagIndex{is: is, spec: map[string]int{}, status: map[string]int{}}
	for i, t := range is.Spec.Tags {
		x.spec[t.Name] = i
	}
	for i, t := range is.Status.Tags {
		x.status[t.Tag] = i
	}
	return x
}

// SpecTag is the stream's spec tag named tag, or nil.
func SpecTag(is *imagev1.ImageStream, tag string) *imagev1.TagReference {
	return indexTags(is).findSpec(tag)
}

func (x *tagIndex) findSpec(tag string) *imagev1.TagReference {
	if i, ok := x.spec[tag]; ok {
		return &x.is.Spec.Tags[i]
	}
	return nil
}

// specTag finds or adds a spec tag.
func (x *tagIndex) specTag(tag string) *imagev1.TagReference {
	if _, ok := x.spec[tag]; !ok {
		x.spec[tag] = len(x.is.Spec.Tags)
		x.is.Spec.Tags = append(x.is.Spec.Tags, imagev1.TagReference{Name: tag})
	}
	return x.findSpec(tag)
}

func (x *tagIndex) findStatus(tag string) *imagev1.NamedTagEventList {
	if i, ok := x.status[tag]; ok {
		return &x.is.Status.Tags[i]
	}
	return nil
}

// statusTag finds or adds a status tag.
func (x *tagIndex) statusTag(tag string) *imagev1.NamedTagEventList {
	if _, ok := x.status[tag]; !ok {
		x.status[tag] = len(x.is.Status.Tags)
		x.is.Status.Tags = append(x.is.Status.Tags, imagev1.NamedTagEventList{Tag: tag})
	}
	return x.findStatus(tag)
}

// sortTags orders tags by name, as OpenShift serves its maps.
func sortTags(stream *imagev1.ImageStream) {
	sort.Slice(stream.Spec.Tags, func(i, j int) bool { return stream.Spec.Tags[i].Name < stream.Spec.Tags[j].Name })
	sort.Slice(stream.Status.Tags, func(i, j int) bool { return stream.Status.Tags[i].Tag < stream.Status.Tags[j].Tag })
}

func ptr[T any](v T) *T { return &v }
