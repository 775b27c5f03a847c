package report

import (
	"fmt"
	"html"
	"html/template"
	"sort"
	"strings"
)

// Charts are inline SVG drawn here, so the HTML file needs nothing else to
// show them and prints them as vectors. Colours are the Okabe–Ito palette,
// which stays distinguishable for colour-blind readers and in greyscale
// with the printed counts.
const (
	colAccepted = "#009E73"
	colSigned   = "#D55E00"
	colUnsigned = "#E69F00"
	colNone     = "#999999"
	colNew      = "#0072B2"
	colMoved    = "#CC79A7"
	colText     = "#222"
	chartWidth  = 640
	maxRepoBars = 15
	maxRunBars  = 30
)

type segment struct {
	label, color string
	value        int
}

type svg struct{ strings.Builder }

func newSVG(w, h int, title string) *svg {
	s := &svg{}
	fmt.Fprintf(s, `<svg viewBox="0 0 %d %d" role="img" font-size="11" font-family="system-ui, sans-serif"><title>%s</title>`,
		w, h, html.EscapeString(title))
	return s
}

func (s *svg) text(x, y float64, anchor, fill, txt string) {
	fmt.Fprintf(s, `<text x="%.1f" y="%.1f" text-anchor="%s" fill="%s">%s</text>`, x, y, anchor, fill, html.EscapeString(txt))
}

