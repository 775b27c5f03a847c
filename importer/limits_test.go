package importer_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/importer/streamimport"
	"github.com/regimport/regimport/internal/testregistry"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// limitedImporter is e's importer with opts on top (Catalog and Registry
// are e's).
func limitedImporter(t *testing.T, e *env, opts importer.Options) *importer.Importer {
	t.Helper()
	opts.Catalog, opts.Registry = e.cat, newClient()
	if opts.Concurrency == 0 {
		opts.Concurrency = 4
	}
	imp, err := importer.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return imp
}

// onlyFailure checks that ref failed alone, over a limit, with a message
// that contains want, and that the run was recorded partial.
func onlyFailure(t *testing.T, e *env, s importer.Summary, ref, want string) {
	t.Helper()
	if len(s.Failures) != 1 || s.Failures[0].Reference != ref || !strings.Contains(s.Failures[0].Reason, want) {
		t.Fatalf("failures %+v, want %s alone, saying %q", s.Failures, ref, want)
	}
	for _, r := range s.Results {
		if r.Reference == ref && !errors.Is(r.Err, importer.ErrLimit) {
			t.Errorf("%s: %v is not ErrLimit", ref, r.Err)
		}
	}
	runs, err := e.cat.Runs(context.Background(), 1)
	if err != nil || len(runs) != 1 || runs[0].Status != catalog.RunPartial {
		t.Fatalf("runs %+v (%v), want one partial", runs, err)
	}
}

// A list with more entries than the list-children limit fails before any
// child is fetched; the other reference is imported.
func TestListChildrenLimit(t *testing.T) {
	e := newEnv(t)
	e.push(t, testregistry.ImageSpec{Repository: "wide/list", Tags: []string{"v1"}, Format: testregistry.OCIIndex, Seed: 51,
		Platforms: []testregistry.Platform{{Architecture: "amd64", OS: "linux"}, {Architecture: "arm64", OS: "linux"}, {Architecture: "s390x", OS: "linux"}}})
	good := e.push(t, testregistry.ImageSpec{Repository: "plain/app", Tags: []string{"v1"}, Format: testregistry.Schema2, Seed: 52})
	host := e.reg.Host()
	imp := limitedImporter(t, e, importer.Options{Limits: importer.Limits{ListChildren: 2}})
	e.reg.ResetRequests()
	s, err := imp.Run(context.Background(), importer.Request{References: []string{host + "/wide/list:v1", host + "/plain/app:v1"}})
	if err != nil {
		t.Fatal(err)
	}
	onlyFailure(t, e, s, host+"/wide/list:v1", "has 3 entries, over the list-children limit of 2")
	if _, err := e.cat.GetImage(context.Background(), good.Digest.String()); err != nil {
		t.Errorf("the other reference was not imported: %v", err)
	}
	if got := e.reg.Requests().Get(testregistry.KindManifestGet); got != 2 {
		t.Errorf("%d manifest GETs, want 2: no child of the list may be fetched", got)
	}

	// import -f: the same limit, in the image's status and the Summary.
	wide := fromImage(host + "/wide/list:v1")
	wide.ImportPolicy.ImportMode = imagev1.ImportModePreserveOriginal
	isi := isiOf("wide", true, wide, fromImage(host+"/plain/app:v1"))
	sum, err := streamimport.Import(context.Background(), imp, []*imagev1.ImageStreamImport{isi}, streamimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if msg := isi.Status.Images[0].Status.Message; !strings.Contains(msg, "over the list-children limit of 2") {
		t.Errorf("status message %q does not name the limit", msg)
	}
	if len(sum.Failures) != 1 || isi.Status.Images[1].Status.Status != metav1.StatusSuccess {
		t.Errorf("failures %+v, second status %+v: want the list alone failed", sum.Failures, isi.Status.Images[1].Status)
	}
}

// A stalled reference fails at the reference timeout, naming it; the other
// reference is imported meanwhile.
func TestReferenceTimeout(t *testing.T) {
	e := newEnv(t, testregistry.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !testregistry.IsSeedRequest(r) && strings.Contains(r.URL.Path, "/slow/app/manifests/") {
				select { // slow, but never too slow for one request
				case <-r.Context().Done():
					return
				case <-time.After(5 * time.Second):
				}
			}
			next.ServeHTTP(w, r)
		})
	}))
	e.push(t, testregistry.ImageSpec{Repository: "slow/app", Tags: []string{"v1"}, Format: testregistry.Schema2, Seed: 53})
	good := e.push(t, testregistry.ImageSpec{Repository: "plain/app", Tags: []string{"v1"}, Format: testregistry.Schema2, Seed: 54})
	host := e.reg.Host()
	imp := limitedImporter(t, e, importer.Options{Limits: importer.Limits{ReferenceTimeout: 300 * time.Millisecond}})
	start := time.Now()
	s, err := imp.Run(context.Background(), importer.Request{References: []string{host + "/slow/app:v1", host + "/plain/app:v1"}})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the run took %s; the reference timeout is 300ms", took)
	}
	onlyFailure(t, e, s, host+"/slow/app:v1", "reference-timeout limit of 300ms")
	if _, err := e.cat.GetImage(context.Background(), good.Digest.String()); err != nil {
		t.Errorf("the other reference was not imported: %v", err)
	}
}

