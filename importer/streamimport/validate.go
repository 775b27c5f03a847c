package streamimport

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/importer/imagestream"

	imagev1 "github.com/openshift/api/image/v1"
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// streamNameComponent is what OpenShift allows as an image stream name
// (a repository path component).
var streamNameComponent = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

// tagPattern is a valid tag: what a stream's spec tag may be named here.
var tagPattern = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)

// Default fills what OpenShift's API defaults when it
// decodes an ImageStreamImport: to.name from the tag of from.name (only
// when from names a tag: a by-digest or bare from stays untagged), the
// Source reference policy, and importMode (mode, or Legacy when empty, the
// apiserver's default).
func Default(isi *imagev1.ImageStreamImport, mode imagev1.ImportModeType) {
	if mode == "" {
		mode = imagev1.ImportModeLegacy
	}
	for i := range isi.Spec.Images {
		spec := &isi.Spec.Images[i]
		if spec.To == nil {
			if ref, err := imagestream.ParseFrom(spec.From.Name); err == nil && ref.Tag != "" {
				spec.To = &corev1.LocalObjectReference{Name: ref.Tag}
			}
		}
		defaultPolicies(&spec.ImportPolicy, &spec.ReferencePolicy, mode)
	}
	if r := isi.Spec.Repository; r != nil {
		defaultPolicies(&r.ImportPolicy, &r.ReferencePolicy, mode)
	}
}

func defaultPolicies(ip *imagev1.TagImportPolicy, rp *imagev1.TagReferencePolicy, mode imagev1.ImportModeType) {
	if ip.ImportMode == "" {
		ip.ImportMode = mode
	}
	if rp.Type == "" {
		rp.Type = imagev1.SourceTagReferencePolicy
	}
}

// Validate checks a document as OpenShift's apiserver does
// (openshift-apiserver pkg/image/apis/image/validation), with its messages:
// from.kind must be DockerImage, from.name must parse (a repository import
// names no tag or digest), to.name must not be empty when to is given,
// importMode must be Legacy or PreserveOriginal, at least one image or a
// repository, and namespaced object metadata with an image stream name.
// regimport adds what OpenShift only checks later, when it writes the image
// stream (referencePolicy.type), a to.name that is a valid tag, and the tag
// filter annotations (see importer.TagFilterFromAnnotations).
func Validate(isi *imagev1.ImageStreamImport) field.ErrorList {
	specPath := field.NewPath("spec")
	imagesPath := specPath.Child("images")
	repoPath := specPath.Child("repository")
	errs := field.ErrorList{}
	for i, spec := range isi.Spec.Images {
		p := imagesPath.Index(i)
		switch spec.From.Kind {
		case "DockerImage":
			if spec.To != nil && len(spec.To.Name) == 0 {
				errs = append(errs, field.Invalid(p.Child("to", "name"), spec.To.Name, "the name of the target tag must be specified"))
			} else if spec.To != nil && !tagPattern.MatchString(spec.To.Name) {
				errs = append(errs, field.Invalid(p.Child("to", "name"), spec.To.Name, "must be a valid tag: up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"))
			}
			if len(spec.From.Name) == 0 {
				errs = append(errs, field.Required(p.Child("from", "name"), ""))
			} else if _, err := imagestream.ParseFrom(spec.From.Name); err != nil {
				errs = append(errs, field.Invalid(p.Child("from", "name"), spec.From.Name, err.Error()))
			}
		default:
			errs = append(errs, field.Invalid(p.Child("from", "kind"), spec.From.Kind, "only DockerImage is supported"))
		}
		errs = append(errs, validatePolicies(spec.ImportPolicy, spec.ReferencePolicy, p)...)
	}
	if spec := isi.Spec.Repository; spec != nil {
		switch spec.From.Kind {
		case "DockerImage":
			if len(spec.From.Name) == 0 {
				errs = append(errs, field.Required(repoPath.Child("from", "name"), "container image references require a name"))
			} else if ref, err := imagestream.ParseFrom(spec.From.Name); err != nil {
				errs = append(errs, field.Invalid(repoPath.Child("from", "name"), spec.From.Name, err.Error()))
			} else if ref.Tag != "" || ref.ID != "" {
				errs = append(errs, field.Invalid(repoPath.Child("from", "name"), spec.From.Name, "you must specify an image repository, not a tag or ID"))
			}
		default:
			errs = append(errs, field.Invalid(repoPath.Child("from", "kind"), spec.From.Kind, "only DockerImage is supported"))
		}
		errs = append(errs, validatePolicies(spec.ImportPolicy, spec.ReferencePolicy, repoPath)...)
	}
	if len(isi.Spec.Images) == 0 && isi.Spec.Repository == nil {
		errs = append(errs, field.Invalid(imagesPath, nil, "you must specify at least one image or a repository import"))
	}
	errs = append(errs, apivalidation.ValidateObjectMeta(&isi.ObjectMeta, true, validateStreamName, field.NewPath("metadata"))...)
	if _, ferrs := importer.TagFilterFromAnnotations(importer.TagFilter{}, isi.Annotations); len(ferrs) > 0 {
		errs = append(errs, ferrs...)
	}
	return errs
}

// validateStreamName is OpenShift's ValidateImageStreamName.
func validateStreamName(name string, prefix bool) []string {
	if reasons := path.ValidatePathSegmentName(name, prefix); len(reasons) != 0 {
		return reasons
	}
	if !streamNameComponent.MatchString(name) {
		return []string{fmt.Sprintf("must match %q", strings.Trim(streamNameComponent.String(), "^$"))}
	}
	return nil
}

func validatePolicies(ip imagev1.TagImportPolicy, rp imagev1.TagReferencePolicy, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if m := ip.ImportMode; m != "" && m != imagev1.ImportModeLegacy && m != imagev1.ImportModePreserveOriginal {
		errs = append(errs, field.Invalid(p.Child("importPolicy", "importMode"), m,
			fmt.Sprintf("invalid import mode, valid modes are '', '%s', '%s'", imagev1.ImportModeLegacy, imagev1.ImportModePreserveOriginal)))
	}
	if t := rp.Type; t != "" && t != imagev1.SourceTagReferencePolicy && t != imagev1.LocalTagReferencePolicy {
		errs = append(errs, field.Invalid(p.Child("referencePolicy", "type"), t,
			fmt.Sprintf("valid values are %q, %q", imagev1.SourceTagReferencePolicy, imagev1.LocalTagReferencePolicy)))
	}
	return errs
}
