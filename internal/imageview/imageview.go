// Package imageview derives the human-readable columns of an Image — its
// signature verdict, platforms, short media type, size, layer count and
// build time — so that `regimport get -o wide` and the endpoint's Table
// output for kubectl show the same thing.
package imageview

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Columns are an image's display values; empty strings mean unknown.
type Columns struct {
	Verdict   string
	Platform  string // os/arch[/variant]; a list's children, comma-separated
	MediaType string // the part after the last slash
	Size      int64
	Layers    int
	Created   time.Time
}

// the part of dockerImageMetadata shown
type facts struct {
	Architecture string      `json:"Architecture"`
	Size         int64       `json:"Size"`
	Created      metav1.Time `json:"Created"`
}

// Of derives the columns of img. A metadata document that does not parse
// only leaves its columns empty.
func Of(img *imagev1.Image) Columns {
	var f facts
	_ = json.Unmarshal(img.DockerImageMetadata.Raw, &f)
	c := Columns{Verdict: img.Annotations[catalog.AnnotationSignatureVerdict], Platform: f.Architecture, Size: f.Size,
		Layers: len(img.DockerImageLayers), Created: f.Created.Time}
	if len(img.DockerImageManifests) > 0 {
		platforms := make([]string, 0, len(img.DockerImageManifests))
		for _, m := range img.DockerImageManifests {
			platforms = append(platforms, catalog.Platform{OS: m.OS, Architecture: m.Architecture, Variant: m.Variant}.String())
		}
		c.Platform = strings.Join(platforms, ",")
	}
	c.MediaType = img.DockerImageManifestMediaType
	if i := strings.LastIndex(c.MediaType, "/"); i >= 0 {
		c.MediaType = c.MediaType[i+1:]
	}
	return c
}

// OrDash shows an unknown value as "-", as kubectl does.
func OrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// HumanSize is a size in binary units ("-" for unknown or zero).
func HumanSize(n int64) string {
	const unit = 1024
	switch {
	case n <= 0:
		return "-"
	case n < unit:
		return fmt.Sprintf("%dB", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
