package sweep

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"trainsim/scenario"
)

// Manifest describes a sweep's results directory; every run writes it, and
// merge reads it to know how many points there are.
type Manifest struct {
	// Sweep is the sweep file's name as the run was given it.
	Sweep string `json:"sweep"`
	// Points is the number of grid points.
	Points int `json:"points"`
	// Keys are the grid keys, in enumeration order.
	Keys []string `json:"keys"`
	// Objective and Keep are the sweep's [search].
	Objective Objective `json:"objective"`
	Keep      int       `json:"keep,omitempty"`
	// Fingerprint is Sweep.Fingerprint: runs may share a directory only
	// when theirs are equal.
	Fingerprint string `json:"fingerprint"`
}

// Manifest returns the sweep's manifest.
func (s *Sweep) Manifest() Manifest {
	return Manifest{Sweep: s.File, Points: s.Len(), Keys: s.Keys(), Objective: s.Objective, Keep: s.Keep, Fingerprint: s.Fingerprint()}
}

// ReadManifest parses a manifest.
func ReadManifest(data []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return m, err
	}
	if m.Points < 1 || m.Fingerprint == "" {
		return m, errors.New("not a sweep manifest (no points or no fingerprint)")
	}
	switch m.Objective {
	case "":
		m.Objective = StepTime
	case StepTime, Cost:
	default:
		return m, fmt.Errorf("unknown objective %q", m.Objective)
	}
	return m, nil
}

// File is one results file given to Merge.
type File struct {
	Name string
	Data []byte
}

// Merged is the union of a sweep's results files.
type Merged struct {
	// Records are the points found, in point order, one per point.
	Records []Record
	// Duplicates counts the records dropped because their point was already
	// present (the first found, in file order, is kept).
	Duplicates int
	// Missing are the points no file holds, in order.
	Missing []int
	// Truncated names the files whose last line was cut off (its point
	// counts as missing unless another file has it).
	Truncated []string
}

// Merge joins the results files of a sweep with points points.
func Merge(points int, files []File) (*Merged, error) {
	m := &Merged{}
	byPoint := make(map[int]Record)
	for _, f := range files {
		j, err := ReadJournal(f.Data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		if j.Truncated(f.Data) {
			m.Truncated = append(m.Truncated, f.Name)
		}
		for _, r := range j.Records {
			if r.Point >= points {
				return nil, fmt.Errorf("%s: point %d is outside the sweep's %d points", f.Name, r.Point, points)
			}
			if _, dup := byPoint[r.Point]; dup {
				m.Duplicates++
				continue
			}
			byPoint[r.Point] = r
		}
	}
	for i := range points {
		if r, ok := byPoint[i]; ok {
			m.Records = append(m.Records, r)
		} else {
			m.Missing = append(m.Missing, i)
		}
	}
	return m, nil
}

// WriteJSONL writes the records, one line each.
func WriteJSONL(w io.Writer, recs []Record) error {
	for i := range recs {
		line, err := recs[i].MarshalLine()
		if err != nil {
			return err
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	return nil
}

func describe(v any) string { return scenario.DescribeValue(v) }

// suggest returns the candidate within two edits of word (case ignored), or "".
func suggest(word string, candidates []string) string {
	for _, c := range candidates {
		if d := scenario.EditDistance(strings.ToLower(word), c); d <= 2 && d < len(word) {
			return c
		}
	}
	return ""
}

// ListPoints lists point indices, comma-separated, the first limit of them
// followed by "… (N more)" when there are more.
func ListPoints(points []int, limit int) string {
	var parts []string
	for i, p := range points {
		if i == limit {
			parts = append(parts, fmt.Sprintf("… (%d more)", len(points)-limit))
			break
		}
		parts = append(parts, strconv.Itoa(p))
	}
	return strings.Join(parts, ", ")
}
