package streamimport

import (
	"errors"
	"fmt"

	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/importer/imagestream"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/registry"
	kapierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// importStatus turns an import error into the Status OpenShift's importer
// reports for it, with reasonOf choosing the reason: NotFound 404,
// Unauthorized 401, Forbidden 403, BadRequest 400, Invalid 422 (cause
// field from.name), InternalError 500 for everything else. ref names the
// image (repo:tag, repo@digest or the repository), from the from.name as
// written, repo the repository.
func importStatus(err error, ref, from, repo string) metav1.Status {
	switch importer.ReasonOf(err) {
	case metav1.StatusReasonNotFound:
		return kapierrors.NewNotFound(imagestream.DockerImageResource, ref).ErrStatus
	case metav1.StatusReasonUnauthorized:
		return kapierrors.NewUnauthorized(fmt.Sprintf("you may not have access to the container image %q", ref)).ErrStatus
	case metav1.StatusReasonForbidden:
		return kapierrors.NewForbidden(schema.GroupResource{}, "", err).ErrStatus
	case metav1.StatusReasonBadRequest:
		if errors.Is(err, registry.ErrInsecureRequired) {
			return kapierrors.NewBadRequest(fmt.Sprintf("the repository %s is HTTP only and requires the insecure flag to import", repo)).ErrStatus
		}
		return kapierrors.NewBadRequest(fmt.Sprintf("%s: %v", ref, err)).ErrStatus
	case metav1.StatusReasonInvalid:
		return invalidFrom(from, err)
	}
	return kapierrors.NewInternalError(fmt.Errorf("%s: %w", ref, err)).ErrStatus
}

// invalidFrom is OpenShift's status for a from.name its importer cannot use.
func invalidFrom(from string, err error) metav1.Status {
	fe := field.Invalid(field.NewPath("from", "name"), from, fmt.Sprintf("invalid name: %v", err))
	return kapierrors.NewInvalid(schema.GroupKind{}, "", field.ErrorList{fe}).ErrStatus
}

func succeeded() metav1.Status { return metav1.Status{Status: metav1.StatusSuccess} }

// repositoryStatus is status.repository.status after its tags: Success, or
// ImportFailed with OpenShift's wording.
func repositoryStatus(failures int) metav1.Status {
	switch failures {
	case 0:
		return succeeded()
	case 1:
		return metav1.Status{Status: metav1.StatusFailure, Reason: "ImportFailed", Message: "one of the images from this repository failed to import"}
	}
	return metav1.Status{Status: metav1.StatusFailure, Reason: "ImportFailed",
		Message: fmt.Sprintf("%d of the images from this repository failed to import", failures)}
}

// rawContent says which images of one ImageImportStatus keep their raw
// manifest and config, by OpenShift's rule.
type rawContent struct{ image, manifests bool }

// rawContentOf is OpenShift's rule (imagestreamimport's rest.go): an Image
// the import created comes back as stored, and PrepareImageForCreate
// cleared both fields, on the list's children too; where no Image was
// created (a preview, a spec.images entry without to) clearManifests
// clears status.images[].image unless includeManifest is set, and leaves
// the children in manifests alone.
func rawContentOf(includeManifest, created bool) rawContent {
	if created {
		return rawContent{}
	}
	return rawContent{image: includeManifest, manifests: true}
}

// statusImage is an image as a status shows it: a copy, referenced through
// the repository as from.name spelled it, without kind and apiVersion (it
// is nested), and without the raw manifest and config unless raw says so.
// A manifest list never carries its manifest: OpenShift's
// manifestListToImage does not set it.
func statusImage(img *imagev1.Image, repo string, raw bool) *imagev1.Image {
	if img == nil {
		return nil
	}
	c := img.DeepCopy()
	c.TypeMeta = metav1.TypeMeta{}
	c.DockerImageReference = repo + "@" + c.Name
	if !raw || len(c.DockerImageManifests) > 0 {
		c.DockerImageManifest, c.DockerImageConfig = "", ""
	}
	return c
}

// fill sets one ImageImportStatus from a fetch: the image the tag or digest
// resolved to and, for a list imported whole, its children.
func (f *fetched) fill(st *imagev1.ImageImportStatus, k fetchKey, raw rawContent, image func(string) *imagev1.Image) {
	st.Status = succeeded()
	st.Image = statusImage(image(f.top), k.spelled, raw.image)
	st.Manifests = nil
	for _, c := range f.children {
		if img := statusImage(image(c), k.spelled, raw.manifests); img != nil {
			st.Manifests = append(st.Manifests, *img)
		}
	}
	if st.Image == nil {
		st.Status = kapierrors.NewInternalError(fmt.Errorf("%s: image %s vanished", k, f.top)).ErrStatus
	}
}
