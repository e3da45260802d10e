package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

const smallSweep = "testdata/sweep-small.toml"

// clearShardEnv makes sure a CI job's own index does not leak into a test.
func clearShardEnv(t *testing.T) {
	t.Helper()
	for _, env := range shardIndexEnv {
		t.Setenv(env, "")
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func sweepOK(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("sim %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	return out
}

// TestSweepRun: every point becomes a JSON line with its index and grid
// values, in grid order; invalid combinations are lines with feasible=false
// and a reason; the CSV has the report's columns and one per grid key.
func TestSweepRun(t *testing.T) {
	clearShardEnv(t)
	dir := t.TempDir()
	out := sweepOK(t, "sweep", smallSweep, "--out", dir)
	for _, want := range []string{"8 points over cluster.nodes × parallelism.pp × parallelism.tp", "evaluated   8\n", "skipped     0", "infeasible  4 of 8", "best        point ", "wall time"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	lines := strings.Split(strings.TrimSuffix(string(readFile(t, filepath.Join(dir, "results.jsonl"))), "\n"), "\n")
	if len(lines) != 8 {
		t.Fatalf("%d lines, want 8", len(lines))
	}
	for i, line := range lines {
		var rec struct {
			Point    int            `json:"point"`
			Grid     map[string]any `json:"grid"`
			Feasible bool           `json:"feasible"`
			Reason   string         `json:"reason"`
			Step     float64        `json:"step_time_s"`
			GPUs     int            `json:"gpus"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		tp := rec.Grid["parallelism.tp"].(float64)
		if rec.Point != i || len(rec.Grid) != 3 || tp != []float64{3, 8}[i%2] {
			t.Errorf("line %d: point %d, grid %v", i+1, rec.Point, rec.Grid)
		}
		if tp == 3 && (rec.Feasible || !strings.Contains(rec.Reason, "not divisible by tp(3)")) {
			t.Errorf("point %d (tp 3): feasible %v, reason %q", i, rec.Feasible, rec.Reason)
		}
		if tp == 8 && (!rec.Feasible || rec.Step <= 0 || rec.GPUs != 8*int(rec.Grid["cluster.nodes"].(float64))) {
			t.Errorf("point %d (tp 8): feasible %v, step %g, %d GPUs: %s", i, rec.Feasible, rec.Step, rec.GPUs, rec.Reason)
		}
	}
	csv := strings.Split(strings.TrimSuffix(string(readFile(t, filepath.Join(dir, "results.csv"))), "\n"), "\n")
	if len(csv) != 9 || !strings.HasSuffix(csv[0], ",bottleneck,straggler_slowdown,job_p50_s,job_p90_s,job_p99_s,goodput,interruptions,gpu_hours,nodes,zero,sequence_parallel,virtual_stages,cluster.nodes,parallelism.pp,parallelism.tp") || !strings.HasSuffix(csv[8], ",16,2,8") {
		t.Errorf("CSV:\n%s", strings.Join(csv, "\n"))
	}
	var man struct {
		Points int      `json:"points"`
		Keys   []string `json:"keys"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "sweep.json")), &man); err != nil || man.Points != 8 || len(man.Keys) != 3 {
		t.Errorf("manifest: %+v %v", man, err)
	}
}

// TestSweepDeterministicAndResumed: one worker or four, fresh or resumed
// after a stop in the middle of a line, the results are the same bytes.
func TestSweepDeterministicAndResumed(t *testing.T) {
	clearShardEnv(t)
	one, four := t.TempDir(), t.TempDir()
	sweepOK(t, "sweep", smallSweep, "--out", one, "--workers", "1")
	sweepOK(t, "sweep", smallSweep, "--out", four, "--workers", "4")
	want := readFile(t, filepath.Join(one, "results.jsonl"))
	wantCSV := readFile(t, filepath.Join(one, "results.csv"))
	if !bytes.Equal(want, readFile(t, filepath.Join(four, "results.jsonl"))) || !bytes.Equal(wantCSV, readFile(t, filepath.Join(four, "results.csv"))) {
		t.Fatal("1 and 4 workers give different results")
	}

	// A rerun skips everything.
	out := sweepOK(t, "sweep", smallSweep, "--out", four)
	if !strings.Contains(out, "evaluated   0\n") || !strings.Contains(out, "skipped     8") {
		t.Errorf("rerun:\n%s", out)
	}
	// Stopped while writing the sixth line: five points are kept, the cut
	// line is dropped and recomputed with the two after it.
	path := filepath.Join(four, "results.jsonl")
	lines := bytes.SplitAfter(want, []byte{'\n'})
	cut := len(bytes.Join(lines[:5], nil)) + len(lines[5])/2
	if err := os.WriteFile(path, want[:cut], 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(four, "results.csv"))
	out = sweepOK(t, "sweep", smallSweep, "--out", four, "--workers", "3")
	if !strings.Contains(out, "evaluated   3\n") || !strings.Contains(out, "skipped     5") || !strings.Contains(out, "truncated last line was discarded") {
		t.Errorf("resumed:\n%s", out)
	}
	if !bytes.Equal(want, readFile(t, path)) || !bytes.Equal(wantCSV, readFile(t, filepath.Join(four, "results.csv"))) {
		t.Errorf("resumed results differ from a whole run")
	}
}

// TestSweepShardsAndMerge: shards chosen by flag or by the Kubernetes or
// Slurm variable cover the grid once; merge joins them into what an
// unsharded run writes, drops duplicates and exits 1 while points are missing.
func TestSweepShardsAndMerge(t *testing.T) {
	clearShardEnv(t)
	whole := t.TempDir()
	sweepOK(t, "sweep", smallSweep, "--out", whole)
	want := readFile(t, filepath.Join(whole, "results.jsonl"))

	dir := t.TempDir()
	out := sweepOK(t, "sweep", smallSweep, "--out", dir, "--shards", "3", "--shard-index", "0")
	if !strings.Contains(out, "index 0 of 3 shards: 3 points") {
		t.Errorf("shard 0:\n%s", out)
	}
	t.Setenv("JOB_COMPLETION_INDEX", "1")
	sweepOK(t, "sweep", smallSweep, "--out", dir, "--shards", "3")

	// Shard 2 has not run: merge says which points are missing.
	code, out, errs := runCLI(t, "sweep", "merge", dir)
	if code != 1 || !strings.Contains(out, "missing     2: 2, 5") || !strings.Contains(errs, "2 of 8 points missing") {
		t.Fatalf("merge without shard 2: exit %d\n%s%s", code, out, errs)
	}

	t.Setenv("JOB_COMPLETION_INDEX", "")
	t.Setenv("SLURM_ARRAY_TASK_ID", "2")
	sweepOK(t, "sweep", smallSweep, "--out", dir, "--shards", "3")
	for i, n := range []int{3, 3, 2} {
		name := filepath.Join(dir, "results-shard-"+string(rune('0'+i))+"-of-3.jsonl")
		if got := bytes.Count(readFile(t, name), []byte{'\n'}); got != n {
			t.Errorf("%s: %d lines, want %d", name, got, n)
		}
	}
	// An earlier unsharded attempt left two points in the same directory.
	lines := bytes.SplitAfter(want, []byte{'\n'})
	if err := os.WriteFile(filepath.Join(dir, "results.jsonl"), bytes.Join(lines[:2], nil), 0o644); err != nil {
		t.Fatal(err)
	}
	out = sweepOK(t, "sweep", "merge", dir)
	if !strings.Contains(out, "merged      8 of 8 points from 4 files") || !strings.Contains(out, "duplicates  2 dropped") || !strings.Contains(out, "missing     none") {
		t.Errorf("merge:\n%s", out)
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, "merged.jsonl")), want) {
		t.Error("merged.jsonl differs from the unsharded results")
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, "merged.csv")), readFile(t, filepath.Join(whole, "results.csv"))) {
		t.Error("merged.csv differs from the unsharded CSV")
	}
}

