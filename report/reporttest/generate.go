package reporttest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/regimport/regimport/catalog"
)

// Spec sizes a generated catalog.
type Spec struct {
	Images       int // rows of the images table (lists and their entries included)
	Runs         int
	Repositories int
	Seed         uint64
}

// Generated says what Generate wrote.
type Generated struct {
	Images, Tags, Runs int
	TagMoves           int
	Reverified         int
}

// Generate fills the catalog at cat with spec.Images images over spec.Runs
// runs: half in the first run, the rest spread over the others. Each run
// also moves every repository's "latest" tag to a new image, re-verifies a
// few images with another result and records two failures. One image in
// ten is a two-platform list; images share base layers across repositories
// and middle layers within one; verdicts and signatures cycle through every
// state the report distinguishes.
func Generate(ctx context.Context, cat catalog.Catalog, clock *Clock, spec Spec) (Generated, error) {
	if spec.Runs < 1 || spec.Repositories < 1 || spec.Images < 1 {
		return Generated{}, fmt.Errorf("reporttest: spec %+v", spec)
	}
	rng := rand.New(rand.NewPCG(spec.Seed, 42))
	var g Generated
	repo := func(i int) string {
		return fmt.Sprintf("registry.example.com/team-%d/app-%d", i%7, i)
	}
	signers := []Sig{
		{Trusted: true, KeyID: "0F8A7B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F70", CN: "Release Engineering", Org: "Example Corp"},
		{Trusted: true, KeyID: "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678", CN: "Platform Team", Org: "Example Corp"},
		{Trusted: true, Type: "sigstore", KeyID: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", CN: "ci@example.com", Issuer: "sigstore-intermediate"},
	}
	n := 0 // images written so far
	image := func(r int) Image {
		n++
		im := Image{Seed: fmt.Sprint("img-", n), Repository: repo(r),
			Created: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(4*365*24)) * time.Hour),
			Layers: []Layer{
				{Seed: fmt.Sprint("base-", rng.IntN(12)), Size: 28 << 20},
				{Seed: fmt.Sprint("mid-", r, "-", rng.IntN(20)), Size: int64(2<<20 + rng.IntN(8<<20))},
				{Seed: fmt.Sprint("mid-", r, "-", 20+rng.IntN(20)), Size: int64(1<<20 + rng.IntN(4<<20))},
				{Seed: fmt.Sprint("top-", n, "-a"), Size: int64(100<<10 + rng.IntN(60<<20))},
				{Seed: fmt.Sprint("top-", n, "-b"), Size: int64(10<<10 + rng.IntN(1<<20))},
			}}
		switch n % 10 {
		case 0, 1, 2, 3, 4:
			s := signers[n%len(signers)]
			s.Signed = im.Created.Add(time.Hour)
			im.Verdict, im.Sigs = "accepted", []Sig{s}
		case 5:
			im.Verdict, im.Reason, im.Sigs = "rejected", "UnknownKey", []Sig{{Reason: "UnknownKey"}}
		case 6:
			im.Verdict, im.Reason = "rejected", "no signature found"
		case 7:
			im.Verdict = "no-policy"
		case 8:
			im.Verdict, im.Sigs = "accepted", []Sig{signers[0], {Reason: "DigestMismatch"}}
		}
		if n%97 == 0 {
			im.Created = time.Unix(0, 0).UTC() // a reproducible build
		}
		return im
	}
	perRun := func(run int) int {
		if spec.Runs == 1 {
			return spec.Images
		}
		if run == 0 {
			return spec.Images / 2
		}
		rest := spec.Images - spec.Images/2
		return rest/(spec.Runs-1) + boolInt(run <= rest%(spec.Runs-1))
	}
	var evaluated []string
	for run := range spec.Runs {
		var ops []any
		budget := perRun(run)
		for k := 0; budget > 0; k++ {
			r := rng.IntN(spec.Repositories)
			if run > 0 && k < spec.Repositories {
				r = k // every repository gets a new "latest" in every later run
			}
			var top string
			if budget >= 3 && n%10 == 9 {
				a, b := image(r), image(r)
				b.Arch = "arm64"
				list := List(fmt.Sprint("list-", n), repo(r), a, b)
				ops = append(ops, a.Record(), b.Record(), list)
				top, budget, g.Images = list.Image.Name, budget-3, g.Images+3
			} else {
				im := image(r)
				ops = append(ops, im.Record())
				top, budget, g.Images = im.Digest(), budget-1, g.Images+1
				if im.Verdict != "" {
					evaluated = append(evaluated, top)
				}
			}
			ops = append(ops, Tag(repo(r), fmt.Sprint("v", n), top))
			g.Tags++
			if run == 0 || k < spec.Repositories {
				ops = append(ops, Tag(repo(r), "latest", top))
				g.TagMoves += boolInt(run > 0)
			}
		}
		clock.Skip(6 * time.Hour)
		failures := []catalog.Failure{{Reference: repo(run%spec.Repositories) + ":broken", Reason: "manifest unknown"},
			{Reference: repo((run+1)%spec.Repositories) + ":gone", Reason: "tag not found"}}
		if _, err := Run(ctx, cat, fmt.Sprintf("regimport import --catalog registry.example.com # run %d", run+1), ops, failures...); err != nil {
			return g, fmt.Errorf("run %d: %w", run+1, err)
		}
		g.Runs++
		// Between runs, a re-verification changes a few verdicts.
		for i := 0; run > 0 && i < 5 && len(evaluated) > 0; i++ {
			name := evaluated[rng.IntN(len(evaluated))]
			changed, err := cat.UpdateVerification(ctx, name, catalog.Verification{Verdict: "rejected", Reason: "KeyExpired",
				Signatures: Signatures(name, []Sig{{Reason: "KeyExpired"}})})
			if err != nil {
				return g, fmt.Errorf("re-verify %s: %w", name, err)
			}
			g.Reverified += boolInt(changed)
		}
	}
	return g, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
