package signatures

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestNewVerifierPolicyErrors(t *testing.T) {
	dir := t.TempDir()
	key := newCosignKey(t)
	writeFile(t, dir, "cosign.pub", key.pem)
	writeFile(t, dir, "not-a-key.pub", []byte("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n"))
	writeFile(t, dir, "empty.gpg", nil)
	cases := []struct {
		name   string
		policy string // "" = no file at all
		want   string // the error must contain this ({{DIR}} expanded)
	}{
		{"missing-policy-file", "", "{{DIR}}/policy.json"},
		{"policy-not-json", `{"default": [`, "{{DIR}}/policy.json"},
		{"unknown-requirement-type", `{"default":[{"type":"trustMe"}]}`, "{{DIR}}/policy.json"},
		{"empty-default", `{"default":[]}`, "{{DIR}}/policy.json"},
		{"missing-gpg-key-file", `{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"{{DIR}}/absent.gpg"}]}`, "{{DIR}}/absent.gpg"},
		{"missing-key-in-docker-scope", `{"default":[{"type":"reject"}],"transports":{"docker":{"quay.io":[
		   {"type":"sigstoreSigned","keyPaths":["{{DIR}}/../cosign.pub","{{DIR}}/absent.pub"],"signedIdentity":{"type":"matchRepository"}}]}}}`, "{{DIR}}/absent.pub"},
		{"key-file-not-pem", `{"default":[{"type":"sigstoreSigned","keyPath":"{{DIR}}/../not-a-key.pub","signedIdentity":{"type":"matchRepository"}}]}`, "not-a-key.pub"},
		{"gpg-key-file-empty", `{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"{{DIR}}/../empty.gpg"}]}`, "empty.gpg"},
		{"missing-fulcio-ca", `{"default":[{"type":"sigstoreSigned","fulcio":{"caPath":"{{DIR}}/absent-ca.pem","oidcIssuer":"https://x","subjectEmail":"a@b"},
		   "rekorPublicKeyPath":"{{DIR}}/../cosign.pub","signedIdentity":{"type":"matchRepository"}}]}`, "{{DIR}}/absent-ca.pem"},
		{"missing-rekor-key", `{"default":[{"type":"sigstoreSigned","keyPath":"{{DIR}}/../cosign.pub","rekorPublicKeyPath":"{{DIR}}/absent-rekor.pub",
		   "signedIdentity":{"type":"matchRepository"}}]}`, "{{DIR}}/absent-rekor.pub"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			caseDir := filepath.Join(dir, tc.name)
			path := filepath.Join(caseDir, "policy.json")
			if tc.policy != "" {
				mkdir(t, caseDir)
				writePolicy(t, caseDir, tc.policy)
			}
			_, err := NewVerifier(Options{PolicyPath: path})
			want := strings.ReplaceAll(tc.want, "{{DIR}}", caseDir)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want one naming %s", err, want)
			}
		})
	}
}

func TestNewVerifierIgnoresOtherTransports(t *testing.T) {
	// Only the docker transport matters to an importer; a key file of another
	// transport's scope is not read.
	dir := t.TempDir()
	path := writePolicy(t, dir, `{"default":[{"type":"insecureAcceptAnything"}],"transports":{
	  "docker-daemon":{"":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"{{DIR}}/absent.gpg"}]}}}`)
	if _, err := NewVerifier(Options{PolicyPath: path}); err != nil {
		t.Fatal(err)
	}
}

func TestScopeSelection(t *testing.T) {
	dir := t.TempDir()
	key := newCosignKey(t)
	writeFile(t, dir, "cosign.pub", key.pem)
	v := newTestVerifier(t, writePolicy(t, dir, `{"default":[{"type":"reject"}],"transports":{"docker":{
	  "":[{"type":"insecureAcceptAnything"}],
	  "*.example.com":[{"type":"sigstoreSigned","keyPath":"{{DIR}}/cosign.pub","signedIdentity":{"type":"matchRepository"}}],
	  "registry.example.com/ns/open":[{"type":"insecureAcceptAnything"}]}}}`))
	cases := map[string]bool{
		"registry.example.com/ns/app:v1":   true,  // wildcard host
		"registry.example.com/ns/open:v1":  false, // repository scope wins
		"registry.example.com/ns/open/sub": false, // scopes are namespaces: nested repositories fall in
		"registry.example.com/ns/opener":   true,  // ... but only at a path boundary
		"docker.io/library/busybox:latest": false, // transport "" scope
	}
	for ref, want := range cases {
		if got := v.RequiresSigstoreAttachments(mustRef(t, ref)); got != want {
			t.Errorf("%s: RequiresSigstoreAttachments = %v, want %v", ref, got, want)
		}
	}
	m, d := testManifest("scope")
	if res := verify(t, v, "registry.example.com/ns/open:v1", m, d); res.Verdict != VerdictAccepted {
		t.Errorf("open repository: verdict %s %q", res.Verdict, res.Reason)
	}
	if res := verify(t, v, "registry.example.com/ns/app:v1", m, d); res.Verdict != VerdictRejected {
		t.Errorf("signed repository, unsigned image: verdict %s", res.Verdict)
	}
	noPolicy := newTestVerifier(t, "")
	if noPolicy.RequiresSignatures(mustRef(t, "registry.example.com/ns/app")) {
		t.Error("no policy requires nothing")
	}
}

// A pair's verdict is for a pull by digest, which a scope naming a tag is
// not consulted for: NewVerifier warns once for each such scope, and for
// no other kind (repository, namespace, digest, wildcard, the "" scope).
func TestNewVerifierWarnsOfScopesThatNameATag(t *testing.T) {
	dir := t.TempDir()
	path := writePolicy(t, dir, `{"default":[{"type":"reject"}],"transports":{"docker":{
		"registry.example.com/app:latest":[{"type":"reject"}],
		"registry.example.com/app":[{"type":"insecureAcceptAnything"}],
		"registry.example.com/app@sha256:`+strings.Repeat("a", 64)+`":[{"type":"reject"}],
		"registry.example.com":[{"type":"insecureAcceptAnything"}],
		"*.example.org":[{"type":"insecureAcceptAnything"}],
		"localhost:5000/team/db:1.0":[{"type":"reject"}],
		"":[{"type":"reject"}]}}}`)
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	if _, err := NewVerifier(Options{PolicyPath: path, Logger: log}); err != nil {
		t.Fatal(err)
	}
	var warned []string
	for line := range strings.Lines(logged.String()) {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "pulls by digest") {
			_, scope, _ := strings.Cut(line, "scope=")
			scope, _, _ = strings.Cut(scope, " ")
			warned = append(warned, scope)
		}
	}
	want := []string{"localhost:5000/team/db:1.0", "registry.example.com/app:latest"}
	if !slices.Equal(warned, want) {
		t.Errorf("warned of scopes %q, want %q\nlog:\n%s", warned, want, logged.String())
	}
}
