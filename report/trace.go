package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"

	"trainsim/parallelism"
)

// usec is a time in microseconds written with three decimals (the
// nanosecond the engine keeps), never with float noise.
type usec float64

func (u usec) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(math.Round(float64(u)*1e3)/1e3, 'f', 3, 64)), nil
}

// traceEvent is one entry of the Chrome trace event format, which
// chrome://tracing and Perfetto (ui.perfetto.dev) open: complete events
// ("X") with a start and a duration in microseconds, flow events ("s", "f")
// that draw an arrow from a pipeline send to the pass that receives it, and
// metadata events ("M") that name processes and threads.
type traceEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   usec           `json:"ts"`
	Dur  usec           `json:"dur,omitempty"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	ID   int            `json:"id,omitempty"`
	BP   string         `json:"bp,omitempty"`
	Args map[string]any `json:"args,omitempty"`
}

// spanName names a span for the trace: its kind, which pass it belongs to
// and, for computation, the layers it covers ("fwd mb3 c1 L12",
// "recompute mb3 c1 L8-L11", "bwd mb0 c0 L94-out", "pp fwd mb3 c1").
func spanName(s parallelism.Span) string {
	if s.Phase == "" {
		return s.Kind
	}
	pass := fmt.Sprintf("%s mb%d c%d", s.Phase, s.MicroBatch, s.Chunk)
	if s.Kind == "recompute" {
		pass = fmt.Sprintf("recompute mb%d c%d", s.MicroBatch, s.Chunk)
	}
	switch s.Kind {
	case "compute", "recompute":
		if l := layers(s.FirstLayer, s.LastLayer); l != "" {
			return pass + " " + l
		}
		return pass
	}
	return s.Kind + " " + pass
}

// layerName names one layer label: L12 (a transformer layer, 0-based), emb
// (the embedding), out (the output layer), "" for none.
func layerName(l int) string {
	switch {
	case l >= 0:
		return "L" + strconv.Itoa(l)
	case l == parallelism.LayerEmbedding:
		return "emb"
	case l == parallelism.LayerOutput:
		return "out"
	}
	return ""
}

// layers names the layers a span covers: "L12", "L8-L11", "emb-L3".
func layers(first, last int) string {
	a, b := layerName(first), layerName(last)
	if a == "" || b == "" || a == b {
		if a == "" {
			return b
		}
		return a
	}
	return a + "-" + b
}

// place is where a span is drawn: its process and thread.
type place struct{ pid, tid int }

func where2pid(where []place) []int {
	pids := make([]int, len(where))
	for i, w := range where {
		pids[i] = w.pid
	}
	return pids
}

// counterName is the counter track of each GPU's link tiers.
const counterName = "link GB/s"

// gbps writes a rate in GB/s with three decimals, without float noise.
func gbps(bytesPerSecond float64) json.Number {
	return json.Number(strconv.FormatFloat(math.Round(bytesPerSecond/1e6)/1e3, 'f', 3, 64))
}

// counterBins is how many intervals the counter tracks average over: a
// transfer-by-transfer counter would double the trace's size.
const counterBins = 2000

// writeCounters adds, per GPU lane, a counter track of the bytes per second
// its transfers send on each link tier, averaged over counterBins equal
// intervals of the trace (at least 1 us each): a transfer of B bytes over
// [start, end) puts B·overlap/(end−start) into each interval it overlaps.
// A value is written where it changes; the track ends at zero.
func writeCounters(spans []parallelism.Span, pid []int, emit func(traceEvent) error) error {
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, s := range spans {
		lo = min(lo, int64(math.Round(float64(s.Start)*1e9)))
		hi = max(hi, int64(math.Round(float64(s.End)*1e9)))
	}
	if hi <= lo {
		return nil
	}
	width := max(1000, (hi-lo+counterBins-1)/counterBins) // ns
	bins := int((hi-lo+width-1)/width) + 1
	type track struct{ bytes map[string][]float64 }
	byPid := map[int]*track{}
	for i, s := range spans {
		if s.Tier == "" || s.Bytes <= 0 {
			continue
		}
		a, b := int64(math.Round(float64(s.Start)*1e9)), int64(math.Round(float64(s.End)*1e9))
		if b <= a {
			continue
		}
		tr := byPid[pid[i]]
		if tr == nil {
			tr = &track{bytes: map[string][]float64{}}
			byPid[pid[i]] = tr
		}
		acc := tr.bytes[s.Tier]
		if acc == nil {
			acc = make([]float64, bins)
			tr.bytes[s.Tier] = acc
		}
		rate := float64(s.Bytes) / float64(b-a) // per ns
		for k := (a - lo) / width; k < int64(bins) && lo+k*width < b; k++ {
			from, to := max(a, lo+k*width), min(b, lo+(k+1)*width)
			if to > from {
				acc[k] += rate * float64(to-from)
			}
		}
	}
	pids := make([]int, 0, len(byPid))
	for p := range byPid {
		pids = append(pids, p)
	}
	sort.Ints(pids)
	for _, p := range pids {
		tr := byPid[p]
		names := make([]string, 0, len(tr.bytes))
		for t := range tr.bytes {
			names = append(names, t)
		}
		sort.Strings(names)
		last := ""
		for k := 0; k < bins; k++ {
			args := map[string]any{}
			key := ""
			for _, n := range names {
				v := gbps(tr.bytes[n][k] / (float64(width) / 1e9))
				args[n] = v
				key += string(v) + " "
			}
			if key == last {
				continue // the same values: no new point
			}
			last = key
			if err := emit(traceEvent{Name: counterName, Cat: "links", Ph: "C", Ts: usec(float64(lo+int64(k)*width) / 1e3), Pid: p, Args: args}); err != nil {
				return err
			}
		}
	}
	return nil
}

// passKey names one pass of one replica's pipeline.
type passKey struct {
	step, replica, stage, chunk, mb int
	phase                           string
}

// WriteTrace writes the replay's timeline as a Chrome/Perfetto trace: one
// process per GPU lane (pipeline stage), one thread per stream. Slices are
// named by phase, micro-batch and chunk; args carry the bytes sent and the
// link tier that bounded a transfer; each pipeline send has a flow arrow to
// the first task of the pass it feeds. stages is the number of pipeline
// stages (0: no flow arrows).
func WriteTrace(w io.Writer, name string, spans []parallelism.Span, stages int) error {
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
	us := func(x float64) usec { return usec(math.Round(x*1e9) / 1e3) }
	// The first task of each pass on the stage's main stream: where the
	// arrows from pipeline sends land.
	firstOf := map[passKey]int{}
	for i, s := range spans {
		if s.Phase == "" || s.Stream != "compute" || s.Kind == "pp" {
			continue
		}
		k := passKey{s.Step, s.Replica, s.Stage, s.Chunk, s.MicroBatch, s.Phase}
		if _, ok := firstOf[k]; !ok {
			firstOf[k] = i
		}
	}
	where := make([]place, len(spans))
	for i, s := range spans {
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
		where[i] = place{pid, tid}
		args := map[string]any{"step": s.Step}
		if s.Phase != "" {
			args["phase"], args["mb"], args["chunk"] = s.Phase, s.MicroBatch, s.Chunk
		}
		if s.Bytes > 0 {
			args["bytes"] = float64(s.Bytes)
		}
		if s.Tier != "" {
			args["tier"] = s.Tier
		}
		if s.FLOPs > 0 {
			args["flops"] = float64(s.FLOPs)
		}
		if l := layers(s.FirstLayer, s.LastLayer); l != "" {
			args["layers"] = l
		}
		args["rank"] = s.Rank
		start, end := us(float64(s.Start)), us(float64(s.End))
		if err := emit(traceEvent{Name: spanName(s), Cat: s.Kind, Ph: "X", Ts: start, Dur: end - start, Pid: pid, Tid: tid, Args: args}); err != nil {
			return err
		}
	}
	if err := writeCounters(spans, where2pid(where), emit); err != nil {
		return err
	}
	// Flow arrows: from a send (bound at its start) to the start of the pass it feeds.
	flow := 0
	for i, s := range spans {
		if s.Kind != "pp" || s.Phase == "" || stages <= 0 {
			continue
		}
		to := passKey{s.Step, s.Replica, s.Stage + 1, s.Chunk, s.MicroBatch, s.Phase}
		if s.Phase == "fwd" && s.Stage == stages-1 {
			to.stage, to.chunk = 0, s.Chunk+1
		}
		if s.Phase == "bwd" {
			to.stage = s.Stage - 1
			if s.Stage == 0 {
				to.stage, to.chunk = stages-1, s.Chunk-1
			}
		}
		j, ok := firstOf[to]
		if !ok {
			continue
		}
		flow++
		from, at := where[i], where[j]
		if err := emit(traceEvent{Name: "send", Cat: "pp", Ph: "s", Ts: us(float64(s.Start)), Pid: from.pid, Tid: from.tid, ID: flow}); err != nil {
			return err
		}
		if err := emit(traceEvent{Name: "send", Cat: "pp", Ph: "f", BP: "e", Ts: us(float64(spans[j].Start)), Pid: at.pid, Tid: at.tid, ID: flow}); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(bw, "]}\n"); err != nil {
		return err
	}
	return bw.Flush()
}
