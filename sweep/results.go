package sweep

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"trainsim/report"
)

// Record is one point's result: a line of the results JSONL.
type Record struct {
	// Point is the grid index.
	Point int
	// Grid is the point's value of every grid key, in the sweep's order.
	Grid []Param
	// Report is the point's report; nil when the scenario could not be
	// loaded or replayed (an invalid combination), and then Reason says why.
	Report *report.Report
	// Scenario is the scenario's name.
	Scenario string
	// Reason says why a point without a report has none.
	Reason string

	line []byte // the JSONL line it was read from, if any
}

// Feasible reports whether the point was simulated and fits.
func (r *Record) Feasible() bool { return r.Report != nil && r.Report.Feasible }

// Summary returns the report, or for a point without one, a report holding
// only its name, feasible=false and the reason (the CSV row of such a point).
func (r *Record) Summary() *report.Report {
	if r.Report != nil {
		return r.Report
	}
	return &report.Report{Scenario: r.Scenario, Feasible: false, Reason: r.Reason}
}

// MarshalLine returns the record as one JSON line (with its newline): the
// report's JSON object with "point" and "grid" first; for a point without
// a report, only scenario, feasible (false) and reason follow them. A record
// read by ParseLine marshals to the line it was read from, byte for byte.
func (r *Record) MarshalLine() ([]byte, error) {
	if r.line != nil {
		return r.line, nil
	}
	var b bytes.Buffer
	b.WriteString(`{"point":`)
	b.WriteString(strconv.Itoa(r.Point))
	b.WriteString(`,"grid":{`)
	for i, p := range r.Grid {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.Key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(formatJSON(p.Value))
	}
	b.WriteByte('}')
	var rest []byte
	var err error
	if r.Report != nil {
		rest, err = report.Marshal(r.Report)
	} else {
		rest, err = json.Marshal(struct {
			Scenario string `json:"scenario"`
			Feasible bool   `json:"feasible"`
			Reason   string `json:"reason"`
		}{r.Scenario, false, r.Reason})
	}
	if err != nil {
		return nil, fmt.Errorf("point %d: %w", r.Point, err)
	}
	if len(rest) > 2 {
		b.WriteByte(',')
		b.Write(rest[1:])
	} else {
		b.WriteByte('}')
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// ParseLine reads one JSONL line (without its newline) back into a record.
func ParseLine(line []byte) (Record, error) {
	var head struct {
		Point     *int            `json:"point"`
		Grid      json.RawMessage `json:"grid"`
		Scenario  string          `json:"scenario"`
		Reason    string          `json:"reason"`
		StepTimeS *float64        `json:"step_time_s"`
	}
	if err := json.Unmarshal(line, &head); err != nil {
		return Record{}, fmt.Errorf("not a result: %w", err)
	}
	if head.Point == nil || *head.Point < 0 {
		return Record{}, errors.New("not a result: no point index")
	}
	grid, err := parseGrid(head.Grid)
	if err != nil {
		return Record{}, fmt.Errorf("point %d: grid: %w", *head.Point, err)
	}
	rec := Record{Point: *head.Point, Grid: grid, Scenario: head.Scenario, Reason: head.Reason}
	if head.StepTimeS != nil {
		rep := new(report.Report)
		if err := json.Unmarshal(line, rep); err != nil {
			return Record{}, fmt.Errorf("point %d: %w", rec.Point, err)
		}
		rec.Report = rep
	}
	rec.line = append(append([]byte(nil), line...), '\n')
	return rec, nil
}

// parseGrid reads the grid object keeping the order of its keys; numbers
// without a fraction or exponent are integers, as in TOML.
func parseGrid(raw json.RawMessage) ([]Param, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("want an object")
	}
	var ps []Param
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		t, err = dec.Token()
		if err != nil {
			return nil, err
		}
		var v any
		switch x := t.(type) {
		case json.Number:
			if n, err := strconv.ParseInt(string(x), 10, 64); err == nil && !strings.ContainsAny(string(x), ".eE") {
				v = n
			} else if f, err := x.Float64(); err == nil {
				v = f
			} else {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
		case string, bool:
			v = x
		default:
			return nil, fmt.Errorf("%s: want a number, a string or a boolean", key)
		}
		ps = append(ps, Param{Key: key, Value: v})
	}
	return ps, nil
}

// Journal is what a results JSONL file holds.
type Journal struct {
	// Records are the complete lines, in file order.
	Records []Record
	// Complete is the length of the file's prefix made of complete lines;
	// anything after it is a truncated last line (a run that was stopped
	// while writing), to be cut off and recomputed.
	Complete int
}

// Truncated reports whether the data ended in a partial line.
func (j *Journal) Truncated(data []byte) bool { return j.Complete < len(data) }

// ReadJournal parses a results JSONL file. Blank lines are skipped; a
// complete line that is not a result is an error naming its line number.
func ReadJournal(data []byte) (*Journal, error) {
	j := &Journal{}
	line := 0
	for off := 0; off < len(data); {
		nl := bytes.IndexByte(data[off:], '\n')
		if nl < 0 {
			break // a truncated last line
		}
		line++
		text := bytes.TrimSpace(data[off : off+nl])
		if len(text) > 0 {
			rec, err := ParseLine(text)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			j.Records = append(j.Records, rec)
		}
		off += nl + 1
		j.Complete = off
	}
	return j, nil
}

// CheckShard says what is wrong with a shard index and count, if anything.
func CheckShard(index, shards int) error {
	if shards < 1 {
		return fmt.Errorf("the shard count must be at least 1, got %d", shards)
	}
	if index < 0 || index >= shards {
		return fmt.Errorf("shard index %d is out of range: with %d shards it is 0 to %d", index, shards, shards-1)
	}
	return nil
}

// Shard returns the points of shard index out of shards: every point i with
// i mod shards = index, in order. Shards 0..shards-1 partition 0..total-1.
func Shard(total, index, shards int) []int { return slices.Collect(ShardPoints(total, index, shards)) }

// ShardPoints yields the points of Shard one by one, holding none of them:
// a grid of 2³⁰ points is enumerated without a slice of 2³⁰ ints.
func ShardPoints(total, index, shards int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := index; i < total; i += shards {
			if !yield(i) {
				return
			}
		}
	}
}

