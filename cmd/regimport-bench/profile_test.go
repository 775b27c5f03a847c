package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

// syntheticProfile builds a CPU profile whose samples have the given
// stacks (leaf first, one function per frame) and CPU times, written and
// parsed again as `regimport import --cpu-profile` would give it.
func syntheticProfile(t *testing.T, stacks [][]string, cpu []time.Duration) *profile.Profile {
	t.Helper()
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:     int64(10 * time.Millisecond),
	}
	funcs := map[string]*profile.Function{}
	locs := map[string]*profile.Location{}
	for i, stack := range stacks {
		s := &profile.Sample{Value: []int64{1, int64(cpu[i])}}
		for _, name := range stack {
			loc, ok := locs[name]
			if !ok {
				fn := &profile.Function{ID: uint64(len(funcs) + 1), Name: name, SystemName: name}
				funcs[name] = fn
				p.Function = append(p.Function, fn)
				loc = &profile.Location{ID: uint64(len(locs) + 1), Address: uint64(0x1000 + len(locs)), Line: []profile.Line{{Function: fn, Line: 1}}}
				locs[name] = loc
				p.Location = append(p.Location, loc)
			}
			s.Location = append(s.Location, loc)
		}
		p.Sample = append(p.Sample, s)
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	parsed, err := profile.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return parsed
}

func TestAttributePrecedence(t *testing.T) {
	const m = "github.com/regimport/regimport/"
	cases := []struct {
		stack []string // leaf first
		want  cpuPart
	}{
		// SQLite under the catalog writer, reached from the importer.
		{[]string{"github.com/mattn/go-sqlite3._Cfunc_sqlite3_step", "database/sql.(*Stmt).ExecContext", m + "catalog/internal/sqlstore.(*Store).PutImage", m + "catalog.(*Writer).flush.func1", m + "importer.(*session).store"}, partCatalog},
		// The catalog outranks the registry client when both are on the stack.
		{[]string{"crypto/tls.(*Conn).Read", m + "registry.(*Client).Manifest", m + "catalog.(*Writer).Put"}, partCatalog},
		// Signatures outrank normalization and the registry client.
		{[]string{"golang.org/x/crypto/openpgp.ReadMessage", m + "signatures.(*Verifier).Verify", m + "importer.NormalizeImage", m + "registry.(*Client).Get"}, partSignatures},
		// Normalization, a method's and a closure's frame included, outranks the registry client.
		{[]string{"encoding/json.Unmarshal", m + "importer.(*ImageManifest).Normalize", m + "registry.(*Client).Get"}, partNormalize},
		{[]string{"runtime.mallocgc", m + "importer.normalizeList.func2"}, partNormalize},
		// net/http under the registry client.
		{[]string{"net/http.(*persistConn).readLoop", m + "registry.(*Client).Manifest", m + "importer.(*session).fetch"}, partRegistry},
		// Names that only look alike: another package, another importer function.
		{[]string{m + "catalogx.F", m + "registryish.G", m + "importer.parseFetchedManifest", m + "importer.(*ImageManifest).Config"}, partRest},
		{[]string{"runtime.gcBgMarkWorker"}, partRest},
	}
	var stacks [][]string
	var cpu []time.Duration
	want := map[cpuPart]time.Duration{}
	var total time.Duration
	for i, c := range cases {
		d := time.Duration(i+1) * 10 * time.Millisecond // distinct, so a sample in the wrong part shows
		stacks = append(stacks, c.stack)
		cpu = append(cpu, d)
		want[c.want] += d
		total += d
	}
	b, err := attribute(syntheticProfile(t, stacks, cpu))
	if err != nil {
		t.Fatal(err)
	}
	if b.total != total {
		t.Errorf("total %s, want %s", b.total, total)
	}
	for part := range numParts {
		if b.parts[part] != want[part] {
			t.Errorf("%s: %s, want %s", partNames[part], b.parts[part], want[part])
		}
	}
	if got, w := b.share(partCatalog), 100*want[partCatalog].Seconds()/total.Seconds(); got != w {
		t.Errorf("catalog share %.2f%%, want %.2f%%", got, w)
	}
}

func TestAttributeNeedsCPUSamples(t *testing.T) {
	p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "alloc_space", Unit: "bytes"}}}
	if _, err := attribute(p); err == nil {
		t.Fatal("a heap profile was attributed as a CPU profile")
	}
}

// TestProfileBlockBeforeAndAfter: with -profile-before, the block has a
// column per profile in the order given, each part's share its own
// profile's, and the command that reproduces it names the revision.
func TestProfileBlockBeforeAndAfter(t *testing.T) {
	bd := func(catalog, rest time.Duration) cpuBreakdown {
		var b cpuBreakdown
		b.parts[partCatalog], b.parts[partRest], b.total = catalog, rest, catalog+rest
		return b
	}
	c := config{concurrency: 16, repos: 20, profileBefore: "157359d"}
	blk := profileBlock(c, 5000, 5000, 6000, []profileColumn{
		{"cold import, before", bd(52, 48)}, {"cold import, now", bd(31, 69)},
		{"with signatures, before", bd(24, 76)}, {"with signatures, now", bd(37, 63)}})
	for _, want := range []string{
		"| part | cold import, before | cold import, now | with signatures, before | with signatures, now |\n|---|---|---|---|---|\n",
		"| " + partNames[partCatalog] + " | **52%** | **31%** | **24%** | **37%** |\n",
		"| " + partNames[partRest] + " | **48%** | **69%** | **76%** | **63%** |\n",
		"`157359d`",
	} {
		if !strings.Contains(blk.body, want) {
			t.Errorf("the block lacks %q:\n%s", want, blk.body)
		}
	}
	if !strings.HasSuffix(blk.flags, "-profile-before 157359d") {
		t.Errorf("flags %q do not name the revision", blk.flags)
	}
	c.profileBefore = ""
	if blk := profileBlock(c, 5000, 5000, 6000, []profileColumn{{"cold import, now", bd(1, 1)}}); strings.Contains(blk.body, "Before:") || strings.Contains(blk.flags, "before") {
		t.Errorf("a block without -profile-before speaks of before: %s %s", blk.flags, blk.body)
	}
}
