package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// benchmarkSection is README.md's "## Benchmarks" section, up to the next
// second-level heading.
func benchmarkSection(t *testing.T, readme string) string {
	t.Helper()
	i := strings.Index(readme, "\n## Benchmarks\n")
	if i < 0 {
		t.Fatal(`README.md has no "## Benchmarks" section`)
	}
	rest := readme[i+1:]
	if j := strings.Index(rest[3:], "\n## "); j >= 0 {
		rest = rest[:j+3]
	}
	return rest
}

// withoutCode drops fenced code blocks and inline code spans, where
// commands and flags (`-rounds`, `make bench BENCH='-only import'`) live.
func withoutCode(text string) string {
	var out []string
	fenced := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			out = append(out, line)
		}
	}
	// Code spans may wrap onto the next line in Markdown.
	return regexp.MustCompile("`[^`]*`").ReplaceAllString(strings.Join(out, "\n"), "")
}

// figureOutside returns the lines of text that hold a digit: a figure,
// for prose that must have none.
func figureOutside(text string) []string {
	var bad []string
	for _, line := range strings.Split(text, "\n") {
		if strings.ContainsAny(line, "0123456789") {
			bad = append(bad, line)
		}
	}
	return bad
}

// TestREADMEFiguresComeFromSections: every figure of README.md's
// Benchmarks section is inside the marker block of a section of make
// bench, and every section has its block there.
func TestREADMEFiguresComeFromSections(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	sec := benchmarkSection(t, string(b))
	names, outside, err := markedBlocks(sec)
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, n := range sectionNames() {
		known[n] = true
	}
	seen := map[string]int{}
	for _, n := range names {
		if !known[n] {
			t.Errorf("README.md has a block %q, which no make bench section writes (the sections: %s)", n, strings.Join(sectionNames(), ", "))
		}
		seen[n]++
	}
	for _, n := range sectionNames() {
		if seen[n] != 1 {
			t.Errorf("README.md's Benchmarks section has %d blocks of the section %q, want 1", seen[n], n)
		}
	}
	for _, line := range figureOutside(withoutCode(outside)) {
		t.Errorf("a figure outside every make bench block (only the benchmark writes figures here): %q", line)
	}
	// Blocks elsewhere in README.md would escape the check.
	if all, _, err := markedBlocks(string(b)); err != nil || len(all) != len(names) {
		t.Errorf("README.md has %d bench blocks, %d of them in the Benchmarks section (%v)", len(all), len(names), err)
	}
}

// TestREADMEHeadingsNameNoIssues: no heading of README.md names an issue
// number; a reader of the README has no issue tracker.
func TestREADMEHeadingsNameNoIssues(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	issue := regexp.MustCompile(`(?i)\bissues?\s*#?\d|#\d`)
	fenced := false
	for n, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
		}
		if !fenced && strings.HasPrefix(line, "#") && issue.MatchString(line) {
			t.Errorf("README.md:%d: a heading names an issue: %q", n+1, line)
		}
	}
}

// TestFigureCheckCatchesFigures: the check above fails on a figure in
// the prose and passes once the same text is inside a block.
func TestFigureCheckCatchesFigures(t *testing.T) {
	prose := "The import runs at 71% of the client's speed.\nRun `make bench BENCH='-only import -rounds 5'`.\n"
	if bad := figureOutside(withoutCode(prose)); len(bad) != 1 || !strings.Contains(bad[0], "71%") {
		t.Errorf("figureOutside = %q, want the line with 71%%", bad)
	}
	in := "intro\n" + beginMarker("import") + "\n" + prose + endMarker("import") + "\n"
	names, outside, err := markedBlocks(in)
	if err != nil || len(names) != 1 || names[0] != "import" {
		t.Fatalf("markedBlocks = %v, %v", names, err)
	}
	if bad := figureOutside(withoutCode(outside)); len(bad) != 0 {
		t.Errorf("figures found outside the block: %q", bad)
	}
	for _, broken := range []string{
		beginMarker("import") + "\nno end\n",
		endMarker("import") + "\n" + beginMarker("import") + "\n",
		beginMarker("import") + "\n" + beginMarker("signed") + "\n" + endMarker("signed") + "\n" + endMarker("import") + "\n",
	} {
		if _, _, err := markedBlocks(broken); err == nil {
			t.Errorf("markedBlocks(%q) did not fail", broken)
		}
	}
}

// TestReplaceBlock: a run rewrites its section's block and nothing else,
// the same way every time.
func TestReplaceBlock(t *testing.T) {
	text := "# R\n\n" + beginMarker("import") + "\nold import\n" + endMarker("import") + "\n\nmiddle\n\n" +
		beginMarker("signed") + "\nold signed\n" + endMarker("signed") + "\n"
	bl := block{name: "import", title: "Import", flags: "-rounds 2", body: "| a | b |\n", stamp: stamp{when: time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC), args: []string{"-only", "import"}, host: "h", cpus: 2, load1: "0.5"}}
	got, err := replaceBlock(text, "import", bl.markdown())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### Import\n", "`make bench BENCH='-only import -rounds 2'`", "2026-12-07T01:00Z", "load average 0.5", "| a | b |", "middle", "old signed"} {
		if !strings.Contains(got, want) {
			t.Errorf("rewritten README lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "old import") {
		t.Errorf("the old import block is still there:\n%s", got)
	}
	again, err := replaceBlock(got, "import", bl.markdown())
	if err != nil || again != got {
		t.Errorf("a second rewrite changed the README (%v):\n%s", err, again)
	}
	if _, err := replaceBlock(text, "shards", "x"); err == nil {
		t.Error("a block without markers was written")
	}
	if _, err := replaceBlock(text+beginMarker("import")+"\n", "import", "x"); err == nil {
		t.Error("a duplicated marker was accepted")
	}
}
