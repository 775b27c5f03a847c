package jsoncodec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/openshift/api/image/docker10"
	"github.com/openshift/api/image/dockerpre012"
)

// mixed has the field kinds the importer's documents have: embedded
// structs, times, raw messages, maps of empty structs, a decoder of its own.
type mixed struct {
	dockerpre012.DockerImage
	OS      string              `json:"os"`
	Raw     json.RawMessage     `json:"schemaVersion"`
	When    time.Time           `json:"when"`
	Ports   map[string]struct{} `json:"ports"`
	Counted counted             `json:"counted"`
	Ptr     *struct {
		N []int64 `json:"n,omitempty"`
	} `json:"ptr"`
}

// counted decodes itself through encoding/json, as the importer's
// laxField does.
type counted struct{ n int }

func (c *counted) UnmarshalJSON(b []byte) error {
	var v []any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	c.n = len(v)
	return nil
}

// targets are fresh zero values of every type a document is decoded into.
func targets() []any {
	return []any{new(mixed), new(docker10.DockerImage), new(imgspecv1.Manifest), new(imgspecv1.Index), new(map[string]any), new(any), new([]string)}
}

const config = `{"created":"2024-01-02T03:05:21.123456789Z","author":"a \u003cb@c\u003e","architecture":"amd64","os":"linux",
"config":{"User":"1001","ExposedPorts":{"8076/tcp":{}},"Env":["PATH=/usr/bin","A=1"],"Entrypoint":["/e.sh"],"Cmd":["serve"],
"Volumes":{"/data":{}},"WorkingDir":"/srv","Labels":{"org.opencontainers.image.title":"t","x":"<&>"},"StopSignal":"SIGTERM"},
"rootfs":{"type":"layers","diff_ids":["sha256:2bea7613d0da6dbea90831c805868c361b7266b74022a191a1268206b81ae51b"]},
"history":[{"created":"2024-01-02T02:56:21Z","created_by":"/bin/sh -c #(nop) ADD file:x in / "},{"created":"2024-01-02T02:57:21Z","empty_layer":true}]}`

// documents are what registries send, conforming and not: the cases where
// decoders tend to part ways with encoding/json.
var documents = []string{
	config,
	`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:2bea7613d0da6dbea90831c805868c361b7266b74022a191a1268206b81ae51b","size":7023},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:2dd4cd0c81d209f8b52676a2418e53f73fc7b3ee79f816d893b242d7540cacfe","size":32654}],"annotations":{"a":"b"}}`,
	`{"schemaVersion":2,"manifests":[{"digest":"sha256:2dd4cd0c81d209f8b52676a2418e53f73fc7b3ee79f816d893b242d7540cacfe","size":1,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}},{"digest":"sha256:x","annotations":{"vnd.docker.reference.type":"attestation-manifest"}}]}`,
	`{"ARCHITECTURE":"arm64","Os":"windows","CONFIG":{"labels":{"a":"b"}}}`,                         // keys match case-insensitively
	`{"architecture":"arm64","Architecture":"amd64","config":{"Env":["a"]},"config":{"Cmd":["b"]}}`, // duplicates: the last wins, objects merge
	`{"architecture":null,"size":12,"config":null,"ports":null}`,
	`{"architecture":"a\ud800b\udc00c\u0000\u2028","author":"\"\\\/\b\f\n\r\t"}`,                     // lone surrogates, escapes
	"{\"architecture\":\"a\xffb\xc0\"}",                                                              // invalid UTF-8 becomes U+FFFD
	`{"size":1e3}`, `{"size":12.5}`, `{"size":-0}`, `{"size":99999999999999999999}`, `{"size":"12"}`, // numbers
	`{"os":1}`, `{"history":"x"}`, `{"rootfs":{"type":1}}`, `{"counted":{}}`, `{"when":"yesterday"}`, // wrong types
	`{"os":"x"} trailing`, `{"os":"x",}`, `{"os" "x"}`, `{`, `[`, ``, ` `, `nul`, "\ufeff{}", // malformed
	` {"os":"x"} `, `[]`, `null`, `"s"`, `1.5e300`, `true`,
	`{"ptr":{"n":[1,2,3]},"counted":[1,[2],{"a":3}],"schemaVersion":  [ 1 , 2 ] }`,
	`{"ports":{"80/tcp":{"x":1},"53/udp":null}}`,
	`{"unknown":{"deep":[[[[{"x":[1,{"y":null}]}]]]]},"os":"linux"}`,
	// Docker-era and Windows configs: numbers, booleans and nulls in the
	// container config, which the metadata keeps.
	`{"id":"abc","parent":"def","container":"c1","docker_version":"1.13.1","container_config":{"Hostname":"h","Memory":-1,"MemorySwap":0,"CpuShares":512,"AttachStdin":false,"Tty":true,"Cmd":null,"OnBuild":[],"Labels":{},"Image":"sha256:x"},"Size":9007199254740993,"os":"windows","os.version":"10.0.17763.1457"}`,
	`{"container_config":{"Memory":1.5}}`, `{"container_config":{"Tty":"true"}}`, `{"container_config":{"Tty":1}}`,
	`{"container_config":{"CpuShares":1e2}}`, `{"config":{"Labels":{"a":1}}}`, `{"config":{"Env":"PATH=/bin"}}`,
	`{"created":"2024-13-45T00:00:00Z"}`, `{"created":""}`, `{"created":null}`, `{"created":1700000000}`,
}

