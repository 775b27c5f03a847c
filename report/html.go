package report

import (
	"bufio"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/regimport/regimport/catalog"
)

//go:embed assets/report.html assets/report.css assets/report.js
var assets embed.FS

// page is what the HTML template sees. Long lists are iterators over the
// snapshot, so rows go from SQLite to the file one at a time.
type page struct {
	*Document
	CSS           template.CSS
	JS            template.JS
	CSP           string
	SignedChart   template.HTML
	SizeChart     template.HTML
	AgeChart      template.HTML
	RunsChart     template.HTML
	RejectedRows  iter.Seq[RejectedImage]
	TagRows       iter.Seq[TagChange]
	ImageRows     iter.Seq[ImageChange]
	FailureRows   iter.Seq[Failure]
	InventoryRows iter.Seq[InventoryRow]
	// The evidence section (evidence.go); RetiredRows only with --key-retired.
	SignatureRows  iter.Seq[SignatureRow]
	UnverifiedRows iter.Seq[SignatureRow]
	RetiredRows    iter.Seq[RetiredKeySignature]
	Lineage        lineageSummary
	DerivedRows    iter.Seq[LineageRow]
}

// htmlAssets is the parsed template and its inline style and script.
type htmlAssets struct {
	tmpl *template.Template
	css  string
	js   string
}

func loadHTML() (*htmlAssets, error) {
	css, err := assets.ReadFile("assets/report.css")
	if err != nil {
		return nil, err
	}
	js, err := assets.ReadFile("assets/report.js")
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New("report.html").Funcs(funcs).ParseFS(assets, "assets/report.html")
	if err != nil {
		return nil, fmt.Errorf("report template: %w", err)
	}
	return &htmlAssets{tmpl: tmpl, css: string(css), js: string(js)}, nil
}

// cspHash is the CSP source that allows exactly this inline content.
func cspHash(content string) string {
	sum := sha256.Sum256([]byte(content))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func (r *renderer) writeHTML(ctx context.Context, w *bufio.Writer) error {
	a, err := loadHTML()
	if err != nil {
		return err
	}
	var streamErr error
	d := &r.doc
	p := page{
		Document: d,
		CSS:      template.CSS(a.css),
		JS:       template.JS(a.js),
		// Nothing may be fetched: no network, no other file; only this
		// page's own style and script run.
		CSP: "default-src 'none'; style-src " + cspHash(a.css) + "; script-src " + cspHash(a.js) +
			"; img-src data:; form-action 'none'; base-uri 'none'",
		SignedChart:    signedChart(d.Repositories),
		SizeChart:      histogram("Image sizes", d.Storage.SizeHistogram, colNew),
		AgeChart:       histogram("Age of images (since their stated build time)", d.Storage.AgeHistogram, colMoved),
		RunsChart:      runsChart(d.Runs),
		RejectedRows:   r.rejected(ctx, &streamErr),
		TagRows:        r.tagChanges(ctx, &streamErr),
		ImageRows:      r.imageChanges(ctx, &streamErr),
		FailureRows:    r.failures(ctx, &streamErr),
		InventoryRows:  r.inventory(ctx, &streamErr),
		SignatureRows:  r.signatureRows(ctx, &streamErr),
		UnverifiedRows: r.unverifiedTimes(ctx, &streamErr),
		Lineage:        r.lineageBases(ctx, &streamErr),
		DerivedRows:    r.derivedRows(ctx, &streamErr),
	}
	if len(r.opts.KeyRetired) > 0 {
		p.RetiredRows = r.retiredKeySignatures(ctx, &streamErr)
	}
	if streamErr != nil {
		return streamErr
	}
	if err := a.tmpl.Execute(w, p); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	return streamErr
}

var funcs = template.FuncMap{
	"bytes": humanBytes,
	"num":   thousands,
	"date": func(v any) string {
		if t := timeOf(v); !t.IsZero() {
			return t.UTC().Format(time.DateOnly)
		}
		return ""
	},
	"datetime": func(v any) string {
		if t := timeOf(v); !t.IsZero() {
			return t.UTC().Format("2006-01-02 15:04 UTC")
		}
		return ""
	},
	"unix": func(v any) int64 {
		if t := timeOf(v); !t.IsZero() {
			return t.Unix()
		}
		return 0
	},
	"pct": func(a, b int) string {
		if b == 0 {
			return "–"
		}
		return strconv.Itoa(int(float64(a)*100/float64(b)+0.5)) + "%"
	},
	"ratio": func(a, b int) string {
		if b == 0 {
			return "-1"
		}
		return strconv.FormatFloat(float64(a)/float64(b), 'f', 4, 64)
	},
	"join": func(s []string) string { return strings.Join(s, ", ") },
	"ref": func(repo, tag string) string {
		if tag == "" {
			return repo
		}
		return repo + ":" + tag
	},
	"lines":  func(s []string) string { return strings.Join(s, "\n") },
	"mt":     shortMediaType,
	"minus":  func(a, b int) int { return a - b },
	"plural": func(n int, one, many string) string { return map[bool]string{true: one, false: many}[n == 1] },
	"platform": func(r InventoryRow) string {
		if r.Kind == "list" {
			return strings.Join(r.Platforms, ", ")
		}
		p := catalog.Platform{OS: r.OS, Architecture: r.Architecture, Variant: r.Variant}
		if p == (catalog.Platform{}) {
			return ""
		}
		return p.String()
	},
	"signer": signer,
	"verdict": func(v string) string {
		if v == "" {
			return "not evaluated"
		}
		return v
	},
}

func timeOf(v any) time.Time {
	switch t := v.(type) {
	case time.Time:
		return t
	case *time.Time:
		if t != nil {
			return *t
		}
	}
	return time.Time{}
}

// thousands formats 12345 as 12,345.
func thousands(v any) string {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	}
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func shortMediaType(mt string) string {
	switch mt {
	case "application/vnd.oci.image.manifest.v1+json":
		return "OCI image"
	case "application/vnd.oci.image.index.v1+json":
		return "OCI index"
	case "application/vnd.docker.distribution.manifest.v2+json":
		return "Docker v2"
	case "application/vnd.docker.distribution.manifest.list.v2+json":
		return "Docker list"
	case "application/vnd.docker.distribution.manifest.v1+json", "application/vnd.docker.distribution.manifest.v1+prettyjws":
		return "Docker schema 1"
	}
	return mt
}