// A panic inside one reference's work fails that reference, logged with
// its stack; the others are imported. No registry input is known to
// panic, so the clock does: the importer reads it only to date lists.
func TestPanicFailsOneReference(t *testing.T) {
	e := newEnv(t)
	e.push(t, testregistry.ImageSpec{Repository: "multi/app", Tags: []string{"v1"}, Format: testregistry.OCIIndex, Seed: 55})
	good := e.push(t, testregistry.ImageSpec{Repository: "plain/app", Tags: []string{"v1"}, Format: testregistry.Schema2, Seed: 56})
	host := e.reg.Host()
	var logs bytes.Buffer
	imp := limitedImporter(t, e, importer.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Now: func() time.Time { panic("clock broke") }})
	s, err := imp.Run(context.Background(), importer.Request{References: []string{host + "/multi/app:v1", host + "/plain/app:v1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Failures) != 1 || s.Failures[0].Reference != host+"/multi/app:v1" || !strings.Contains(s.Failures[0].Reason, "internal error") || !strings.Contains(s.Failures[0].Reason, "clock broke") {
		t.Fatalf("failures %+v, want multi/app alone, an internal error", s.Failures)
	}
	if _, err := e.cat.GetImage(context.Background(), good.Digest.String()); err != nil {
		t.Errorf("the other reference was not imported: %v", err)
	}
	if !strings.Contains(logs.String(), "panic") || !strings.Contains(logs.String(), "goroutine") || !strings.Contains(logs.String(), "multi/app") {
		t.Errorf("the panic was not logged with its reference and stack:\n%s", logs.String())
	}
	runs, _ := e.cat.Runs(context.Background(), 1)
	if len(runs) != 1 || runs[0].Status != catalog.RunPartial {
		t.Errorf("runs %+v, want one partial", runs)
	}
}

// Signatures beyond the per-image limits (count, then bytes) are not
// stored; the pair is a failure that names the limit, and its image and
// the other images are imported.
func TestSignatureLimits(t *testing.T) {
	for name, tc := range map[string]struct {
		limits importer.Limits
		kept   int
		want   string
	}{
		"count": {importer.Limits{SignaturesPerImage: 1}, 1, "signatures-per-image limit of 1"},
		"bytes": {importer.Limits{SignatureBytesPerImage: 64}, 0, "signature-bytes-per-image limit of 64 bytes"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newSignedEnv(t)
			ctx := context.Background()
			host := e.reg.Host()
			v, regs := e.signatureOptions(t, e.policy(t, "policy.json", "trusted.gpg"))
			imp := limitedImporter(t, e.env, importer.Options{Limits: tc.limits, Signatures: importer.SignatureOptions{Verifier: v, Registries: regs}})
			s, err := imp.Run(ctx, importer.Request{References: []string{host + "/sig/app:v1", host + "/sig/unsigned:v1"}})
			if err != nil {
				t.Fatal(err)
			}
			app := e.pushed["app"].Digest.String()
			if len(s.Failures) != 1 || s.Failures[0].Reference != host+"/sig/app@"+app || !strings.Contains(s.Failures[0].Reason, tc.want) {
				t.Fatalf("failures %+v, want sig/app@digest alone, saying %q", s.Failures, tc.want)
			}
			img, err := e.cat.GetImage(ctx, app)
			if err != nil {
				t.Fatal(err)
			}
			if len(img.Signatures) != tc.kept {
				t.Errorf("%d signatures stored, want %d (app has 2)", len(img.Signatures), tc.kept)
			}
			if img.Annotations[catalog.AnnotationSignatureVerdict] == "accepted" && tc.kept == 0 {
				t.Errorf("accepted without any signature read")
			}
			if _, err := e.cat.GetImage(ctx, e.pushed["unsigned"].Digest.String()); err != nil {
				t.Errorf("the other reference was not imported: %v", err)
			}
		})
	}
}
