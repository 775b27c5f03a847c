package apiserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/openshift/api/image/docker10"
	imagev1 "github.com/openshift/api/image/v1"
)

// The endpoint's JSON is exactly openshift/api's: decoding it with the
// openshift/api types and encoding it again leaves it unchanged, for a list
// page, one image, the raw content when asked, and each dockerImageMetadata
// as docker10.DockerImage. A field the types do not know, or one they
// would write otherwise, shows up as a difference.
func TestRoundTripThroughOpenShiftTypes(t *testing.T) {
	f := newFixture(t, 12)
	_, ts := serve(t, f.reader, Options{})
	names := allNames(t, f.reader)

	roundTrip := func(t *testing.T, url string, into any) {
		t.Helper()
		code, body := get(t, url)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", url, code, body)
		}
		body = bytes.TrimSuffix(body, []byte("\n"))
		if err := json.Unmarshal(body, into); err != nil {
			t.Fatal(err)
		}
		again, err := json.Marshal(into)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, body) {
			t.Errorf("%s changes through openshift/api types:\nserved %s\nagain  %s", url, body, again)
		}
	}
	var list imagev1.ImageList
	roundTrip(t, ts.URL+imagesPath+"?limit=10", &list)
	var withRaw imagev1.ImageList
	roundTrip(t, ts.URL+imagesPath+"?includeManifest=true", &withRaw)
	var one imagev1.Image
	roundTrip(t, ts.URL+imagesPath+"/"+names[5], &one)
	var legacy imagev1.ImageList
	roundTrip(t, ts.URL+"/oapi/v1/images", &legacy)

	if len(list.Items) != 10 || len(withRaw.Items) != len(names) || withRaw.Items[0].DockerImageManifest == "" {
		t.Fatalf("lists of %d and %d items", len(list.Items), len(withRaw.Items))
	}
	for _, img := range withRaw.Items {
		var meta docker10.DockerImage
		if err := json.Unmarshal(img.DockerImageMetadata.Raw, &meta); err != nil {
			t.Fatal(err)
		}
		again, err := json.Marshal(meta)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, img.DockerImageMetadata.Raw) {
			t.Errorf("%s: dockerImageMetadata changes through docker10.DockerImage:\nserved %s\nagain  %s", img.Name, img.DockerImageMetadata.Raw, again)
		}
	}
}
