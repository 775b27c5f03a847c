package importer_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/internal/sigtest"
	"github.com/regimport/regimport/internal/testregistry"
	"github.com/regimport/regimport/signatures"
)

// OpenShift's registry serves signatures through its extension API and
// announces it on /v2/. A handler in front of the real registry stands in
// for that API (the real one is OpenShift's, not something we can run here).
func TestSignaturesFromTheRegistryExtensionAPI(t *testing.T) {
	key, err := sigtest.NewGPGKey("Registry Signer", "signer@example.com")
	if err != nil {
		t.Fatal(err)
	}
	blobs := map[string][]byte{} // manifest digest -> signature blob
	var served atomic.Int64
	e := newEnv(t, testregistry.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/" || r.URL.Path == "/v2" {
				w.Header().Set("X-Registry-Supports-Signatures", "1")
			}
			if strings.HasPrefix(r.URL.Path, "/extensions/v2/") {
				served.Add(1)
				d := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
				var sigs []map[string]any
				if b, ok := blobs[d]; ok {
					sigs = append(sigs, map[string]any{"schemaVersion": 2, "name": d + "@" + "x", "type": "atomic", "content": base64.StdEncoding.EncodeToString(b)})
				}
				json.NewEncoder(w).Encode(map[string]any{"signatures": sigs})
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	signed := e.push(t, testregistry.ImageSpec{Repository: "ocp/app", Tags: []string{"v1"}, Format: testregistry.Schema2, Seed: 41})
	unsigned := e.push(t, testregistry.ImageSpec{Repository: "ocp/app", Tags: []string{"v2"}, Format: testregistry.OCI, Seed: 42})
	b, err := key.SignSimple(e.reg.Host()+"/ocp/app:v1", signed.Digest)
	if err != nil {
		t.Fatal(err)
	}
	blobs[signed.Digest.String()] = b
	dir := t.TempDir()
	key.WritePublicKey(filepath.Join(dir, "key.gpg"))
	policy := filepath.Join(dir, "policy.json")
	os.WriteFile(policy, []byte(fmt.Sprintf(`{"default":[{"type":"reject"}],"transports":{"docker":{%q:[{"type":"signedBy","keyType":"GPGKeys","keyPath":%q}]}}}`,
		e.reg.Host()+"/ocp", filepath.Join(dir, "key.gpg"))), 0o644)
	v, err := signatures.NewVerifier(signatures.Options{PolicyPath: policy})
	if err != nil {
		t.Fatal(err)
	}
	imp, _ := importer.New(importer.Options{Catalog: e.cat, Registry: newClient(), Signatures: importer.SignatureOptions{Verifier: v}})
	s, err := imp.Run(context.Background(), importer.Request{References: []string{e.reg.Host() + "/ocp/app:v1", e.reg.Host() + "/ocp/app:v2"}})
	if err != nil || len(s.Failures) != 0 {
		t.Fatalf("%v %+v", err, s.Failures)
	}
	if served.Load() != 2 {
		t.Errorf("the extension API was asked %d times, want once per image", served.Load())
	}
	img, _ := e.cat.GetImage(context.Background(), signed.Digest.String())
	if img.Annotations[catalog.AnnotationSignatureVerdict] != "accepted" || len(img.Signatures) != 1 || condition(img.Signatures[0], "Trusted").Status != "True" {
		t.Errorf("signed image: verdict %q, signatures %+v", img.Annotations[catalog.AnnotationSignatureVerdict], img.Signatures)
	}
	img, _ = e.cat.GetImage(context.Background(), unsigned.Digest.String())
	if img.Annotations[catalog.AnnotationSignatureVerdict] != "rejected" || len(img.Signatures) != 0 {
		t.Errorf("unsigned image: verdict %q, %d signatures", img.Annotations[catalog.AnnotationSignatureVerdict], len(img.Signatures))
	}
}
