package importer

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/registry"
)

// NonconformingAnnotation marks an Image whose manifest or config OpenShift's
// importer refuses and regimport accepted; its value says why, one reason
// per line. regimport accepts them (a batch job that mirrors a registry
// must not lose what the registry holds) and says so, in the log and here.
const NonconformingAnnotation = "regimport.io/nonconforming"

// conformance checks what OpenShift's importer checks and regimport does
// not need: a signed schema1 (distribution's schema1.SignedManifest
// unmarshals only JWS-signed manifests), a body mediaType that agrees with
// the one served (distribution's schema2, ocischema and manifestlist
// unmarshal functions), and a config that parses into OpenShift's
// DockerImageConfig (InternalImageWithMetadata: "failed to parse
// dockerImageConfig").
func conformance(raw []byte, servedType string, config []byte) []string {
	var reasons []string
	var body struct {
		MediaType  string            `json:"mediaType"`
		Signatures []json.RawMessage `json:"signatures"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil // the normalization reports malformed JSON itself
	}
	if isSchema1(servedType) {
		if len(body.Signatures) == 0 {
			reasons = append(reasons, "unsigned schema1 manifest: OpenShift imports only signed schema1")
		}
		return reasons
	}
	if body.MediaType != "" && body.MediaType != servedType {
		reasons = append(reasons, fmt.Sprintf("manifest mediaType %q disagrees with the %q the registry served", body.MediaType, servedType))
	}
	if len(config) > 0 {
		if err := json.Unmarshal(config, new(openshiftImageConfig)); err != nil {
			reasons = append(reasons, fmt.Sprintf("config does not parse as OpenShift's DockerImageConfig: %v", err))
		}
	}
	return reasons
}

// openshiftImageConfig has the fields of OpenShift's DockerImageConfig that
// the OCI config leaves loosely typed in practice: timestamps in history,
// rootfs, os.features.
type openshiftImageConfig struct {
	Created time.Time `json:"created"`
	RootFS  *struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids,omitempty"`
	} `json:"rootfs,omitempty"`
	History []struct {
		Created time.Time `json:"created"`
	} `json:"history,omitempty"`
	OSFeatures []string `json:"os.features,omitempty"`
}

// markNonconforming records reasons on img.
func markNonconforming(img *imagev1.Image, reasons []string) {
	if len(reasons) == 0 {
		return
	}
	sort.Strings(reasons)
	if img.Annotations == nil {
		img.Annotations = map[string]string{}
	}
	img.Annotations[NonconformingAnnotation] = strings.Join(reasons, "\n")
}

// warnNonconforming logs an accepted manifest that OpenShift would refuse.
func (r *run) warnNonconforming(t target, m *registry.Manifest, n *Normalized) {
	for _, why := range n.Nonconforming {
		r.imp.log.Warn("accepted a manifest OpenShift's importer refuses", "reference", t.String(), "digest", m.Digest.String(), "reason", why)
	}
}