// TestSweepKeep: with [search] keep, the CSV holds the best feasible points
// only, best first; the JSONL still holds every point (resume needs them).
func TestSweepKeep(t *testing.T) {
	clearShardEnv(t)
	dir := t.TempDir()
	src := string(readFile(t, smallSweep))
	src = strings.Replace(src, `base = "../../../scenarios/gpt3-175b.toml"`, `base = "`+filepath.Join(mustAbs(t, "../../scenarios"), "gpt3-175b.toml")+`"`, 1)
	file := filepath.Join(dir, "keep.toml")
	if err := os.WriteFile(file, []byte(src+"[search]\nobjective = \"cost\"\nkeep = 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := sweepOK(t, "sweep", file, "--out", filepath.Join(dir, "out"))
	if !strings.Contains(out, "by cost") || !strings.Contains(out, "the 2 best feasible points by cost") {
		t.Errorf("summary:\n%s", out)
	}
	csv := strings.Split(strings.TrimSpace(string(readFile(t, filepath.Join(dir, "out", "results.csv")))), "\n")
	if len(csv) != 3 {
		t.Fatalf("CSV has %d rows, want a header and 2", len(csv))
	}
	if n := bytes.Count(readFile(t, filepath.Join(dir, "out", "results.jsonl")), []byte{'\n'}); n != 8 {
		t.Errorf("JSONL has %d lines, want 8", n)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestSweepExitCodes(t *testing.T) {
	clearShardEnv(t)
	dir := t.TempDir()
	other := t.TempDir()
	sweepOK(t, "sweep", smallSweep, "--out", other, "--set", "training.global_batch=768")
	corrupt := t.TempDir()
	sweepOK(t, "sweep", smallSweep, "--out", corrupt, "--shards", "2", "--shard-index", "1")
	os.WriteFile(filepath.Join(corrupt, "results-shard-1-of-2.jsonl"), []byte("{\"point\":0}\n"), 0o644)
	notSweep := t.TempDir()
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stderr []string
	}{
		{"no --out", nil, []string{"sweep", smallSweep}, 2, []string{"--out DIR is required"}},
		{"missing file", nil, []string{"sweep", "testdata/nope.toml", "--out", dir}, 2, []string{"testdata/nope.toml"}},
		{"bad sweep file", nil, []string{"sweep", "testdata/sweep-bad.toml", "--out", dir}, 2, []string{
			`testdata/sweep-bad.toml:3: parallelism.tpp: unknown key; did you mean "tp"?`,
			"testdata/sweep-bad.toml:4: cluster.nodes: want an array of values"}},
		{"bad --set", nil, []string{"sweep", smallSweep, "--out", dir, "--set", "parallelism.tpp=1"}, 2, []string{"--set: parallelism.tpp: unknown key"}},
		{"bad workers", nil, []string{"sweep", smallSweep, "--out", dir, "--workers", "0"}, 2, []string{"--workers"}},
		{"index without count", nil, []string{"sweep", smallSweep, "--out", dir, "--shard-index", "1"}, 2, []string{"--shard-index needs --shards"}},
		{"count without index", nil, []string{"sweep", smallSweep, "--out", dir, "--shards", "2"}, 2, []string{"--shards 2 needs --shard-index"}},
		{"index out of range", nil, []string{"sweep", smallSweep, "--out", dir, "--shards", "2", "--shard-index", "2"}, 2, []string{"--shard-index: shard index 2 is out of range"}},
		{"Slurm array from 1", map[string]string{"SLURM_ARRAY_TASK_ID": "4"}, []string{"sweep", smallSweep, "--out", dir, "--shards", "4"}, 2, []string{"--array=0-3"}},
		{"bad env index", map[string]string{"JOB_COMPLETION_INDEX": "x"}, []string{"sweep", smallSweep, "--out", dir, "--shards", "4"}, 2, []string{`JOB_COMPLETION_INDEX="x"`}},
		{"another sweep's directory", nil, []string{"sweep", smallSweep, "--out", other}, 2, []string{"holds the results of another sweep"}},
		{"a point of another shard", nil, []string{"sweep", smallSweep, "--out", corrupt, "--shards", "2", "--shard-index", "1"}, 2, []string{"point 0 is not a point of this shard"}},
		{"merge a directory without a sweep", nil, []string{"sweep", "merge", notSweep}, 2, []string{"sweep.json"}},
		{"merge needs a directory", nil, []string{"sweep", "merge"}, 2, []string{"accepts 1 arg"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, _, errs := runCLI(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.code, errs)
			}
			for _, s := range tc.stderr {
				if !strings.Contains(errs, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errs)
				}
			}
		})
	}
}

// TestSweepMissing: `sim sweep missing DIR` prints the shards still to run,
// comma-separated for sbatch --array (a shard that never ran, one cut off
// in its last line), or the points; nothing once the sweep is complete.
// Running exactly what it lists completes the sweep.
func TestSweepMissing(t *testing.T) {
	clearShardEnv(t)
	dir := t.TempDir()
	sweepOK(t, "sweep", smallSweep, "--out", dir, "--shards", "4", "--shard-index", "0")
	sweepOK(t, "sweep", smallSweep, "--out", dir, "--shards", "4", "--shard-index", "1")
	// Shard 1 was killed while writing its second (last) line.
	path := filepath.Join(dir, "results-shard-1-of-4.jsonl")
	data := readFile(t, path)
	if err := os.WriteFile(path, data[:len(data)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "sweep", "missing", dir)
	if code != 0 || out != "1,2,3\n" || !strings.Contains(errs, "5 of 8 points missing; 3 of 4 shards to run again") {
		t.Fatalf("missing: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, out, _ = runCLI(t, "sweep", "missing", dir, "--format", "points"); code != 0 || out != "2,3,5,6,7\n" {
		t.Errorf("missing --format points: exit %d, %q", code, out)
	}
	if code, out, _ = runCLI(t, "sweep", "missing", dir, "--shards", "2"); code != 0 || out != "0,1\n" {
		t.Errorf("missing --shards 2: exit %d, %q", code, out)
	}
	for _, idx := range strings.Split(strings.TrimSpace(sweepOK(t, "sweep", "missing", dir)), ",") {
		sweepOK(t, "sweep", smallSweep, "--out", dir, "--shards", "4", "--shard-index", idx)
	}
	if code, out, errs = runCLI(t, "sweep", "missing", dir); code != 0 || out != "" || errs != "" {
		t.Errorf("complete: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	sweepOK(t, "sweep", "merge", dir)

	// Errors: no shard count to read, mixed counts, not a sweep directory.
	whole := t.TempDir()
	sweepOK(t, "sweep", smallSweep, "--out", whole)
	os.WriteFile(filepath.Join(whole, "results.jsonl"), nil, 0o644)
	if code, out, _ = runCLI(t, "sweep", "missing", whole, "--format", "points"); code != 0 || out != "0,1,2,3,4,5,6,7\n" {
		t.Errorf("unsharded, --format points: exit %d, %q", code, out)
	}
	mixed := t.TempDir()
	sweepOK(t, "sweep", smallSweep, "--out", mixed, "--shards", "4", "--shard-index", "0")
	sweepOK(t, "sweep", smallSweep, "--out", mixed, "--shards", "2", "--shard-index", "0")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{whole}, "give --shards N, or --format points"},
		{[]string{mixed}, "different shard counts (2 and 4); give --shards N"},
		{[]string{t.TempDir()}, "sweep.json"},
		{[]string{dir, "--format", "csv"}, "--format: want shards or points"},
		{[]string{dir, "--shards", "0"}, "--shards: want at least 1"},
	} {
		code, out, errs := runCLI(t, append([]string{"sweep", "missing"}, tc.args...)...)
		if code != 2 || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("missing %v: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, out, errs, tc.want)
		}
	}
	if code, out, _ = runCLI(t, "sweep", "missing", mixed, "--shards", "2"); code != 0 || out != "1\n" {
		t.Errorf("mixed, --shards 2: exit %d, %q", code, out)
	}
}

// TestSweepLock: a shard being written is locked; a second writer of the
// same shard stops with exit 2 naming the holder and writes nothing, other
// shards are free, and the shard runs once the lock is released.
func TestSweepLock(t *testing.T) {
	clearShardEnv(t)
	dir := t.TempDir()
	lock := filepath.Join(dir, "results-shard-0-of-2.lock")
	release, err := lockFile(lock, "pid 4242 on testhost since then, Slurm job 7_0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockFile(lock, "second"); !isLocked(err, "pid 4242 on testhost") {
		t.Fatalf("second lockFile: %v, want locked by pid 4242", err)
	}
	code, _, errs := runCLI(t, "sweep", smallSweep, "--out", dir, "--shards", "2", "--shard-index", "0")
	if code != 2 || !strings.Contains(errs, "results-shard-0-of-2.jsonl is being written by another sim sweep: locked by pid 4242 on testhost since then, Slurm job 7_0") {
		t.Errorf("locked shard: exit %d, stderr %q", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "results-shard-0-of-2.jsonl")); err == nil {
		t.Error("the locked-out run created the shard's results")
	}
	sweepOK(t, "sweep", smallSweep, "--out", dir, "--shards", "2", "--shard-index", "1")
	if err := release(); err != nil {
		t.Fatal(err)
	}
	sweepOK(t, "sweep", smallSweep, "--out", dir, "--shards", "2", "--shard-index", "0")
	// The lock file stays behind, now naming the last holder (this process),
	// and takes the lock again at once: nothing holds it.
	if got := string(readFile(t, lock)); !strings.HasPrefix(got, "pid "+strconv.Itoa(os.Getpid())+" on ") {
		t.Errorf("lock file holds %q", got)
	}
	release, err = lockFile(lock, "again")
	if err != nil {
		t.Fatal(err)
	}
	release()
}

func isLocked(err error, holder string) bool {
	var le *lockedError
	return errors.As(err, &le) && strings.Contains(le.Error(), holder)
}

// TestSweepLockReleasedOnKill: a process killed while holding a shard's lock
// (SIGKILL: no chance to clean up) does not block the rerun, because the
// kernel drops a flock when the process's files are closed.
func TestSweepLockReleasedOnKill(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no flock")
	}
	lock := filepath.Join(t.TempDir(), "results.lock")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSweepLockHelperProcess$")
	cmd.Env = append(os.Environ(), "TRAINSIM_LOCK_HELPER="+lock)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper: %q, %v", line, err)
	}
	if _, err := lockFile(lock, "parent"); !isLocked(err, fmt.Sprintf("pid %d on ", cmd.Process.Pid)) {
		t.Fatalf("while the helper lives: %v, want locked by pid %d", err, cmd.Process.Pid)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	release, err := lockFile(lock, "parent")
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	release()
}

// TestSweepLockHelperProcess is the process TestSweepLockReleasedOnKill
// kills: it takes the lock, says so, and waits to be killed.
func TestSweepLockHelperProcess(t *testing.T) {
	path := os.Getenv("TRAINSIM_LOCK_HELPER")
	if path == "" {
		t.Skip("only run by TestSweepLockReleasedOnKill")
	}
	if _, err := lockFile(path, lockHolder()); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
	os.Exit(1)
}
