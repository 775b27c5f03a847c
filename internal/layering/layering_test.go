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
	for _, want := range []string{"catalog", "catalog/catalogdb", "catalog/sqlite", "catalog/postgres", "catalog/internal/sqlstore", "report/query", "importer", "importer/streamimport", "importer/imagestream", "registry", "signatures", "apiserver", "report"} {
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
	// The domain importing its shared SQL is an edge down into its own implementation.
	g = moduleGraph(t)
	g[Module+"/catalog"] = append(g[Module+"/catalog"], Module+"/catalog/internal/sqlstore")
	if msgs := Check(g, Rules()); len(msgs) == 0 || !strings.Contains(strings.Join(msgs, "\n"), "catalog imports catalog/internal/sqlstore") {
		t.Errorf("catalog importing catalog/internal/sqlstore passed the check: %q", msgs)
	}
	// The report naming a backend, rather than the interfaces.
	g = moduleGraph(t)
	g[Module+"/report"] = append(g[Module+"/report"], Module+"/catalog/postgres")
	if msgs := Check(g, Rules()); len(msgs) == 0 || !strings.Contains(strings.Join(msgs, "\n"), "report imports catalog/postgres") {
		t.Errorf("report importing catalog/postgres passed the check: %q", msgs)
	}
	// The report may reach both backends through the opener: Direct rules
	// do not follow it.
	g = moduleGraph(t)
	g[Module+"/report"] = append(g[Module+"/report"], Module+"/catalog/catalogdb")
	if msgs := Check(g, Rules()); len(msgs) != 0 {
		t.Errorf("report importing the opener broke a rule: %q", msgs)
	}
	// The importer opening a catalog itself.
	g = moduleGraph(t)
	g[Module+"/importer"] = append(g[Module+"/importer"], Module+"/catalog/catalogdb")
	if msgs := Check(g, Rules()); len(msgs) == 0 || !strings.Contains(strings.Join(msgs, "\n"), "importer imports catalog/catalogdb") {
		t.Errorf("importer importing catalog/catalogdb passed the check: %q", msgs)
	}
	// One backend importing the other.
	g = moduleGraph(t)
	g[Module+"/catalog/sqlite"] = append(g[Module+"/catalog/sqlite"], Module+"/catalog/postgres")
	if msgs := Check(g, Rules()); len(msgs) == 0 || !strings.Contains(strings.Join(msgs, "\n"), "catalog/sqlite imports catalog/postgres") {
		t.Errorf("catalog/sqlite importing catalog/postgres passed the check: %q", msgs)
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
