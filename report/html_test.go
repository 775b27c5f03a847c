package report_test

import (
	"context"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/regimport/regimport/report"
)

// chromium finds Debian's chromium (make test-deps installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const why = "no chromium: install Debian's chromium package (make test-deps) to check the HTML report in a browser"
	if os.Getenv("CI") == "true" {
		t.Fatal(why + " (CI=true: a missing tool fails the run)")
	}
	t.Skip(why)
	return ""
}

// browse opens file#fragment in headless Chromium with no network and
// returns the DOM after the page's script ran (and, with shot, a screenshot).
func browse(t *testing.T, bin, file, fragment, shot string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
		"--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
	url := "file://" + file + fragment
	if shot != "" {
		args = append(args, "--window-size=1280,2200", "--screenshot="+shot, url)
	} else {
		args = append(args, "--virtual-time-budget=5000", "--dump-dom", url)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", fragment, err, stderr.String())
	}
	return string(out)
}

var (
	rowRE  = regexp.MustCompile(`(?s)<tr([^>]*)>(.*?)</tr>`)
	cellRE = regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`)
	tagRE  = regexp.MustCompile(`<[^>]+>`)
)

// visibleRows returns the text of the cells of the rows of table id that
// are not hidden, in DOM order.
func visibleRows(t *testing.T, dom, id string) [][]string {
	t.Helper()
	start := strings.Index(dom, `<table id="`+id+`"`)
	if start < 0 {
		t.Fatalf("no table %s in the DOM", id)
	}
	body := dom[start:]
	body = body[strings.Index(body, "<tbody>"):strings.Index(body, "</tbody>")]
	var out [][]string
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		if strings.Contains(m[1], "hidden") {
			continue
		}
		var cells []string
		for _, c := range cellRE.FindAllStringSubmatch(m[2], -1) {
			cells = append(cells, html.UnescapeString(strings.TrimSpace(tagRE.ReplaceAllString(c[1], ""))))
		}
		out = append(out, cells)
	}
	return out
}

func textOf(t *testing.T, dom, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)id="` + regexp.QuoteMeta(id) + `"[^>]*>(.*?)</`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("no element #%s in the DOM", id)
	}
	return html.UnescapeString(strings.TrimSpace(m[1]))
}

func TestHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	path := buildScenario(t)
	file := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(file, render(t, path, report.Options{Format: report.FormatHTML}), 0o644); err != nil {
		t.Fatal(err)
	}

	// What a person sees first: the summary numbers, the charts (kept as
	// a screenshot when REPORT_SCREENSHOT names a file).
	dom := browse(t, bin, file, "", os.Getenv("REPORT_SCREENSHOT"))
	for id, want := range map[string]string{"n-images": "10", "n-repositories": "4", "n-accepted": "6", "n-rejected": "1",
		"n-unsigned": "1", "n-not-evaluated": "2", "n-runs": "3", "n-changes": "0 / 1 / 0"} {
		if got := textOf(t, dom, id); got != want {
			t.Errorf("summary #%s shows %q, want %q", id, got, want)
		}
	}
	for _, chart := range []string{"chart-signed", "chart-runs", "chart-sizes", "chart-ages"} {
		if !regexp.MustCompile(`id="` + chart + `"><svg[^>]*>.*?<rect`).MatchString(dom) {
			t.Errorf("chart %s has no bars", chart)
		}
	}
	if got := textOf(t, dom, "inventory-count"); got != "11 of 11 rows" {
		t.Errorf("the script did not run, or counted wrong: %q", got)
	}

	// Sorting by size, largest first: A3 (38 MiB) under its two tags.
	rows := visibleRows(t, browse(t, bin, file, "#inventory.sort=size&inventory.dir=desc", ""), "inventory")
	if len(rows) != 11 || rows[0][2] != imgA3.Digest() || rows[1][2] != imgA3.Digest() || rows[2][2] != imgA2.Digest() {
		t.Errorf("sorted by size: first rows %v", firstCells(rows, 2, 3))
	}
	rows = visibleRows(t, browse(t, bin, file, "#inventory.sort=size&inventory.dir=asc", ""), "inventory")
	if rows[0][2] != imgW2.Digest() && rows[0][2] != listL1.Image.Name { // the list (0 B) is smallest
		t.Errorf("sorted by size ascending: first rows %v", firstCells(rows, 2, 3))
	}

	// Filtering by text and by signature state, as a person would type.
	dom = browse(t, bin, file, "#inventory.q=team/web", "")
	if rows := visibleRows(t, dom, "inventory"); len(rows) != 3 || textOf(t, dom, "inventory-count") != "3 of 11 rows" {
		t.Errorf("filter team/web: %d rows, count %q", len(rows), textOf(t, dom, "inventory-count"))
	}
	rows = visibleRows(t, browse(t, bin, file, "#inventory.f=not-evaluated", ""), "inventory")
	if len(rows) != 2 {
		t.Errorf("filter not evaluated: %v", firstCells(rows, 0, 2))
	}
	rows = visibleRows(t, browse(t, bin, file, "#inventory.f=rejected&inventory.q=edge", ""), "inventory")
	if len(rows) != 1 || rows[0][1] != "edge" || rows[0][8] != "rejected" {
		t.Errorf("filter rejected + edge: %v", rows)
	}
	rows = visibleRows(t, browse(t, bin, file, "#signers.sort=images&signers.dir=asc", ""), "signers")
	if len(rows) != 3 || !strings.HasPrefix(rows[0][0], "ci@example.com") {
		t.Errorf("signers sorted by images ascending: %v", firstCells(rows, 0, 1))
	}
}

func firstCells(rows [][]string, from, to int) []string {
	var out []string
	for i, r := range rows {
		if i == 4 {
			break
		}
		out = append(out, fmt.Sprint(r[from:min(to, len(r))]))
	}
	return out
}

func TestHTMLIsSelfContained(t *testing.T) {
	page := string(render(t, buildScenario(t), report.Options{Format: report.FormatHTML}))
	for _, re := range []string{`(?i)<(script|img|iframe|link|source|embed|object)[^>]*\s(src|href)=`, `(?i)url\(`, `(?i)@import`,
		`(?i)(src|href)\s*=\s*["']?\s*(https?:|//|file:)`, `(?i)<[^>]*https?://`} {
		if m := regexp.MustCompile(re).FindString(page); m != "" {
			t.Errorf("the report refers to something outside itself: %q", m)
		}
	}
	// A URL may appear only as text a reader sees (an OIDC issuer, in a
	// table cell): never inside a tag, the style or the script.
	for _, block := range regexp.MustCompile(`(?is)<(script|style)[^>]*>.*?</(script|style)>`).FindAllString(page, -1) {
		if m := regexp.MustCompile(`(?i)https?://`).FindString(block); m != "" {
			t.Errorf("the report's style or script names %q", m)
		}
	}
	if !strings.Contains(page, "OIDC https://token.actions.githubusercontent.com") {
		t.Error("the keyless signer's OIDC issuer is not shown")
	}
	csp := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]+)">`).FindStringSubmatch(page)
	if csp == nil || !strings.Contains(html.UnescapeString(csp[1]), "default-src 'none'") {
		t.Errorf("no Content-Security-Policy forbidding loads: %v", csp)
	}
	// Text from registries is escaped: a failure reason cannot inject markup.
	if strings.Contains(page, "<script>alert") || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("a failure reason's markup is not escaped")
	}
}