// ShardLen is the number of points ShardPoints yields.
func ShardLen(total, index, shards int) int {
	if index >= total {
		return 0
	}
	return (total-index-1)/shards + 1
}

// Run evaluates points on up to workers goroutines and passes each record
// to emit in the order of points, as soon as it and all before it are done,
// so the output does not depend on scheduling. It stops at emit's first
// error and returns it. Points are drawn from the sequence as workers take
// them, so that a large grid is never held in memory, and at most
// runAhead(workers) points are handed out beyond the last one emitted: a
// slow point holds back the others instead of letting finished records pile
// up behind it without bound.
func Run(points iter.Seq[int], workers int, eval func(point int) Record, emit func(Record) error) error {
	return RunWorkers(points, workers, func(_, point int) Record { return eval(point) }, emit)
}

// RunWorkers is Run with eval told which worker (0 … workers−1) calls it,
// so that each worker may keep state of its own from one point to the next
// (a parallelism.Scratch); a worker evaluates one point at a time.
func RunWorkers(points iter.Seq[int], workers int, eval func(worker, point int) Record, emit func(Record) error) error {
	workers = max(1, workers)
	type done struct {
		pos int
		rec Record
	}
	type job struct{ pos, point int }
	jobs := make(chan job)
	results := make(chan done, workers)
	stop := make(chan struct{})
	// window holds one token per point handed out and not yet emitted.
	window := make(chan struct{}, runAhead(workers))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for j := range jobs {
				select {
				case results <- done{j.pos, eval(w, j.point)}:
				case <-stop:
					return
				}
			}
		})
	}
	go func() {
		defer close(jobs)
		pos := 0
		for p := range points {
			select {
			case window <- struct{}{}:
			case <-stop:
				return
			}
			select {
			case jobs <- job{pos, p}:
				pos++
			case <-stop:
				return
			}
		}
	}()
	go func() {
		wg.Wait()
		close(results)
	}()
	pending := map[int]Record{}
	next := 0
	var err error
	for d := range results {
		if err != nil {
			continue // draining after a failed emit
		}
		pending[d.pos] = d.rec
		for {
			rec, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			if err = emit(rec); err != nil {
				close(stop)
				break
			}
			<-window
			next++
		}
	}
	return err
}

// runAhead is how many points RunWorkers lets be in flight or finished but
// not yet emitted: enough to keep every worker busy while one point is
// slower than the others, and a bound on the records held for reordering.
func runAhead(workers int) int { return 4 * workers }

// Best returns the feasible records ranked by the objective, best first,
// ties broken by point index; at most keep of them when keep > 0.
func Best(recs []Record, o Objective, keep int) []Record {
	var best []Record
	for _, r := range recs {
		if r.Feasible() && !math.IsNaN(o.Value(r.Report)) {
			best = append(best, r)
		}
	}
	sort.SliceStable(best, func(i, j int) bool {
		a, b := o.Value(best[i].Report), o.Value(best[j].Report)
		if a != b {
			return a < b
		}
		return best[i].Point < best[j].Point
	})
	if keep > 0 && len(best) > keep {
		best = best[:keep]
	}
	return best
}

// Output selects the records a CSV holds: every record in point order, or
// with keep > 0 the keep best feasible ones, best first.
func Output(recs []Record, o Objective, keep int) []Record {
	if keep > 0 {
		return Best(recs, o, keep)
	}
	return recs
}

// WriteCSV writes a header and one row per record: report.WriteCSV's
// columns, then one column per grid key, named by the key.
func WriteCSV(w io.Writer, keys []string, recs []Record) error {
	reps := make([]*report.Report, len(recs))
	for i := range recs {
		reps[i] = recs[i].Summary()
	}
	var buf bytes.Buffer
	if err := report.WriteCSV(&buf, reps...); err != nil {
		return err
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		return err
	}
	rows[0] = append(rows[0], keys...)
	for i, r := range recs {
		for _, k := range keys {
			cell := ""
			for _, p := range r.Grid {
				if p.Key == k {
					cell = formatCSV(p.Value)
					break
				}
			}
			rows[i+1] = append(rows[i+1], cell)
		}
	}
	cw := csv.NewWriter(w)
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}
