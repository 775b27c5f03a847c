package jobconfig

import (
	"fmt"
	"strings"
	"testing"
)

// Sources naming the same destination become one mirror job over all
// their repositories, as the catalog names them; a bad destination is an
// error naming its field.
func TestMirrorJobs(t *testing.T) {
	c, err := Parse(strings.NewReader(`apiVersion: regimport.io/v1
kind: Config
sources:
  - repository: nginx
    mirror: [{to: mirror.example.com/hub/}]
  - images: [quay.io/team/app:v1]
    mirror: [{to: mirror.example.com/hub}, {to: "localhost:5000", requireAccepted: true, prune: true}]
  - registry: registry.example.com
    namespaces: [team]
    mirror: [{to: "localhost:5000", requireAccepted: true, prune: true}]
`), "job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(c.MirrorJobs())
	want := "[{{localhost:5000 true true} [quay.io/team/app registry.example.com/team/*]} {{mirror.example.com/hub false false} [docker.io/library/nginx quay.io/team/app]}]"
	if got != want {
		t.Fatalf("jobs:\n%s\nwant\n%s", got, want)
	}
	_, err = Parse(strings.NewReader(`apiVersion: regimport.io/v1
kind: Config
sources:
  - repository: nginx
    mirror: [{to: ""}, {to: "UPPER.example.com/X"}]
`), "bad.yaml")
	if err == nil || !strings.Contains(err.Error(), "sources[0].mirror[0].to") || !strings.Contains(err.Error(), "sources[0].mirror[1].to") {
		t.Fatalf("bad destinations: %v", err)
	}
}
