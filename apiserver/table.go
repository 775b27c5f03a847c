package apiserver

import (
	"fmt"
	"github.com/regimport/regimport/internal/imageview"
	"strings"
	"time"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// presented is one object ready to be written in any output form.
type presented struct {
	meta  *metav1.ObjectMeta
	obj   any          // the object itself, apiVersion already set
	cells func() []any // its table row
}

// imageColumns are OpenShift's two (Name, Image Reference) and, for
// `kubectl get -o wide` (priority 1), what an audit looks at first.
func imageColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
		{Name: "Image Reference", Type: "string", Description: imagev1.Image{}.SwaggerDoc()["dockerImageReference"]},
		{Name: "Signature", Type: "string", Priority: 1, Description: "The signature verdict over the image's repositories (annotation " + catalog.AnnotationSignatureVerdict + "): accepted, rejected, unevaluated or no-policy when they agree, mixed when they do not; per repository in " + catalog.AnnotationSignatureVerdicts + "."},
		{Name: "Architecture", Type: "string", Priority: 1, Description: "os/architecture of the image, or of each entry of a manifest list."},
		{Name: "Media Type", Type: "string", Priority: 1, Description: "The manifest's media type, without its prefix."},
		{Name: "Size", Type: "string", Priority: 1, Description: "dockerImageMetadata.Size: the config and the unique layers."},
		{Name: "Layers", Type: "integer", Priority: 1, Description: "Number of dockerImageLayers."},
		{Name: "Created", Type: "string", Priority: 1, Description: "Age of the image by its config's created time."},
	}
}

func (s *Server) imageCells(img *imagev1.Image) []any {
	c := imageview.Of(img)
	return []any{
		img.Name,
		img.DockerImageReference,
		imageview.OrDash(c.Verdict),
		imageview.OrDash(c.Platform),
		imageview.OrDash(c.MediaType),
		imageview.HumanSize(c.Size),
		int64(c.Layers),
		s.age(c.Created),
	}
}

func streamColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
		{Name: "Image Repository", Type: "string", Description: imagev1.ImageStreamStatus{}.SwaggerDoc()["dockerImageRepository"]},
		{Name: "Tags", Type: "string", Description: "Human readable list of tags."},
		{Name: "Updated", Type: "string", Description: "Last update time."},
	}
}

func (s *Server) streamCells(is *imagev1.ImageStream) []any {
	repo := is.Status.PublicDockerImageRepository
	if repo == "" {
		repo = is.Status.DockerImageRepository
	}
	var tags []string
	var latest time.Time
	for _, t := range is.Status.Tags {
		tags = append(tags, t.Tag)
		for _, e := range t.Items {
			if e.Created.After(latest) {
				latest = e.Created.Time
			}
		}
	}
	tagCell := strings.Join(tags, ",")
	if len(tags) > 3 {
		tagCell = fmt.Sprintf("%s + %d more...", strings.Join(tags[:3], ","), len(tags)-3)
	}
	if latest.IsZero() {
		latest = is.CreationTimestamp.Time
	}
	return []any{is.Name, repo, tagCell, s.age(latest)}
}

func (s *Server) age(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return duration.HumanDuration(s.now().Sub(t))
}

// listItem renders one object as an element of a list (or a watch event's
// object for Table output, wrapped by single).
func listItem(out output, p presented) (any, error) {
	switch out.kind {
	case asPartial:
		return partial(out, p.meta), nil
	case asTable:
		return tableRow(out, p)
	}
	return p.obj, nil
}

// single renders one object as a whole response or watch event object.
func single(out output, columns []metav1.TableColumnDefinition, p presented) (any, error) {
	if out.kind != asTable {
		return listItem(out, p)
	}
	row, err := tableRow(out, p)
	if err != nil {
		return nil, err
	}
	return &metav1.Table{
		TypeMeta:          metav1.TypeMeta{Kind: "Table", APIVersion: metav1.GroupName + "/" + out.metaVersion},
		ListMeta:          metav1.ListMeta{ResourceVersion: p.meta.ResourceVersion},
		ColumnDefinitions: columns,
		Rows:              []metav1.TableRow{row},
	}, nil
}

func partial(out output, m *metav1.ObjectMeta) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{Kind: "PartialObjectMetadata", APIVersion: metav1.GroupName + "/" + out.metaVersion},
		ObjectMeta: *m,
	}
}

func tableRow(out output, p presented) (metav1.TableRow, error) {
	row := metav1.TableRow{Cells: p.cells()}
	var obj any
	switch out.include {
	case metav1.IncludeObject:
		obj = p.obj
	case metav1.IncludeMetadata, "":
		obj = partial(out, p.meta)
	}
	var err error
	row.Object, err = rawJSON(obj)
	return row, err
}

// envelope is the list object of an answer, without its items.
func envelope(out output, t target, meta metav1.ListMeta) any {
	switch out.kind {
	case asTable:
		cols := imageColumns()
		if t.resource == resStreams {
			cols = streamColumns()
		}
		return &metav1.Table{
			TypeMeta:          metav1.TypeMeta{Kind: "Table", APIVersion: metav1.GroupName + "/" + out.metaVersion},
			ListMeta:          meta,
			ColumnDefinitions: cols,
			Rows:              []metav1.TableRow{},
		}
	case asPartial:
		return &listEnvelope{
			TypeMeta: metav1.TypeMeta{Kind: "PartialObjectMetadataList", APIVersion: metav1.GroupName + "/" + out.metaVersion},
			ListMeta: meta, Items: []struct{}{},
		}
	}
	return &listEnvelope{
		TypeMeta: metav1.TypeMeta{Kind: t.kind() + "List", APIVersion: t.apiVersion()},
		ListMeta: meta, Items: []struct{}{},
	}
}
