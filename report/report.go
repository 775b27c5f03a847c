package report

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/regimport/regimport/report/query"

	"github.com/regimport/regimport/catalog"
)

// Format is an output format.
type Format string

// Formats.
const (
	FormatHTML     Format = "html"
	FormatJSON     Format = "json"
	FormatCSV      Format = "csv"
	FormatMarkdown Format = "md"
)

// ParseFormat accepts html, json, csv, md (or markdown).
func ParseFormat(s string) (Format, error) {
	switch s {
	case "html", "json", "csv", "md":
		return Format(s), nil
	case "markdown":
		return FormatMarkdown, nil
	}
	return "", usagef("format %q: want html, json, csv or md", s)
}

// ErrUsage marks errors in what was asked (a bad format, range or table),
// as opposed to errors reading the catalog: errors.Is(err, ErrUsage).
var ErrUsage = errors.New("bad report request")

type usageError string

func (e usageError) Error() string        { return string(e) }
func (e usageError) Is(target error) bool { return target == ErrUsage }

func usagef(format string, args ...any) error { return usageError(fmt.Sprintf(format, args...)) }

// Options configure Write. The zero value writes an HTML report of the
// whole catalog comparing the last run with the one before.
type Options struct {
	Format Format
	// Repository restricts the report to repositories (host/path) matching
	// this SQLite GLOB pattern ("" for all).
	Repository string
	// Range selects the two states the changes section compares.
	Range Range
	// Table picks one table for csv (default inventory) or md (default all);
	// see Tables.
	Table string
	// File is the catalog's name as shown in the report (default: its base name).
	File string
	// Now is the clock (ages, default cut ends); nil uses time.Now.
	Now func() time.Time
	// Logger receives progress at debug level; nil discards.
	Logger *slog.Logger
	// PolicyPreview, when set, adds what a policy would change beside what
	// is (policypreview.go), restricted to Repository. The caller
	// evaluates the policy: a report never does.
	PolicyPreview *PolicyPreview
	// KeyRetired lists retired keys: the report lists their signatures
	// not proven to predate the retirement (evidence.go).
	KeyRetired []KeyRetirement
}

// Write renders a report of cat to w. It only reads the catalog, in one
// read transaction, and streams long lists, so memory does not grow with
// the number of images.
func Write(ctx context.Context, w io.Writer, cat catalog.Catalog, opts Options) error {
	if opts.Format == "" {
		opts.Format = FormatHTML
	}
	if _, err := ParseFormat(string(opts.Format)); err != nil {
		return err
	}
	if err := checkTable(opts.Format, opts.Table); err != nil {
		return err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.File == "" {
		opts.File = filepath.Base(cat.Path())
	}
	start := time.Now()
	snap, err := query.BeginReport(ctx, cat, opts.Repository)
	if err != nil {
		return err
	}
	defer snap.Close()
	r := &renderer{snap: snap, opts: opts}
	if err := r.gather(ctx); err != nil {
		return err
	}
	opts.Logger.Debug("report facts gathered", "took", time.Since(start), "images", r.doc.Summary.Images)
	bw := bufio.NewWriterSize(w, 64<<10)
	switch opts.Format {
	case FormatJSON:
		err = r.writeJSON(ctx, bw)
	case FormatCSV:
		err = r.writeCSV(ctx, bw)
	case FormatMarkdown:
		err = r.writeMarkdown(ctx, bw)
	default:
		err = r.writeHTML(ctx, bw)
	}
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	opts.Logger.Debug("report written", "format", opts.Format, "took", time.Since(start))
	return nil
}

// Range is what --since asks: From (a run id or a time; zero: the run
// before the last one) and To (zero: the catalog as it is now).
type Range struct{ From, To Point }

// Point is a run id or a time; the zero Point is "not given".
type Point struct {
	Run  int64
	Time time.Time
}

func (p Point) isZero() bool { return p.Run == 0 && p.Time.IsZero() }

// ParseRange reads "FROM" or "FROM..TO", each a run id, an RFC 3339 time, a
// date (2006-01-02, UTC), or an age before now such as 36h or 7d.
func ParseRange(s string, now time.Time) (Range, error) {
	var r Range
	if s == "" {
		return r, nil
	}
	from, to, hasTo := strings.Cut(s, "..")
	var err error
	if r.From, err = parsePoint(from, now); err != nil {
		return r, err
	}
	if hasTo {
		if r.To, err = parsePoint(to, now); err != nil {
			return r, err
		}
	}
	return r, nil
}

func parsePoint(s string, now time.Time) (Point, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		return Point{Run: n}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return Point{Time: t.UTC()}, nil
		}
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.ParseFloat(days, 64); err == nil && n > 0 {
			return Point{Time: now.Add(-time.Duration(n * 24 * float64(time.Hour))).UTC()}, nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return Point{Time: now.Add(-d).UTC()}, nil
	}
	return Point{}, usagef("--since %q: want a run id, a time (2006-01-02 or RFC 3339), an age (36h, 7d), or FROM..TO", s)
}

// resolve turns the asked range into catalog cuts, given the runs oldest first.
func resolve(rg Range, runs []query.ReportRun, now time.Time) (from, to query.ReportCut, fromCut, toCut Cut, err error) {
	end := func(i int) time.Time { // when run i's writes were over
		switch {
		case runs[i].FinishedAt != nil:
			return *runs[i].FinishedAt
		case i+1 < len(runs):
			return runs[i+1].StartedAt
		}
		return now
	}
	point := func(p Point) (query.ReportCut, Cut, error) {
		if p.Run == 0 {
			t := p.Time.UTC()
			return query.ReportCut{Time: t}, Cut{Time: &t, Description: t.Format(time.RFC3339)}, nil
		}
		for i := range runs {
			if runs[i].ID == p.Run {
				t := end(i).UTC()
				return query.ReportCut{RunID: p.Run, Time: t},
					Cut{Run: p.Run, Time: &t, Description: fmt.Sprintf("after run %d (%s)", p.Run, t.Format(time.RFC3339))}, nil
			}
		}
		return query.ReportCut{}, Cut{}, usagef("--since: the catalog has no run %d", p.Run)
	}
	switch {
	case !rg.From.isZero():
		if from, fromCut, err = point(rg.From); err != nil {
			return
		}
	case len(runs) >= 2:
		from, fromCut, _ = point(Point{Run: runs[len(runs)-2].ID})
	default:
		from, fromCut = query.ReportCut{Time: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)}, Cut{Description: "the empty catalog"}
	}
	to, toCut = query.ReportEnd, Cut{Description: "now"}
	if !rg.To.isZero() {
		if to, toCut, err = point(rg.To); err != nil {
			return
		}
	}
	if fromCut.Time != nil && toCut.Time != nil && !fromCut.Time.Before(*toCut.Time) {
		err = usagef("--since: %s is not before %s", fromCut.Description, toCut.Description)
	}
	return
}
