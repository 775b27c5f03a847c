package cli

import (
	"errors"
	"flag"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/regimport/regimport/catalog"
)

// Environment variables a sharded import reads.
const (
	// envJobIndex is what a Kubernetes Indexed Job sets in each pod: the
	// pod's completion index, 0 to completions-1. --shards N takes it.
	envJobIndex = "JOB_COMPLETION_INDEX"
	// envRunGroup is the default of --run-group.
	envRunGroup = "REGIMPORT_RUN_GROUP"
)

// shardFlags are import's flags for sharded imports (README, "Sharded
// imports").
type shardFlags struct {
	shard    string // --shard I/N
	shards   int    // --shards N: the index comes from JOB_COMPLETION_INDEX
	runGroup string // --run-group
}

func (f *shardFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.shard, "shard", "", "import only shard I (0-based) of N: the repositories whose name hashes to I (as I/N, e.g. 0/3)")
	fs.IntVar(&f.shards, "shards", 0, "import one shard of N, its index taken from "+envJobIndex+" (as a Kubernetes Indexed Job sets it)")
	fs.StringVar(&f.runGroup, "run-group", "", "name of the sharded run this shard belongs to, as `regimport runs` groups them (default: $"+envRunGroup+", else the command without its shard flags and N)")
}

// shardFlagNames are the flags register defines, for given and for the
// default run group.
var shardFlagNames = []string{"shard", "shards", "run-group"}

// given lists the shard flags on the command line.
func (f *shardFlags) given(fs *flag.FlagSet) []string {
	var out []string
	fs.Visit(func(fl *flag.Flag) {
		for _, n := range shardFlagNames {
			if fl.Name == n {
				out = append(out, "--"+n)
			}
		}
	})
	return out
}

var (
	shardSpec = regexp.MustCompile(`^([0-9]+)/([0-9]+)$`)
	digits    = regexp.MustCompile(`^[0-9]+$`)
)

// resolve turns the flags and the environment into the run's shard: zero
// when no shard flag is given. Every error is a usage error (exit 2),
// found before anything is opened. args are import's arguments, from
// which the default run group is made.
func (f *shardFlags) resolve(fs *flag.FlagSet, args []string, s Streams) (catalog.Shard, error) {
	given := map[string]bool{}
	for _, n := range f.given(fs) {
		given[n] = true
	}
	var sh catalog.Shard
	switch {
	case given["--shard"] && given["--shards"]:
		return sh, errors.New("--shard I/N and --shards N exclude each other: give the index with --shard, or take it from " + envJobIndex + " with --shards")
	case given["--shard"]:
		m := shardSpec.FindStringSubmatch(strings.TrimSpace(f.shard))
		if m == nil {
			return sh, fmt.Errorf("--shard %q: want I/N, two whole numbers such as 0/3", f.shard)
		}
		var err error
		if sh.Index, err = strconv.Atoi(m[1]); err == nil {
			sh.Count, err = strconv.Atoi(m[2])
		}
		if err != nil {
			return catalog.Shard{}, fmt.Errorf("--shard %q: %v", f.shard, err)
		}
		if sh.Count < 1 || sh.Index >= sh.Count {
			return catalog.Shard{}, fmt.Errorf("--shard %q: want 0 <= I < N and N >= 1", f.shard)
		}
	case given["--shards"]:
		if f.shards < 1 {
			return sh, fmt.Errorf("--shards %d: want at least 1", f.shards)
		}
		raw, ok := s.lookupEnv(envJobIndex)
		if !ok {
			return sh, fmt.Errorf("--shards %d: %s is not set; a Kubernetes Indexed Job sets it, elsewhere give --shard I/%d", f.shards, envJobIndex, f.shards)
		}
		i, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil || !digits.MatchString(strings.TrimSpace(raw)) || i >= f.shards {
			return sh, fmt.Errorf("--shards %d: %s=%q is not a shard index from 0 to %d", f.shards, envJobIndex, raw, f.shards-1)
		}
		sh = catalog.Shard{Index: i, Count: f.shards}
	default:
		if given["--run-group"] {
			return sh, errors.New("--run-group names the sharded run of a shard: give --shard I/N or --shards N with it")
		}
		return sh, nil
	}
	sh.Group = strings.TrimSpace(f.runGroup)
	if sh.Group == "" {
		sh.Group = strings.TrimSpace(s.getenv(envRunGroup))
	}
	if sh.Group == "" {
		sh.Group = defaultRunGroup(args, sh.Count)
	}
	return sh, nil
}

// defaultRunGroup names a sharded run when neither --run-group nor
// REGIMPORT_RUN_GROUP does: the import command without its shard flags,
// and N. Every shard of one command line gets the same name; `regimport
// runs` tells one execution from the next by their times (see
// groupRuns).
func defaultRunGroup(args []string, count int) string {
	var kept []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			kept = append(kept, args[i:]...)
			break
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && isShardFlag(name) {
			if !hasValue {
				i++ // the value is the next argument
			}
			continue
		}
		kept = append(kept, a)
	}
	return fmt.Sprintf("import %s (%d shards)", quoteArgs(kept), count)
}

func isShardFlag(name string) bool {
	for _, n := range shardFlagNames {
		if name == n {
			return true
		}
	}
	return false
}