func (s *svg) rect(x, y, w, h float64, fill, tip string) {
	if w <= 0 || h <= 0 {
		return
	}
	fmt.Fprintf(s, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>`, x, y, w, h, fill, html.EscapeString(tip))
}

func (s *svg) legend(y float64, segs []segment) {
	x := 0.0
	for _, sg := range segs {
		s.rect(x, y-9, 10, 10, sg.color, sg.label)
		s.text(x+14, y, "start", colText, sg.label)
		x += 28 + float64(len([]rune(sg.label)))*6.2
	}
}

func (s *svg) done() template.HTML {
	s.WriteString(`</svg>`)
	return template.HTML(s.String()) // every piece of text above went through html.EscapeString
}

func empty(title, msg string) template.HTML {
	s := newSVG(chartWidth, 40, title)
	s.text(chartWidth/2, 24, "middle", "#666", msg)
	return s.done()
}

// shorten keeps the end of a long repository name, which tells most.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return "…" + string(r[len(r)-n+1:])
}

// signedChart: one bar per repository (the largest first, the rest folded
// into one bar), each split by share: signed and accepted, signed but not
// accepted, unsigned, never evaluated; the number of images follows the bar.
func signedChart(repos []Repository) template.HTML {
	const title = "Signed and unsigned images per repository"
	if len(repos) == 0 {
		return empty(title, "No images")
	}
	rows := append([]Repository(nil), repos...)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Signatures.Images > rows[j].Signatures.Images })
	if len(rows) > maxRepoBars {
		var other Repository
		other.Name = fmt.Sprintf("%d other repositories", len(rows)-maxRepoBars+1)
		for _, r := range rows[maxRepoBars-1:] {
			c, o := r.Signatures, &other.Signatures
			o.Images += c.Images
			o.Signed += c.Signed
			o.SignedAccepted += c.SignedAccepted
			o.Unsigned += c.Unsigned
			o.NotEvaluated += c.NotEvaluated
		}
		rows = append(rows[:maxRepoBars-1], other)
	}
	const labelW, barH, gap, top = 220.0, 16.0, 6.0, 28.0
	barW := chartWidth - labelW - 56
	h := int(top + float64(len(rows))*(barH+gap) + 4)
	s := newSVG(chartWidth, h, title)
	s.legend(12, []segment{{"signed, accepted", colAccepted, 0}, {"signed, not accepted", colSigned, 0},
		{"unsigned", colUnsigned, 0}, {"not evaluated", colNone, 0}})
	for i, r := range rows {
		c := r.Signatures
		y := top + float64(i)*(barH+gap)
		s.text(labelW-6, y+barH-4, "end", colText, shorten(r.Name, 36))
		x := labelW
		for _, sg := range []segment{{"signed, accepted", colAccepted, c.SignedAccepted}, {"signed, not accepted", colSigned, c.Signed - c.SignedAccepted},
			{"unsigned", colUnsigned, c.Unsigned}, {"not evaluated", colNone, c.NotEvaluated}} {
			w := float64(sg.value) / float64(max(c.Images, 1)) * barW
			s.rect(x, y, w, barH, sg.color, fmt.Sprintf("%s: %d of %d images %s", r.Name, sg.value, c.Images, sg.label))
			x += w
		}
		s.text(labelW+barW+6, y+barH-4, "start", colText, fmt.Sprint(c.Images))
	}
	return s.done()
}

// histogram draws buckets as vertical bars with their counts on top.
func histogram(title string, buckets []Bucket, color string) template.HTML {
	total := 0
	for _, b := range buckets {
		total += b.Count
	}
	if total == 0 {
		return empty(title, "No images with this information")
	}
	maxN := 1
	for _, b := range buckets {
		maxN = max(maxN, b.Count)
	}
	const h, top, bottom = 200.0, 16.0, 30.0
	slot := float64(chartWidth) / float64(len(buckets))
	s := newSVG(chartWidth, int(h), title)
	for i, b := range buckets {
		bh := float64(b.Count) / float64(maxN) * (h - top - bottom)
		x := float64(i) * slot
		s.rect(x+slot*0.15, h-bottom-bh, slot*0.7, bh, color, fmt.Sprintf("%s: %d images", b.Label, b.Count))
		s.text(x+slot/2, h-bottom-bh-4, "middle", colText, fmt.Sprint(b.Count))
		s.text(x+slot/2, h-bottom+14, "middle", colText, b.Label)
	}
	fmt.Fprintf(s, `<line x1="0" y1="%.1f" x2="%d" y2="%.1f" stroke="#888"/>`, h-bottom, chartWidth, h-bottom)
	return s.done()
}

// runsChart: per run (the last 30), stacked bars of what it changed within
// the filter; runs inside the compared range are shaded.
func runsChart(runs []Run) template.HTML {
	const title = "Changes over the runs"
	if len(runs) == 0 {
		return empty(title, "No import runs recorded")
	}
	if len(runs) > maxRunBars {
		runs = runs[len(runs)-maxRunBars:]
	}
	segs := func(r Run) []segment {
		return []segment{{"new images", colNew, r.NewImages}, {"tags added", colAccepted, r.TagsAdded},
			{"tags moved", colMoved, r.TagsMoved}, {"re-verified", colUnsigned, r.VerificationChanges}, {"failed references", colSigned, r.Failed}}
	}
	totals := make([]int, len(runs))
	for i, r := range runs {
		for _, sg := range segs(r) {
			totals[i] += sg.value
		}
	}
	maxN := scaleMax(totals)
	const h, top, bottom = 220.0, 34.0, 30.0
	slot := float64(chartWidth) / float64(len(runs))
	s := newSVG(chartWidth, int(h), title)
	s.legend(12, segs(Run{}))
	for i, r := range runs {
		x := float64(i) * slot
		if r.InRange {
			fmt.Fprintf(s, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#e8eef7"/>`, x, top-6, slot, h-top-bottom+6)
		}
		// A bar taller than the scale (a first, whole import) is cut
		// short and marked with a break; its label keeps the true total.
		scale := (h - top - bottom - 14) / float64(maxN) * min(1, float64(maxN)/float64(max(totals[i], 1)))
		y := h - bottom
		for _, sg := range segs(r) {
			bh := float64(sg.value) * scale
			y -= bh
			s.rect(x+slot*0.2, y, slot*0.6, bh, sg.color, fmt.Sprintf("run %d: %d %s", r.ID, sg.value, sg.label))
		}
		if totals[i] > maxN {
			fmt.Fprintf(s, `<path d="M%.1f %.1f l%.1f -5 l%.1f 5 l%.1f -5" stroke="#fff" stroke-width="3" fill="none"/>`,
				x+slot*0.2, y+14, slot*0.2, slot*0.2, slot*0.2)
		}
		if totals[i] > 0 {
			s.text(x+slot/2, y-3, "middle", colText, fmt.Sprint(totals[i]))
		}
		s.text(x+slot/2, h-bottom+14, "middle", colText, fmt.Sprint(r.ID))
	}
	s.text(chartWidth/2, h-2, "middle", "#555", "run")
	fmt.Fprintf(s, `<line x1="0" y1="%.1f" x2="%d" y2="%.1f" stroke="#888"/>`, h-bottom, chartWidth, h-bottom)
	return s.done()
}

// scaleMax is the top of a bar chart's scale: the largest value, unless it
// is more than three times the next largest, in which case that bar is cut.
func scaleMax(values []int) int {
	first, second := 0, 0
	for _, v := range values {
		switch {
		case v > first:
			first, second = v, first
		case v > second:
			second = v
		}
	}
	if second > 0 && first > 3*second {
		return second * 5 / 4
	}
	return max(first, 1)
}
