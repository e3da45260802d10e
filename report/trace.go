package report

import (
	"bufio"
	"encoding/json"
	"io"
	"math"

	"trainsim/parallelism"
)

// traceEvent is one entry of the Chrome trace event format, which
// chrome://tracing and Perfetto (ui.perfetto.dev) open: complete events
// ("X") with a start and a duration in microseconds, and metadata events
// ("M") that name processes and threads.
type traceEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"`
	Dur  float64        `json:"dur,omitempty"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	Args map[string]any `json:"args,omitempty"`
}

// WriteTrace writes the replay's timeline as a Chrome/Perfetto trace: one
// process per GPU lane (pipeline stage), one thread per stream.
func WriteTrace(w io.Writer, name string, spans []parallelism.Span) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if _, err := io.WriteString(bw, "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"scenario\":"); err != nil {
		return err
	}
	if err := enc.Encode(name); err != nil {
		return err
	}
	if _, err := io.WriteString(bw, "},\"traceEvents\":[\n"); err != nil {
		return err
	}
	pids := map[string]int{}
	tids := map[[2]string]int{}
	first := true
	emit := func(e traceEvent) error {
		if !first {
			if _, err := io.WriteString(bw, ","); err != nil {
				return err
			}
		}
		first = false
		return enc.Encode(e)
	}
	for _, s := range spans {
		pid, ok := pids[s.Lane]
		if !ok {
			pid = len(pids)
			pids[s.Lane] = pid
			if err := emit(traceEvent{Name: "process_name", Ph: "M", Pid: pid, Args: map[string]any{"name": s.Lane}}); err != nil {
				return err
			}
			if err := emit(traceEvent{Name: "process_sort_index", Ph: "M", Pid: pid, Args: map[string]any{"sort_index": pid}}); err != nil {
				return err
			}
		}
		key := [2]string{s.Lane, s.Stream}
		tid, ok := tids[key]
		if !ok {
			tid = len(tids)
			tids[key] = tid
			if err := emit(traceEvent{Name: "thread_name", Ph: "M", Pid: pid, Tid: tid, Args: map[string]any{"name": s.Stream}}); err != nil {
				return err
			}
		}
		// Microseconds, to the nanosecond the engine keeps.
		us := func(x float64) float64 { return math.Round(x*1e9) / 1e3 }
		if err := emit(traceEvent{Name: s.Kind, Cat: s.Kind, Ph: "X", Ts: us(float64(s.Start)), Dur: us(float64(s.End)) - us(float64(s.Start)), Pid: pid, Tid: tid}); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(bw, "]}\n"); err != nil {
		return err
	}
	return bw.Flush()
}
