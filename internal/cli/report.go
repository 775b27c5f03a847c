package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/report"
	"github.com/regimport/regimport/signatures"
)

const reportUsage = `Usage: regimport report [--db FILE] [--format html|json|csv|md] [-o FILE]
                        [--since RUN|TIME[..RUN|TIME]] [--repository GLOB] [--table NAME]
                        [--policy FILE]
                        [--key-retired KEY=DATE]...

Writes an audit report of the catalog: inventory, signatures and signers,
changes between runs, sizes and shared layers. It reads the catalog file only
(read-only, no network), so it works on a copy taken to another machine.

  --since     the changes section compares FROM with TO (default: the run before
              the last one, and now). Each is a run id (see regimport runs), a
              time (2006-01-02 or RFC 3339) or an age (36h, 7d).
  --repository  only repositories (host/path) matching this pattern; * matches
              any characters, "/" included, ? one, [abc] a set.
  --table     csv: the table to write (default inventory); md: only this table.
              One of: %s.
  --policy    add what this policy (and --notation-trust-policy) would change
              beside what is: the policy-preview table, as regimport verify
              --dry-run evaluates it (offline, against the stored signatures).
  --key-retired  KEY (a key fingerprint, as the signatures table's
              keyFingerprint) was retired at DATE (RFC 3339 or YYYY-MM-DD): the
              key-retired table lists its signatures with a verified time after
              DATE, a signer-claimed time after it, or no verified time at all
              (nothing proves they predate it). Repeatable.

Flags:
`

// runReport writes a report of the catalog to standard output or -o FILE.
func runReport(ctx context.Context, args []string, s Streams) int {
	fs := newFlagSet("report", s)
	db := fs.String("db", "catalog.db", dbUsage+" (opened read-only)")
	format := fs.String("format", "", "html, json, csv or md (default: from -o's extension, else html)")
	out := fs.String("o", "", "write the report to this file (default: standard output)")
	since := fs.String("since", "", "compare FROM[..TO]: run ids, times or ages (default: the run before the last, and now)")
	repo := fs.String("repository", "", "only repositories matching this glob")
	table := fs.String("table", "", "csv: which table (default inventory); md: only this table")
	policy := fs.String("policy", "", "containers-policy.json whose changes to show beside the stored verdicts (policy-preview)")
	var modern modernSignatureFlags
	modern.register(fs)
	var retired []report.KeyRetirement
	fs.Func("key-retired", "KEY=DATE: list KEY's signatures not proven to predate DATE (RFC 3339 or YYYY-MM-DD); repeatable", func(v string) error {
		k, err := report.ParseKeyRetirement(v)
		retired = append(retired, k)
		return err
	})
	var lf logFlags
	lf.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(s.Err, reportUsage, wrapList(report.Tables, 60, "\n              "))
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if isHelp(err) {
			return ExitOK
		}
		return ExitUsage
	}
	if len(pos) > 0 {
		return fail(s, ExitUsage, "report: unexpected argument %q (the catalog is --db FILE)", pos[0])
	}
	log, err := lf.logger(s.Err)
	if err != nil {
		return fail(s, ExitUsage, "report: %v", err)
	}
	f, err := reportFormat(*format, *out)
	if err != nil {
		return fail(s, ExitUsage, "report: %v", err)
	}
	now := time.Now()
	rng, err := report.ParseRange(*since, now)
	if err != nil {
		return fail(s, ExitUsage, "report: %v", err)
	}
	if *out != "" && samePath(*out, *db) {
		return fail(s, ExitUsage, "report: -o %s would overwrite the catalog", *out)
	}
	var verifier *signatures.Verifier
	if *policy != "" || modern.notationPolicy != "" {
		vo := signatures.Options{PolicyPath: *policy, Logger: log, TempDir: fastTempDir()}
		modern.apply(&vo)
		if verifier, err = signatures.NewVerifier(vo); err != nil {
			return fail(s, ExitUsage, "report: %v", err)
		}
	}
	cat, err := catalogdb.Open(ctx, *db, catalog.Options{ReadOnly: true, Logger: log})
	if errors.Is(err, catalog.ErrNeedMigrate) {
		return fail(s, ExitFatal, "report: %v\nregimport report never writes to a catalog; a command that opens it for writing "+
			"(regimport import, regimport verify) migrates it, on a copy if this file must stay as it is", err)
	}
	if err != nil {
		return fail(s, ExitFatal, "report: %v", err)
	}
	defer cat.Close()
	opts := report.Options{Format: f, Repository: *repo, Range: rng, Table: *table, Now: func() time.Time { return now }, Logger: log,
		KeyRetired: retired}
	if verifier != nil {
		// A report reads the catalog only: the policy is evaluated here,
		// and its result handed to the report as data.
		if opts.PolicyPreview, err = previewPolicy(ctx, cat, verifier, policyName(*policy, modern), nil); err != nil {
			return fail(s, ExitFatal, "report: %v", err)
		}
	}
	write := func(w io.Writer) error { return report.Write(ctx, w, cat, opts) }
	if *out == "" {
		err = write(s.Out)
	} else {
		err = writeFileAtomically(*out, write)
	}
	switch {
	case errors.Is(err, report.ErrUsage):
		return fail(s, ExitUsage, "report: %v", err)
	case err != nil:
		return fail(s, ExitFatal, "report: %v", err)
	}
	return ExitOK
}

// wrapList joins items with ", ", breaking lines before width.
func wrapList(items []string, width int, newline string) string {
	var b strings.Builder
	line := 0
	for i, it := range items {
		if i > 0 {
			b.WriteString(",")
			if line+len(it)+2 > width {
				b.WriteString(newline)
				line = 0
			} else {
				b.WriteString(" ")
				line++
			}
		}
		b.WriteString(it)
		line += len(it) + 1
	}
	return b.String()
}

// reportFormat is --format, or the format -o's extension names, or html.
func reportFormat(format, out string) (report.Format, error) {
	if format != "" {
		return report.ParseFormat(format)
	}
	switch strings.ToLower(filepath.Ext(out)) {
	case ".json":
		return report.FormatJSON, nil
	case ".csv":
		return report.FormatCSV, nil
	case ".md", ".markdown":
		return report.FormatMarkdown, nil
	}
	return report.FormatHTML, nil
}

func samePath(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(fa, fb)
	}
	pa, _ := filepath.Abs(a)
	pb, _ := filepath.Abs(b)
	return pa == pb
}

// writeFileAtomically writes through a temporary file in the same
// directory and renames it into place, so a failed report never leaves a
// half-written file where an earlier good one was. The file gets the mode
// a plain create would give it (0666 less the umask): a report is made to
// be shared, and the umask is how its owner says how widely.
func writeFileAtomically(path string, write func(io.Writer) error) error {
	tmp, err := createTemp(path)
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// createTemp is os.CreateTemp beside path, but created 0666 so that the
// umask decides its mode (os.CreateTemp's files are 0600 whatever the umask).
func createTemp(path string) (*os.File, error) {
	for range 100 {
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		name := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+"."+hex.EncodeToString(b[:]))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("create a temporary file beside %s: too many name collisions", path)
}