// TestAgreesWithEncodingJSON decodes every document into every target and
// requires encoding/json's value and error, then encodes the value and
// requires encoding/json's bytes.
func TestAgreesWithEncodingJSON(t *testing.T) {
	for _, doc := range append(documents, nested(maxDepth, "[", "]"), nested(maxDepth+1, "[", "]"), nested(maxDepth, `{"a":`, "}")) {
		checkAgrees(t, []byte(doc))
	}
}

// TestDeepDocumentIsAnErrorNotACrash is why the depth guard exists:
// without it, this document overflows the goroutine's stack in the fast
// decoder and the test binary dies.
func TestDeepDocumentIsAnErrorNotACrash(t *testing.T) {
	doc := []byte(nested(2<<20, "[", "]")) // 4 MiB, the manifest size cap
	for _, v := range targets() {
		err := Unmarshal(doc, v)
		if err == nil || !strings.Contains(err.Error(), "exceeded max depth") {
			t.Fatalf("%T: decoding 2Mi nested arrays gave %v, want encoding/json's max depth error", v, err)
		}
	}
	if !withinDepth([]byte(`["[[[[` + strings.Repeat("[", maxDepth) + `"]`)) {
		t.Error("brackets inside a string were counted as nesting")
	}
	if !withinDepth([]byte(`["\"` + strings.Repeat("[", maxDepth+1) + `"]`)) {
		t.Error("an escaped quote ended the string")
	}
}

func nested(depth int, open, close string) string {
	return strings.Repeat(open, depth) + strings.Repeat(close, depth)
}

func checkAgrees(t *testing.T, doc []byte) {
	t.Helper()
	for _, v := range targets() {
		want := reflect.New(reflect.TypeOf(v).Elem()).Interface()
		wantErr := json.Unmarshal(doc, want)
		gotErr := Unmarshal(doc, v)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("%T of %.200q: error %v, encoding/json's %v", v, doc, gotErr, wantErr)
		}
		if !reflect.DeepEqual(v, want) {
			t.Fatalf("%T of %.200q: decoded %+v, encoding/json %+v", v, doc, v, want)
		}
		if wantErr != nil {
			continue
		}
		gotBytes, gotErr := Marshal(v)
		wantBytes, wantErr := json.Marshal(want)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !bytes.Equal(gotBytes, wantBytes) {
			t.Fatalf("%T of %.200q: encoded %s (%v), encoding/json %s (%v)", v, doc, gotBytes, gotErr, wantBytes, wantErr)
		}
	}
}

func FuzzAgreesWithEncodingJSON(f *testing.F) {
	for _, doc := range documents {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		checkAgrees(t, doc)
	})
}
