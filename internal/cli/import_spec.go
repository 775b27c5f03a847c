package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/importer/streamimport"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// specFlags are the flags of `regimport import -f`.
type specFlags struct {
	files   stringList
	output  string
	include string
	exclude string
	semver  string
	newest  int
	maxTags int
}

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func (f *specFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.files, "f", "ImageStreamImport documents to import: a YAML or JSON file, a directory of them (*.yaml, *.yml, *.json), or - for stdin; repeatable")
	fs.StringVar(&f.output, "o", "yaml", "with -f: write the documents back with their status as yaml (a multi-document stream) or json (a List)")
	fs.StringVar(&f.include, "include", "", "repository imports: only tags matching this regular expression")
	fs.StringVar(&f.exclude, "exclude", "", "repository imports: no tags matching this regular expression")
	fs.StringVar(&f.semver, "semver", "", "repository imports: only tags that are semantic versions in this range, e.g. '>=1.2, <2'")
	fs.IntVar(&f.newest, "newest", 0, "repository imports: only the N tags whose images were created last (reads every candidate's config)")
	fs.IntVar(&f.maxTags, "max-tags", 0, "repository imports: at most N tags, in OpenShift's order (0: no cap; OpenShift's is 50)")
}

// tagFilter builds the filter the flags describe.
func (f *specFlags) tagFilter() (importer.TagFilter, error) {
	return importer.NewTagFilter(f.include, f.exclude, f.semver, f.newest, f.maxTags)
}

// specDoc is one ImageStreamImport read from a file.
type specDoc struct {
	isi *imagev1.ImageStreamImport
}

// runImportSpec is `regimport import -f FILE|DIR|-`: every document is read
// and validated before anything is fetched; bad input is exit 2 with every
// problem named by file, line and field, and the catalog untouched. The
// flags it shares with `import REF` are checked and set up by setupImport.
func runImportSpec(ctx context.Context, f *importFlags, args, refs []string, s Streams) int {
	if len(refs) > 0 || f.allTags || f.catalog || f.config != "" {
		return fail(s, ExitUsage, "import: -f takes no REF, --all-tags, --catalog or --config")
	}
	if f.spec.output != "yaml" && f.spec.output != "json" {
		return fail(s, ExitUsage, "import: -o %q: want yaml or json", f.spec.output)
	}
	docs, errs := loadSpecs(f.spec.files, s.In)
	if len(errs) > 0 {
		for _, err := range errs {
			fmt.Fprintf(s.Err, "regimport: %v\n", err)
		}
		return fail(s, ExitUsage, "import: %d problem(s) in the ImageStreamImport documents; nothing was imported", len(errs))
	}
	if len(docs) == 0 {
		return fail(s, ExitUsage, "import: -f %s holds no ImageStreamImport document", f.spec.files.String())
	}
	access := catalogPreview
	isis := make([]*imagev1.ImageStreamImport, len(docs))
	for i, d := range docs {
		isis[i] = d.isi
		if d.isi.Spec.Import {
			access = catalogWrite
		}
	}
	sess, code := setupImport(ctx, f, access, "regimport import "+quoteArgs(args), s)
	if code != ExitOK {
		return code
	}
	defer sess.close()
	filter, _ := f.spec.tagFilter() // checked by setupImport
	sum, err := streamimport.Import(ctx, sess.imp, isis, streamimport.Options{
		Command: "import " + quoteArgs(args), Tags: filter, InsecureRegistry: sess.insecureClient(),
	})
	took := sess.stopProgress()
	if errors.Is(err, streamimport.ErrInvalid) {
		return fail(s, ExitUsage, "import: %v", err)
	}
	if werr := writeSpecs(s.Out, isis, f.spec.output); werr != nil {
		return fail(s, ExitFatal, "import: write the documents: %v", werr)
	}
	entries := specEntries(isis)
	if f.verbose {
		printSpecEntries(s.Err, entries)
	}
	for _, fl := range sum.Failures {
		fmt.Fprintf(s.Err, "failed    %s: %s\n", fl.Reference, fl.Reason)
	}
	fmt.Fprintf(s.Err, "run %d: %d document(s), %d image stream(s) changed, %d new image(s), %d registry tag(s) removed, %d failed\n",
		sum.RunID, len(isis), sum.StreamsChanged, sum.ImagesCreated, sum.TagsRemoved, len(sum.Failures))
	code = outcomeCode(err, sum.Interrupted, len(sum.Failures), len(sum.PullBlocked)) // pull verdicts: exit 4
	sess.finish(summaryFigures(sum), took, code)
	if err != nil {
		return fail(s, ExitFatal, "import: %v", err)
	}
	return code
}

// loadSpecs reads every -f source in order: files, directories (their
// *.yaml, *.yml and *.json files, sorted, not recursive) and - (stdin).
func loadSpecs(sources []string, stdin io.Reader) ([]specDoc, []error) {
	var docs []specDoc
	var errs []error
	read := func(name string, data []byte) {
		isis, e := streamimport.Parse(name, data)
		for _, isi := range isis {
			docs = append(docs, specDoc{isi: isi})
		}
		errs = append(errs, e...)
	}
	for _, src := range sources {
		if src == "-" {
			data, err := io.ReadAll(stdin)
			if err != nil {
				errs = append(errs, fmt.Errorf("stdin: %w", err))
				continue
			}
			read("<stdin>", data)
			continue
		}
		st, err := os.Stat(src)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		files := []string{src}
		if st.IsDir() {
			entries, err := os.ReadDir(src)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			files = files[:0]
			for _, e := range entries {
				if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
					files = append(files, filepath.Join(src, e.Name()))
				}
			}
			sort.Strings(files)
		}
		for _, name := range files {
			data, err := os.ReadFile(name)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			read(name, data)
		}
	}
	return docs, errs
}

// writeSpecs writes the documents back with their status: YAML documents
// separated by ---, or one JSON List.
func writeSpecs(w io.Writer, isis []*imagev1.ImageStreamImport, format string) error {
	if format == "json" {
		list := struct {
			metav1.TypeMeta `json:",inline"`
			Metadata        metav1.ListMeta              `json:"metadata"`
			Items           []*imagev1.ImageStreamImport `json:"items"`
		}{TypeMeta: metav1.TypeMeta{Kind: "List", APIVersion: "v1"}, Items: isis}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "    ")
		return enc.Encode(list)
	}
	for i, isi := range isis {
		b, err := yaml.Marshal(isi)
		if err != nil {
			return err
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
