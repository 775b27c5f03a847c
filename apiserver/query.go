package apiserver

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	imagev1 "github.com/openshift/api/image/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metainternalversionscheme "k8s.io/apimachinery/pkg/apis/meta/internalversion/scheme"
	"k8s.io/apimachinery/pkg/apis/meta/internalversion/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// query is a decoded and validated list or watch request.
type query struct {
	opts  metainternalversion.ListOptions
	label labels.Selector
	field fields.Selector
	// name is the one metadata.name the request is about, from the path or
	// an exact field selector ("" for any).
	name string
	// filtered is set when the selectors do more than pick that one name,
	// so the catalog cannot count what is left.
	filtered bool
}

// parseQuery decodes the query with apimachinery's ListOptions codec and
// validation, then transforms the field selector with the resource's field
// label conversion: the same steps, errors and messages as the apiserver.
func parseQuery(r *http.Request, t target) (*query, error) {
	q := &query{}
	if err := metainternalversionscheme.ParameterCodec.DecodeParameters(r.URL.Query(), metav1.SchemeGroupVersion, &q.opts); err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if t.watch {
		q.opts.Watch = true
	}
	metainternalversion.SetListOptionsDefaults(&q.opts, true)
	if errs := validation.ValidateListOptions(&q.opts, true); len(errs) > 0 {
		return nil, apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: "ListOptions"}, "", errs)
	}
	q.label, q.field = q.opts.LabelSelector, q.opts.FieldSelector
	if q.label == nil {
		q.label = labels.Everything()
	}
	if q.field == nil {
		q.field = fields.Everything()
	}
	conv := runtime.DefaultMetaV1FieldSelectorConversion
	if t.resource == resStreams {
		conv = streamFieldConversion
	}
	var err error
	if q.field, err = q.field.Transform(conv); err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if t.name != "" {
		if !q.field.Empty() {
			selected, ok := q.field.RequiresExactMatch("metadata.name")
			if !ok || selected != t.name {
				return nil, apierrors.NewBadRequest("fieldSelector metadata.name doesn't match requested name")
			}
		} else {
			q.field = fields.OneTermEqualSelector("metadata.name", t.name)
		}
	}
	q.name, _ = q.field.RequiresExactMatch("metadata.name")
	onlyName := q.field.Empty() || (q.name != "" && len(q.field.Requirements()) == 1)
	q.filtered = !q.label.Empty() || !onlyName
	return q, nil
}

// streamFieldConversion is OpenShift's field label conversion for ImageStream.
func streamFieldConversion(label, value string) (string, string, error) {
	switch label {
	case "spec.dockerImageRepository", "status.dockerImageRepository":
		return label, value, nil
	}
	return runtime.DefaultMetaV1FieldSelectorConversion(label, value)
}

// matchImage applies the selectors; images are cluster-scoped.
func (q *query) matchImage(img *imagev1.Image) bool {
	if !q.label.Matches(labels.Set(img.Labels)) {
		return false
	}
	return q.field.Empty() || q.field.Matches(fields.Set{"metadata.name": img.Name, "metadata.namespace": ""})
}

func (q *query) matchStream(is *imagev1.ImageStream) bool {
	if !q.label.Matches(labels.Set(is.Labels)) {
		return false
	}
	return q.field.Empty() || q.field.Matches(fields.Set{
		"metadata.name": is.Name, "metadata.namespace": is.Namespace,
		"spec.dockerImageRepository":   is.Spec.DockerImageRepository,
		"status.dockerImageRepository": is.Status.DockerImageRepository,
	})
}

// parseResourceVersion reads resourceVersion: ok is false for "" and "0".
func parseResourceVersion(s string) (rv int64, ok bool, err error) {
	if s == "" || s == "0" {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		return 0, false, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version: %v", err))
	}
	return int64(n), true, nil
}

// continueToken has the shape of the apiserver's, with the last name
// returned as the key to continue after.
type continueToken struct {
	APIVersion      string `json:"v"`
	ResourceVersion int64  `json:"rv"`
	Start           string `json:"start"`
}

func encodeContinue(rv int64, after string) string {
	b, _ := json.Marshal(continueToken{APIVersion: "meta.k8s.io/v1", ResourceVersion: rv, Start: after})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeContinue mirrors storage.DecodeContinue's checks and messages.
func decodeContinue(s string) (continueToken, error) {
	var c continueToken
	invalid := func(detail string) error {
		return apierrors.NewBadRequest("invalid continue token: continue key is not valid" + detail)
	}
	data, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, invalid(": " + err.Error())
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, invalid(": " + err.Error())
	}
	switch {
	case c.APIVersion != "meta.k8s.io/v1":
		return c, invalid(": server does not recognize this encoded version " + c.APIVersion)
	case c.ResourceVersion <= 0:
		return c, invalid(": incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
	case c.Start == "":
		return c, invalid(": encoded start key empty (version meta.k8s.io/v1)")
	}
	return c, nil
}
