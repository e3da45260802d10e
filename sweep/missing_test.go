package sweep

import (
	"reflect"
	"testing"
)

func TestResultsNameRoundTrip(t *testing.T) {
	for _, c := range [][2]int{{0, 0}, {0, 1}, {3, 4}, {15, 16}, {123, 1000}} {
		name := ResultsName(c[0], c[1])
		for _, file := range []string{name, name + ".jsonl", "/some/dir/" + name + ".csv", name + ".lock"} {
			i, n, ok := ParseResultsName(file)
			if !ok || i != c[0] || n != c[1] {
				t.Errorf("ParseResultsName(%q) = %d, %d, %v; want %d, %d", file, i, n, ok, c[0], c[1])
			}
		}
	}
	for _, bad := range []string{"merged.jsonl", "results-shard-4-of-4.jsonl", "results-shard-01-of-4.jsonl", "results-shard-1-of-0.jsonl",
		"results-shard-x-of-4.jsonl", "results-shard-1.jsonl", "results2.jsonl", "sweep.json"} {
		if i, n, ok := ParseResultsName(bad); ok {
			t.Errorf("ParseResultsName(%q) = %d, %d: accepted", bad, i, n)
		}
	}
}

func TestShardCount(t *testing.T) {
	cases := []struct {
		names []string
		want  int
		err   bool
	}{
		{nil, 0, false},
		{[]string{"d/results.jsonl"}, 0, false},
		{[]string{"d/results-shard-0-of-4.jsonl", "d/results-shard-3-of-4.jsonl", "d/results.jsonl"}, 4, false},
		{[]string{"d/results-shard-0-of-4.jsonl", "d/results-shard-1-of-2.jsonl"}, 0, true},
	}
	for _, c := range cases {
		got, err := ShardCount(c.names)
		if got != c.want || (err != nil) != c.err {
			t.Errorf("ShardCount(%v) = %d, %v; want %d, error %v", c.names, got, err, c.want, c.err)
		}
	}
}

// TestMissingShards: the shards to rerun are those of the missing points
// (point i in shard i mod n), each once, in order; with Merge, a shard
// whose file is absent, empty or cut off in its last line is listed, and a
// complete grid lists none.
func TestMissingShards(t *testing.T) {
	if got := MissingShards([]int{3, 7, 11, 1, 5}, 4); !reflect.DeepEqual(got, []int{1, 3}) {
		t.Errorf("MissingShards = %v, want [1 3]", got)
	}
	if got := MissingShards(nil, 4); len(got) != 0 {
		t.Errorf("MissingShards(nil) = %v", got)
	}
	if got := JoinInts([]int{1, 3, 10}); got != "1,3,10" {
		t.Errorf("JoinInts = %q", got)
	}
	if got := JoinInts(nil); got != "" {
		t.Errorf("JoinInts(nil) = %q", got)
	}

	line := func(p int) string {
		return `{"point":` + itoa(p) + `,"grid":{},"scenario":"s","feasible":false,"reason":"r"}` + "\n"
	}
	shard := func(idx, n, total int) string {
		s := ""
		for _, p := range Shard(total, idx, n) {
			s += line(p)
		}
		return s
	}
	const total = 10
	s1 := shard(1, 3, total)
	files := []File{
		{Name: ResultsName(0, 3) + ".jsonl", Data: []byte(shard(0, 3, total))},
		{Name: ResultsName(1, 3) + ".jsonl", Data: []byte(s1[:len(s1)-5])}, // cut off in its last line
		// shard 2 never ran
	}
	m, err := Merge(total, files)
	if err != nil {
		t.Fatal(err)
	}
	if got := MissingShards(m.Missing, 3); !reflect.DeepEqual(got, []int{1, 2}) {
		t.Errorf("missing shards %v (points %v), want [1 2]", got, m.Missing)
	}
	files[1].Data = []byte(s1) // rerun: shard 1 resumed, shard 2 ran
	files = append(files, File{Name: ResultsName(2, 3) + ".jsonl", Data: []byte(shard(2, 3, total))})
	if m, err = Merge(total, files); err != nil || len(MissingShards(m.Missing, 3)) != 0 {
		t.Errorf("complete: missing %v, %v", m.Missing, err)
	}
}

func itoa(i int) string { return JoinInts([]int{i}) }
