// Command regimport-demo is `make demo`: it starts a real registry
// (distribution/distribution v3, in memory) on loopback, pushes a few
// generated images in every format, imports the whole registry with the
// regimport binary into a fresh catalog and prints what is in it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/testregistry"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("regimport-demo", flag.ContinueOnError)
	bin := fs.String("regimport", "bin/regimport", "the regimport binary to run")
	db := fs.String("db", "catalog.db", "catalog file to create (an existing regimport catalog is replaced)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := freshCatalog(ctx, *db); err != nil {
		return err
	}
	reg, err := testregistry.Start(ctx)
	if err != nil {
		return err
	}
	defer reg.Close()
	fmt.Fprintf(out, "==> started a distribution registry (in memory) at %s\n", reg.URL())

	specs := []testregistry.ImageSpec{
		{Repository: "demo/web", Tags: []string{"1.0", "latest"}, Format: testregistry.Schema2, Seed: 1, SharedBaseLayer: true,
			Labels: map[string]string{"org.opencontainers.image.title": "web"}},
		{Repository: "demo/web", Tags: []string{"1.1"}, Format: testregistry.OCI, Seed: 2, SharedBaseLayer: true},
		{Repository: "demo/tools", Tags: []string{"stable"}, Format: testregistry.OCIIndex, Seed: 3},
		{Repository: "demo/db", Tags: []string{"15"}, Format: testregistry.DockerList, Seed: 4},
		{Repository: "legacy/app", Tags: []string{"v1"}, Format: testregistry.Schema1, Seed: 5},
	}
	for _, s := range specs {
		p, err := reg.Push(ctx, s)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "    pushed %s:%s (%s) %s\n", s.Repository, strings.Join(s.Tags, ","), shortType(p.MediaType), p.Digest)
	}

	importArgs := []string{"import", "--db", *db, "--tls-verify=false", "--catalog", "-v", reg.Host()}
	fmt.Fprintf(out, "\n==> %s %s\n", *bin, strings.Join(importArgs, " "))
	if err := runTool(ctx, out, *bin, importArgs...); err != nil {
		return err
	}
	getArgs := []string{"get", "images", "--db", *db, "-o", "wide"}
	fmt.Fprintf(out, "\n==> %s %s\n", *bin, strings.Join(getArgs, " "))
	if err := runTool(ctx, out, *bin, getArgs...); err != nil {
		return err
	}
	fmt.Fprintf(out, `
==> the catalog is %[2]s; look at it with:
    %[1]s get images --db %[2]s -o json          # ImageList in the OpenShift schema
    %[1]s get images --db %[2]s -o yaml NAME     # one Image
    %[1]s runs --db %[2]s                        # import runs
    %[1]s report --db %[2]s -o report.html       # an offline audit report
    %[1]s serve --db %[2]s &                     # then: kubectl --server http://127.0.0.1:8080 get images.image.openshift.io
    sqlite3 %[2]s 'SELECT r.name, t.tag, t.image_name FROM tags t JOIN repositories r ON r.id = t.repository_id'
(the demo registry lived in this process and is gone now)
`, *bin, *db)
	return nil
}

func runTool(ctx context.Context, out io.Writer, bin string, args ...string) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = out, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", bin, args[0], err)
	}
	return nil
}

// freshCatalog removes a previous demo catalog, refusing to touch a file
// that is not a regimport catalog.
func freshCatalog(ctx context.Context, path string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	c, err := catalogdb.Open(ctx, path, catalog.Options{ReadOnly: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil && !errors.Is(err, catalog.ErrNeedMigrate) {
		return fmt.Errorf("%s exists and is not a regimport catalog; move it away or pass --db: %w", path, err)
	}
	if c != nil {
		c.Close()
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

func shortType(mt string) string {
	if i := strings.LastIndex(mt, "/"); i >= 0 {
		return mt[i+1:]
	}
	return mt
}
