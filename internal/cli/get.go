package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/regimport/regimport/catalog/catalogdb"
	"github.com/regimport/regimport/internal/imageview"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// getPageSize bounds memory while printing a large catalog.
const getPageSize = 500

func runGet(ctx context.Context, args []string, s Streams) int {
	fs := newFlagSet("get", s)
	db := fs.String("db", "catalog.db", dbUsage)
	output := fs.String("o", "", "output: json, yaml, name or wide (default: a table like oc get images)")
	fs.StringVar(output, "output", "", "same as -o")
	withRaw := fs.Bool("include-manifest", false, "with -o json|yaml: also print each Image's raw dockerImageManifest and dockerImageConfig, which OpenShift does not serve on imported Images")
	fs.Usage = func() {
		fmt.Fprintln(s.Err, "Usage: regimport get images [NAME...] [--db FILE] [-o json|yaml|name|wide] [--include-manifest]\n\nFlags:")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if isHelp(err) {
			return ExitOK
		}
		return ExitUsage
	}
	if len(pos) == 0 {
		fs.Usage()
		return fail(s, ExitUsage, "get: name a resource type: images")
	}
	switch pos[0] {
	case "images", "image", "images.image.openshift.io", "image.image.openshift.io":
	default:
		return fail(s, ExitUsage, "get: the server doesn't have a resource type %q (known: images)", pos[0])
	}
	switch *output {
	case "", "json", "yaml", "name", "wide":
	default:
		return fail(s, ExitUsage, "get: unable to match a printer suitable for the output format %q, allowed formats are: json,name,wide,yaml", *output)
	}
	names := pos[1:]
	cat, err := catalogdb.Open(ctx, *db, catalog.Options{ReadOnly: true})
	if err != nil {
		return fail(s, ExitFatal, "get: %v", err)
	}
	defer cat.Close()

	// One named image prints as an Image, as kubectl and oc do.
	if len(names) == 1 && (*output == "json" || *output == "yaml") {
		img, err := cat.GetImage(ctx, names[0])
		if errors.Is(err, catalog.ErrNotFound) {
			return fail(s, ExitFatal, `Error from server (NotFound): images.image.openshift.io %q not found`, names[0])
		}
		if err != nil {
			return fail(s, ExitFatal, "get: %v", err)
		}
		if !*withRaw {
			img.DockerImageManifest, img.DockerImageConfig = "", ""
		}
		if err := printObject(s.Out, *output, img); err != nil {
			return fail(s, ExitFatal, "get: %v", err)
		}
		return ExitOK
	}
	missing, err := printImages(ctx, s.Out, cat, names, *output, *withRaw)
	if err != nil {
		return fail(s, ExitFatal, "get: %v", err)
	}
	for _, n := range missing {
		fmt.Fprintf(s.Err, "Error from server (NotFound): images.image.openshift.io %q not found\n", n)
	}
	if len(missing) > 0 {
		return ExitFatal
	}
	return ExitOK
}

func printObject(w io.Writer, format string, obj any) error {
	if format == "yaml" {
		b, err := yaml.Marshal(obj)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	b, err := json.MarshalIndent(obj, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// printImages walks the catalog a page at a time; json is streamed item by
// item so memory stays flat however large the catalog is.
func printImages(ctx context.Context, w io.Writer, cat catalog.Catalog, names []string, format string, withRaw bool) ([]string, error) {
	found := map[string]bool{}
	var all []imagev1.Image // yaml only: it cannot be streamed as one document
	var tw *tabwriter.Writer
	first := true
	var rv int64
	after := ""
	for {
		page, err := cat.ListImages(ctx, catalog.ListOptions{After: after, Names: names, Limit: getPageSize, WithoutRaw: !withRaw})
		if err != nil {
			return nil, err
		}
		if after == "" {
			rv = page.ResourceVersion
			switch format {
			case "json":
				fmt.Fprintf(w, "{\n    \"kind\": \"ImageList\",\n    \"apiVersion\": \"image.openshift.io/v1\",\n    \"metadata\": {\n        \"resourceVersion\": %q\n    },\n    \"items\": [", fmt.Sprint(rv))
			case "", "wide":
				tw = tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
				header := "NAME\tIMAGE REFERENCE"
				if format == "wide" {
					header += "\tSIGNATURE\tPULL\tARCHITECTURE\tMEDIA TYPE\tSIZE\tLAYERS\tCREATED\tMIRRORED"
				}
				fmt.Fprintln(tw, header)
			}
		}
		for i := range page.Items {
			img := &page.Items[i]
			found[img.Name] = true
			switch format {
			case "json":
				b, err := json.MarshalIndent(img, "        ", "    ")
				if err != nil {
					return nil, err
				}
				sep := ","
				if first {
					sep = ""
				}
				fmt.Fprintf(w, "%s\n        %s", sep, b)
			case "yaml":
				all = append(all, *img)
			case "name":
				fmt.Fprintf(w, "image.image.openshift.io/%s\n", img.Name)
			default:
				row := img.Name + "\t" + img.DockerImageReference
				if format == "wide" {
					mirrored, err := mirroredColumn(ctx, cat, img.Name)
					if err != nil {
						return nil, err
					}
					pull, err := pullColumn(ctx, cat, img.Name)
					if err != nil {
						return nil, err
					}
					row += "\t" + withPull(wideColumns(img), pull) + "\t" + mirrored
				}
				fmt.Fprintln(tw, row)
			}
			first = false
		}
		if page.Remaining == 0 || len(page.Items) == 0 {
			break
		}
		after = page.Items[len(page.Items)-1].Name
	}
	switch format {
	case "json":
		if first {
			fmt.Fprint(w, "]\n}\n")
		} else {
			fmt.Fprint(w, "\n    ]\n}\n")
		}
	case "yaml":
		list := imagev1.ImageList{TypeMeta: metav1.TypeMeta{Kind: "ImageList", APIVersion: "image.openshift.io/v1"},
			ListMeta: metav1.ListMeta{ResourceVersion: fmt.Sprint(rv)}, Items: all}
		if err := printObject(w, "yaml", list); err != nil {
			return nil, err
		}
	case "", "wide":
		if err := tw.Flush(); err != nil {
			return nil, err
		}
	}
	var missing []string
	for _, n := range names {
		if !found[n] {
			missing = append(missing, n)
		}
	}
	return missing, nil
}

func wideColumns(img *imagev1.Image) string {
	c := imageview.Of(img)
	created := ""
	if !c.Created.IsZero() {
		created = c.Created.UTC().Format("2006-01-02T15:04:05Z")
	}
	return fmt.Sprintf("%s\t%s\t%s\t%s\t%d\t%s", imageview.OrDash(c.Verdict), imageview.OrDash(c.Platform), imageview.OrDash(c.MediaType),
		imageview.HumanSize(c.Size), c.Layers, imageview.OrDash(created))
}
