package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/regimport/regimport/internal/sigtest"
	"github.com/regimport/regimport/internal/testregistry"
)

// signedBench imports the same registry twice, without and with signature
// verification, every image signed (simple signing) in a lookaside store
// served over HTTP on loopback, under a policy that requires the signature.
func signedBench(ctx context.Context, c config, out io.Writer) (string, error) {
	tags := c.tags / 2
	reg, pushed, err := seed(ctx, c, tags, out)
	if err != nil {
		return "", err
	}
	defer reg.Close()
	images, _ := countImages(pushed)
	dir := filepath.Join(c.work, "signed")
	lookaside := filepath.Join(dir, "lookaside")
	key, err := sigtest.NewGPGKey("Bench Release", "bench@example.com")
	if err != nil {
		return "", err
	}
	var sign func(p testregistry.Pushed, identity string) error
	sign = func(p testregistry.Pushed, identity string) error {
		blob, err := key.SignSimple(identity, p.Digest)
		if err != nil {
			return err
		}
		if err := sigtest.WriteLookaside(lookaside, p.Repository, p.Digest, blob); err != nil {
			return err
		}
		for _, ch := range p.Children {
			if err := sign(ch, identity); err != nil {
				return err
			}
		}
		return nil
	}
	for _, p := range pushed {
		if err := sign(p, reg.Host()+"/"+p.Repository+":"+p.Tags[0]); err != nil {
			return "", err
		}
	}
	var lookasideRequests atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	files := http.FileServer(http.Dir(lookaside))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lookasideRequests.Add(1)
		files.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	regd := filepath.Join(dir, "registries.d")
	if err := os.MkdirAll(regd, 0o755); err != nil {
		return "", err
	}
	os.WriteFile(filepath.Join(regd, "bench.yaml"), []byte(fmt.Sprintf("docker:\n  %s:\n    lookaside: http://%s\n", reg.Host(), ln.Addr())), 0o644)
	keyFile := filepath.Join(dir, "release.gpg")
	if err := key.WritePublicKey(keyFile); err != nil {
		return "", err
	}
	policy := filepath.Join(dir, "policy.json")
	os.WriteFile(policy, []byte(fmt.Sprintf(`{"default":[{"type":"reject"}],"transports":{"docker":{%q:[{"type":"signedBy","keyType":"GPGKeys","keyPath":%q}]}}}`, reg.Host(), keyFile)), 0o644)

	plain, err := runImport(ctx, c, reg, filepath.Join(dir, "plain.db"), "--no-signatures")
	if err != nil {
		return "", err
	}
	lookasideRequests.Store(0)
	var stdout strings.Builder
	signed, err := runImportCapture(ctx, c, reg, filepath.Join(dir, "signed.db"), &stdout, "--policy", policy, "--registries.d", regd)
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`pairs: (\d+) accepted, (\d+) rejected.*verification took ([0-9.a-zµ]+)`).FindStringSubmatch(stdout.String())
	if m == nil {
		return "", fmt.Errorf("signed import printed no signature summary:\n%s", stdout.String())
	}
	verify, _ := time.ParseDuration(m[3])
	fmt.Fprintf(out, "signed: %s accepted, %s rejected; plain %s, signed %s\n", m[1], m[2], plain.took.Round(time.Millisecond), signed.took.Round(time.Millisecond))

	var b strings.Builder
	fmt.Fprintf(&b, "## Import with signatures (%d tags, %d images, every image GPG-signed in an HTTP lookaside; policy requires it)\n\n", tags, images)
	b.WriteString("| figure | without signatures | with signatures |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| images/s | %.0f | %.0f (%.0f%% of unsigned; target ≥ 80%%) |\n", float64(images)/plain.took.Seconds(), float64(images)/signed.took.Seconds(), 100*plain.took.Seconds()/signed.took.Seconds())
	fmt.Fprintf(&b, "| CPU per image (user + system, whole process) | %.3f ms | %.3f ms |\n", perImageMs(plain.cpu, images), perImageMs(signed.cpu, images))
	fmt.Fprintf(&b, "| registry requests per image | %.3f | %.3f |\n", float64(plain.requests)/float64(images), float64(signed.requests)/float64(images))
	fmt.Fprintf(&b, "| lookaside requests per image | – | %.3f (signature-1, then the 404 that ends the list) |\n", float64(lookasideRequests.Load())/float64(images))
	fmt.Fprintf(&b, "| accepted / rejected | – | %s / %s |\n", m[1], m[2])
	fmt.Fprintf(&b, "| verification wall time per image, summed over workers (includes waiting for a CPU) | – | %.2f ms |\n", float64(verify.Microseconds())/1000/float64(images))
	fmt.Fprintf(&b, "| signatures' share of regimport's CPU: (signed CPU − unsigned CPU) / signed CPU, lookup and verification together | – | %.0f%% |\n\n", 100*(signed.cpu-plain.cpu).Seconds()/signed.cpu.Seconds())
	shared, err := sharedCase{reg: reg, pushed: pushed, sign: sign, lookaside: &lookasideRequests, policy: policy, regd: regd}.run(ctx, c, dir, out)
	if err != nil {
		return "", err
	}
	b.WriteString(shared)
	return b.String(), nil
}
