package layering

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// moduleGraph reads the module's import graph as the build sees it.
func moduleGraph(t *testing.T) Graph {
	t.Helper()
	cmd := exec.Command("go", "list", "-tags", "containers_image_openpgp", "-deps", "-json=ImportPath,Imports,Module", Module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	g := Graph{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Imports    []string
			Module     *struct{ Path string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Module != nil && p.Module.Path == Module {
			g[p.ImportPath] = p.Imports
		}
	}
	for _, want := range []string{"catalog", "importer", "importer/streamimport", "importer/imagestream", "registry", "signatures", "apiserver", "report"} {
		if _, ok := g[Module+"/"+want]; !ok {
			t.Fatalf("go list found no package %s: the graph is not the module's", want)
		}
	}
	return g
}

func TestTheModuleFollowsTheOneWayFlow(t *testing.T) {
	for _, msg := range Check(moduleGraph(t), Rules()) {
		t.Error(msg)
	}
}

// TestCheckNamesTheOffendingImport plants a forbidden edge in the real graph
// and expects the check to fail on it, naming the import.
func TestCheckNamesTheOffendingImport(t *testing.T) {
	g := moduleGraph(t)
	report := Module + "/report"
	// A forbidden import two steps away: report -> imageview -> registry.
	g[report] = append(g[report], Module+"/internal/imageview")
	imageview := Module + "/internal/imageview"
	g[imageview] = append(append([]string(nil), g[imageview]...), Module+"/registry")
	msgs := Check(g, Rules())
	var joined = strings.Join(msgs, "\n")
	for _, want := range []string{
		"report imports internal/imageview (report -> internal/imageview -> registry): report may not depend on registry",
		"internal/imageview imports registry (internal/imageview -> registry)",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("check said:\n%s\nwant a line with %q", joined, want)
		}
	}
	// The shared core importing the mode built on it is an edge back up.
	g = moduleGraph(t)
	g[Module+"/importer"] = append(g[Module+"/importer"], Module+"/importer/streamimport")
	if msgs := Check(g, Rules()); len(msgs) == 0 || !strings.Contains(strings.Join(msgs, "\n"), "importer imports importer/streamimport") {
		t.Errorf("importer importing importer/streamimport passed the check: %q", msgs)
	}
	// catalog -> importer is an edge back up the flow.
	g = moduleGraph(t)
	g[Module+"/catalog"] = append(g[Module+"/catalog"], Module+"/importer")
	if msgs := Check(g, Rules()); len(msgs) == 0 || !strings.Contains(msgs[0], "catalog imports importer") {
		t.Errorf("catalog importing importer passed the check: %q", msgs)
	}
}

// mirror copies what the catalog verified: it may not reach the importer
// (or verify on its own), and report may not reach mirror.
func TestMirrorRule(t *testing.T) {
	g := moduleGraph(t)
	g[Module+"/mirror"] = append(g[Module+"/mirror"], Module+"/importer")
	g[Module+"/report"] = append(g[Module+"/report"], Module+"/mirror")
	joined := strings.Join(Check(g, Rules()), "\n")
	for _, want := range []string{"mirror imports importer", "report imports mirror"} {
		if !strings.Contains(joined, want) {
			t.Errorf("check said:\n%s\nwant a line with %q", joined, want)
		}
	}
}
