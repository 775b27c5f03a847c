package reporttest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/regimport/regimport/catalog"
)

// LineageSpec sizes a catalog of images built on one another.
type LineageSpec struct {
	Images       int // single images in all, bases included
	Repositories int // application repositories
	Seed         uint64
}

// LineageGenerated says what GenerateLineage wrote.
type LineageGenerated struct {
	Images int
	// Apps are the application images, each under one tag of its own and
	// each built on an OS or runtime base of the catalog.
	Apps int
	// OnMovedBases are the apps built on a base whose tag moved on in the
	// second run: the report must mark them outdated.
	OnMovedBases int
	Layers       int // layers of all images, counted per image
}

// Lineage fixture shape: OS bases of 1-3 layers, runtimes of 2-5 layers
// more on an OS base, applications of 2-12 layers more on a runtime (or,
// one in five, directly on an OS base): 5-20 layers an application.
const (
	lineageOSes     = 12
	lineageRuntimes = 60
)

// LineageRepository is the name of application repository i.
func LineageRepository(i int) string {
	return fmt.Sprintf("registry.example.com/apps-%d/app-%d", i%7, i)
}

// GenerateLineage writes, over two runs, OS base images, runtimes built on
// them and applications built on those, spec.Images single images in all.
// Run 1 has the bases and nine in ten applications; in run 2 half the OS
// tags and half the runtime tags move to new images, and the remaining
// applications are built on the new ones. One application in ten names
// its base in the OCI base annotations as well.
func GenerateLineage(ctx context.Context, cat catalog.Catalog, clock *Clock, spec LineageSpec) (LineageGenerated, error) {
	if spec.Images < 4*(lineageOSes+lineageRuntimes) || spec.Repositories < 1 {
		return LineageGenerated{}, fmt.Errorf("reporttest: lineage spec %+v: at least %d images", spec, 4*(lineageOSes+lineageRuntimes))
	}
	rng := rand.New(rand.NewPCG(spec.Seed, 7))
	var g LineageGenerated
	layers := func(prefix string, n int) []Layer {
		out := make([]Layer, n)
		for i := range out {
			out[i] = Layer{Seed: fmt.Sprint(prefix, "/", i), Size: int64(64<<10 + rng.IntN(8<<20))}
		}
		return out
	}
	type base struct {
		img       Image
		repo, tag string
	}
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	osImage := func(k, release int) base {
		repo := fmt.Sprintf("registry.example.com/library/os-%d", k)
		return base{Image{Seed: fmt.Sprint("os-", k, "-", release), Repository: repo, Created: created,
			Layers: layers(fmt.Sprint("os-", k, "-", release), 1+k%3)}, repo, "stable"}
	}
	runtimeImage := func(k, release int, on base) base {
		repo := fmt.Sprintf("registry.example.com/runtime/rt-%d", k)
		own := layers(fmt.Sprint("rt-", k, "-", release), 2+k%4)
		return base{Image{Seed: fmt.Sprint("rt-", k, "-", release), Repository: repo, Created: created,
			Layers: append(append([]Layer(nil), on.img.Layers...), own...)}, repo, fmt.Sprint("3.", k)}
	}
	oses := make([]base, lineageOSes)
	runtimes := make([]base, lineageRuntimes)
	osOf := make([]int, lineageRuntimes)
	for k := range oses {
		oses[k] = osImage(k, 1)
	}
	for k := range runtimes {
		osOf[k] = rng.IntN(lineageOSes)
		runtimes[k] = runtimeImage(k, 1, oses[osOf[k]])
	}
	appsOn := map[string]int{} // applications per base digest
	appsTotal := spec.Images - 2*len(oses) - 2*len(runtimes) + len(oses)/2 + len(runtimes)/2
	n := 0
	app := func() Image {
		n++
		var on base
		if rng.IntN(5) == 0 {
			on = oses[rng.IntN(len(oses))]
		} else {
			on = runtimes[rng.IntN(len(runtimes))]
		}
		own := layers(fmt.Sprint("app-", n), 2+rng.IntN(11))
		im := Image{Seed: fmt.Sprint("app-", n), Repository: LineageRepository(rng.IntN(spec.Repositories)), Created: created,
			Layers: append(append([]Layer(nil), on.img.Layers...), own...)}
		if n%10 == 0 {
			im.Annotations = map[string]string{"org.opencontainers.image.base.name": on.repo + ":" + on.tag,
				"org.opencontainers.image.base.digest": on.img.Digest()}
		}
		appsOn[on.img.Digest()]++
		g.Apps++
		return im
	}
	// write puts a run's ops through the writer in chunks, so the records
	// of a 100,000-image catalog are never all in memory.
	write := func(run int, fill func(put func(...any) error) error) error {
		id, err := cat.BeginRun(ctx, fmt.Sprintf("regimport import # lineage run %d", run), catalog.Shard{})
		if err != nil {
			return err
		}
		var ops []any
		flush := func() error {
			err := Write(ctx, cat, id, ops)
			ops = ops[:0]
			return err
		}
		put := func(more ...any) error {
			ops = append(ops, more...)
			if len(ops) >= 4096 {
				return flush()
			}
			return nil
		}
		if err := fill(put); err != nil {
			return err
		}
		if err := flush(); err != nil {
			return err
		}
		return cat.FinishRun(ctx, id, catalog.RunSucceeded, catalog.RunCounts{Imported: g.Images}, nil)
	}
	image := func(put func(...any) error, im Image, tag string) error {
		g.Images++
		g.Layers += len(im.Layers)
		return put(im.Record(), Tag(im.Repository, tag, im.Digest()))
	}
	bases := func(put func(...any) error) error {
		for _, b := range append(append([]base(nil), oses...), runtimes...) {
			if err := image(put, b.img, b.tag); err != nil {
				return err
			}
		}
		return nil
	}
	first := appsTotal * 9 / 10
	if err := write(1, func(put func(...any) error) error {
		if err := bases(put); err != nil {
			return err
		}
		for range first {
			im := app()
			if err := image(put, im, fmt.Sprint("b", n)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return g, fmt.Errorf("lineage run 1: %w", err)
	}
	clock.Skip(24 * time.Hour)
	// Run 2: half the OS tags and half the runtime tags move; a rebuilt
	// runtime is built on its OS's newest release.
	for k := 0; k < len(oses); k += 2 {
		g.OnMovedBases += appsOn[oses[k].img.Digest()]
		oses[k] = osImage(k, 2)
	}
	for k := range runtimes {
		if k%2 == 0 {
			g.OnMovedBases += appsOn[runtimes[k].img.Digest()]
			runtimes[k] = runtimeImage(k, 2, oses[osOf[k]])
		}
	}
	if err := write(2, func(put func(...any) error) error {
		for k := 0; k < len(oses); k += 2 {
			if err := image(put, oses[k].img, oses[k].tag); err != nil {
				return err
			}
		}
		for k := 0; k < len(runtimes); k += 2 {
			if err := image(put, runtimes[k].img, runtimes[k].tag); err != nil {
				return err
			}
		}
		for g.Images < spec.Images {
			im := app()
			if err := image(put, im, fmt.Sprint("b", n)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return g, fmt.Errorf("lineage run 2: %w", err)
	}
	return g, nil
}
