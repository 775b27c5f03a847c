package catalog

import (
	"encoding/json"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestNewIndexedMetadataIsWhatTheJSONDecodesTo: indexing the fields
// dockerImageMetadata is encoded from gives what decoding that JSON gives,
// for the created times metav1.Time's JSON rounds or cannot spell back.
func TestNewIndexedMetadataIsWhatTheJSONDecodesTo(t *testing.T) {
	zone := time.FixedZone("east", 5*3600+1800)
	for _, created := range []time.Time{
		{},
		time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC),
		time.Date(2024, 5, 6, 7, 8, 9, 999999999, zone),
		time.Date(1, 1, 1, 0, 0, 1, 5, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC),
		time.Date(0, 6, 1, 0, 0, 7, 500000000, time.UTC),
		time.Date(-1, 6, 1, 0, 0, 0, 0, time.UTC),
	} {
		raw, err := json.Marshal(struct {
			Architecture string      `json:"Architecture"`
			Created      metav1.Time `json:"Created"`
			Size         int64       `json:"Size"`
		}{"arm64", metav1.NewTime(created), 42})
		if err != nil {
			t.Fatal(err)
		}
		given := NewIndexedMetadata("arm64", created, 42)
		decoded, err := IndexMetadata(raw)
		if err != nil {
			if given != nil {
				t.Errorf("created %v: indexed as %v, but %s does not decode: %v", created, given.Created, raw, err)
			}
			continue
		}
		if given == nil {
			t.Errorf("created %v: not indexed, but %s decodes", created, raw)
			continue
		}
		if given.Architecture != decoded.Architecture || given.Size != decoded.Size || !given.Created.Equal(decoded.Created) {
			t.Errorf("created %v: indexed %+v, decoding %s gives %+v", created, *given, raw, decoded)
		}
	}
}
