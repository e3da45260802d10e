package plotreport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"trainsim/report"
	"trainsim/sweep"
)

// Kind is what a results file holds.
type Kind int

const (
	// RunReport is one report of `sim run --format json`.
	RunReport Kind = iota + 1
	// SweepResults is a sweep's JSONL: one record per line.
	SweepResults
)

// usage is appended to "unknown format" errors.
const usage = "want the report of `sim run --format json` or a sweep's results JSONL"

// Sniff says whether data is a run's report or a sweep's JSONL, by content:
// a single JSON object with step_time_s is a report; one with point, or
// more than one JSON value, is a sweep's results.
func Sniff(data []byte) (Kind, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return 0, errors.New("empty file: no report and no records")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var first json.RawMessage
	if err := dec.Decode(&first); err != nil {
		return 0, fmt.Errorf("%w; %s", notJSON(data, err), usage)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(first, &fields); err != nil || fields == nil {
		return 0, fmt.Errorf("unknown format: the file holds %s, not a JSON object; %s", describeJSON(first), usage)
	}
	if dec.More() {
		return SweepResults, nil
	}
	if _, ok := fields["point"]; ok {
		return SweepResults, nil
	}
	if _, ok := fields["step_time_s"]; ok {
		return RunReport, nil
	}
	return 0, fmt.Errorf("unknown format: a JSON object without step_time_s or point; %s", usage)
}

// notJSON describes a JSON syntax error with its line.
func notJSON(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off := min(int(se.Offset), len(data))
		line := 1 + bytes.Count(data[:off], []byte{'\n'})
		return fmt.Errorf("not JSON: line %d: %v", line, se)
	}
	return fmt.Errorf("not JSON: %v", err)
}

// describeJSON names the kind of a JSON value, for messages.
func describeJSON(v json.RawMessage) string {
	switch t := bytes.TrimSpace(v); {
	case len(t) == 0:
		return "nothing"
	case t[0] == '[':
		return "an array"
	case t[0] == '"':
		return "a string"
	case t[0] == 't' || t[0] == 'f':
		return "a boolean"
	case t[0] == 'n':
		return "null"
	default:
		return "a number"
	}
}

// ReadRun parses the report of `sim run --format json`.
func ReadRun(data []byte) (*report.Report, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("unknown format: the file holds %s, not a JSON object; %s", describeJSON(data), usage)
		}
		return nil, notJSON(data, err)
	}
	var missing []string
	for _, k := range []string{"scenario", "gpus", "feasible", "step_time_s"} {
		if _, ok := fields[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("unknown format: no %s; %s", strings.Join(missing, ", "), usage)
	}
	rep := new(report.Report)
	if err := json.Unmarshal(data, rep); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("%s: want %s, got a JSON %s", te.Field, te.Type, te.Value)
		}
		return nil, err
	}
	if err := checkReport(rep); err != nil {
		return nil, err
	}
	return rep, nil
}

// checkReport rejects reports whose numbers cannot be plotted.
func checkReport(rep *report.Report) error {
	if rep.GPUs < 1 {
		return fmt.Errorf("gpus: want a positive count, got %d", rep.GPUs)
	}
	if rep.StepTimeS < 0 {
		return fmt.Errorf("step_time_s: want a non-negative number of seconds, got %g", rep.StepTimeS)
	}
	return nil
}

// Sweep is a sweep's results, as read from one or more JSONL files.
type Sweep struct {
	// Records holds one record per point, in point order.
	Records []sweep.Record
	// Keys are the grid keys: the manifest's, or else those of the records
	// in the order first seen.
	Keys []string
	// Objective is the manifest's [search] objective (StepTime without one).
	Objective sweep.Objective
	// Points is the manifest's number of grid points; 0 without a manifest.
	Points int
	// Missing are the grid points no file holds (known with a manifest).
	Missing []int
	// Duplicates counts records dropped because an earlier one had their
	// point (the first found, in file order, is kept, as merge does).
	Duplicates int
	// Files are the names of the files read, in the order given.
	Files []string
	// Notes say what was skipped and why.
	Notes []string
}

// ReadSweep reads a sweep's results files (in the order given; the first
// record of a point wins) and, when m is not nil, checks them against the
// sweep's manifest. A last line cut off mid-write is skipped with a note;
// one that is complete but lacks its newline is read. Errors name the file.
func ReadSweep(files []sweep.File, m *sweep.Manifest) (*Sweep, error) {
	s := &Sweep{Objective: sweep.StepTime}
	if m != nil {
		s.Objective, s.Points, s.Keys = m.Objective, m.Points, append([]string(nil), m.Keys...)
		if s.Objective == "" {
			s.Objective = sweep.StepTime
		}
	}
	byPoint := map[int]sweep.Record{}
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
		j, err := sweep.ReadJournal(f.Data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		recs := j.Records
		if j.Truncated(f.Data) {
			tail := bytes.TrimSpace(f.Data[j.Complete:])
			if rec, err := sweep.ParseLine(tail); err == nil {
				recs = append(recs, rec)
			} else {
				s.Notes = append(s.Notes, fmt.Sprintf("%s: the last line is cut off (a run stopped while writing it?) and was skipped", filepath.Base(f.Name)))
			}
		}
		for _, r := range recs {
			if r.Report != nil {
				if err := checkReport(r.Report); err != nil {
					return nil, fmt.Errorf("%s: point %d: %w", f.Name, r.Point, err)
				}
			}
			if m != nil && r.Point >= m.Points {
				return nil, fmt.Errorf("%s: point %d is outside the sweep's %d points (the manifest is another sweep's?)", f.Name, r.Point, m.Points)
			}
			if _, dup := byPoint[r.Point]; dup {
				s.Duplicates++
				continue
			}
			byPoint[r.Point] = r
			s.Records = append(s.Records, r)
		}
	}
	s.Files = names
	if len(s.Records) == 0 {
		if len(names) == 0 {
			return nil, errors.New("no results files")
		}
		return nil, fmt.Errorf("no records in %s", strings.Join(names, ", "))
	}
	sort.SliceStable(s.Records, func(i, j int) bool { return s.Records[i].Point < s.Records[j].Point })
	if m == nil {
		seen := map[string]bool{}
		for _, r := range s.Records {
			for _, p := range r.Grid {
				if !seen[p.Key] {
					seen[p.Key] = true
					s.Keys = append(s.Keys, p.Key)
				}
			}
		}
	} else {
		for i := range m.Points {
			if _, ok := byPoint[i]; !ok {
				s.Missing = append(s.Missing, i)
			}
		}
	}
	return s, nil
}
