package sweep

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

// ResultsName is the base name, without extension, of the results files of
// shard index out of shards: "results-shard-I-of-N", or "results" for the
// whole grid (shards 0).
func ResultsName(index, shards int) string {
	if shards == 0 {
		return "results"
	}
	return fmt.Sprintf("results-shard-%d-of-%d", index, shards)
}

// ParseResultsName reads ResultsName back from a file name (a directory
// and any extension are ignored): ok is false for a name ResultsName does
// not write, and shards is 0 for the whole grid's "results".
func ParseResultsName(name string) (index, shards int, ok bool) {
	base := path.Base(strings.ReplaceAll(name, "\\", "/"))
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	if base == "results" {
		return 0, 0, true
	}
	rest, found := strings.CutPrefix(base, "results-shard-")
	if !found {
		return 0, 0, false
	}
	is, ns, found := strings.Cut(rest, "-of-")
	if !found {
		return 0, 0, false
	}
	index, err1 := strconv.Atoi(is)
	shards, err2 := strconv.Atoi(ns)
	if err1 != nil || err2 != nil || CheckShard(index, shards) != nil || ResultsName(index, shards) != base {
		return 0, 0, false
	}
	return index, shards, true
}

// ShardCount infers the shard count of a sharded run from the names of its
// results files: the N that every results-shard-I-of-N file shares. It is 0
// when no name is a shard's (an unsharded run, or no files), and an error
// when the files come from runs with different shard counts.
func ShardCount(names []string) (int, error) {
	counts := map[int]bool{}
	for _, n := range names {
		if _, shards, ok := ParseResultsName(n); ok && shards > 0 {
			counts[shards] = true
		}
	}
	if len(counts) > 1 {
		var ns []string
		for n := range counts {
			ns = append(ns, strconv.Itoa(n))
		}
		sort.Strings(ns)
		return 0, fmt.Errorf("the results files come from runs with different shard counts (%s)", strings.Join(ns, " and "))
	}
	for n := range counts {
		return n, nil
	}
	return 0, nil
}

// MissingShards returns, in order and once each, the shards out of shards
// (point i in shard i mod shards) that hold at least one of the missing
// points: the shards to run again.
func MissingShards(missing []int, shards int) []int {
	seen := make(map[int]bool)
	var out []int
	for _, p := range missing {
		s := p % shards
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Ints(out)
	return out
}

// JoinInts writes indices comma-separated without spaces ("1,3,7"), the
// list `sbatch --array=LIST` takes; empty for none.
func JoinInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ",")
}
