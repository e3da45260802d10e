package report

import (
	"math"
	"sort"

	"trainsim/parallelism"
)

// StageBreakdown is one pipeline stage's step split like Breakdown.
type StageBreakdown struct {
	Stage      int     `json:"stage"`
	ComputeS   float64 `json:"compute_s"`
	RecomputeS float64 `json:"recompute_s"`
	TPS        float64 `json:"tp_exposed_s"`
	PPS        float64 `json:"pp_exposed_s"`
	DPS        float64 `json:"dp_exposed_s"`
	OptimizerS float64 `json:"optimizer_s"`
	BubbleS    float64 `json:"bubble_s"`
}

func stagesOf(r *parallelism.Result) []StageBreakdown {
	var out []StageBreakdown
	for _, s := range r.Stages {
		bd := s.Breakdown
		out = append(out, StageBreakdown{Stage: s.Stage,
			ComputeS: float64(bd.Compute), RecomputeS: float64(bd.Recompute),
			TPS: float64(bd.TP), PPS: float64(bd.PP), DPS: float64(bd.DP),
			OptimizerS: float64(bd.Optimizer), BubbleS: float64(bd.Bubble)})
	}
	return out
}

// Timeline is the first replayed step of the pipeline, compact: what each
// stage's GPU did when, for drawing. It is in the report only when the run
// asked for it (sim run --timeline, or --trace).
type Timeline struct {
	// Step is the first step's length in seconds: from its first task to
	// its last (the optimizer included); spans are relative to its start.
	StepS  float64 `json:"step_s"`
	Stages int     `json:"stages"`
	Chunks int     `json:"chunks"`
	// Coarse says recomputation was folded into the backward spans to keep
	// the timeline under MaxTimelineSpans; Truncated that spans were still
	// left off the end.
	Coarse    bool           `json:"coarse,omitempty"`
	Truncated bool           `json:"truncated,omitempty"`
	Spans     []TimelineSpan `json:"spans"`
}

// TimelineSpan is a run of one kind of work on one stage's GPU.
type TimelineSpan struct {
	Stage int `json:"stage"`
	// Chunk is the model chunk (virtual stage) of the pass, MB its
	// micro-batch; -1 outside passes.
	Chunk int `json:"chunk"`
	MB    int `json:"mb"`
	// Kind: "fwd", "bwd", "wgrad" (the weight-gradient pass W split off by
	// zb-h1, and by dualpipe for the chunks it splits), "recompute"
	// (computation, the tensor-parallel collectives between its kernels
	// included), "pp" (a pipeline send), "dp" (a data-parallel collective),
	// "optimizer".
	Kind   string  `json:"kind"`
	Stream string  `json:"stream"`
	Start  float64 `json:"start_s"`
	End    float64 `json:"end_s"`
	// RecomputeS is, in a coarse timeline, the recomputation folded into
	// a "bwd" span (drawn at its start).
	RecomputeS float64 `json:"recompute_s,omitempty"`
}

// MaxTimelineSpans bounds the timeline in the report.
const MaxTimelineSpans = 20000

// TimelineOf compacts the replay's spans to the first step of the first
// replica (every replica of a symmetric replay runs the same program).
func TimelineOf(spans []parallelism.Span, stages, chunks int) *Timeline {
	if len(spans) == 0 {
		return nil
	}
	fine := compact(spans, false)
	t := &Timeline{Stages: stages, Chunks: chunks, Spans: fine}
	if len(fine) > MaxTimelineSpans {
		t.Spans, t.Coarse = compact(spans, true), true
	}
	if len(t.Spans) > MaxTimelineSpans {
		t.Spans, t.Truncated = t.Spans[:MaxTimelineSpans], true
	}
	return t
}

func displayKind(s parallelism.Span, coarse bool) string {
	switch s.Kind {
	case "compute", "tp":
		if s.Stream == "tp" {
			return ""
		}
		if s.Phase == "" && s.Kind == "tp" {
			return "dp"
		}
		if s.Phase == "" {
			return "optimizer"
		}
		return s.Phase
	case "recompute":
		if coarse {
			return "bwd"
		}
		return "recompute"
	}
	return s.Kind
}

func compact(spans []parallelism.Span, coarse bool) []TimelineSpan {
	t0 := math.Inf(1)
	for _, s := range spans {
		if s.Step == 0 && s.Replica == 0 {
			t0 = math.Min(t0, float64(s.Start))
		}
	}
	type key struct {
		stage  int
		stream string
	}
	open := map[key]int{}
	var out []TimelineSpan
	const us = 1e6
	rnd := func(x float64) float64 { return math.Round((x-t0)*us*1e3) / (us * 1e3) }
	for _, s := range spans {
		if s.Step != 0 || s.Replica != 0 {
			continue
		}
		k := displayKind(s, coarse)
		if k == "" {
			continue
		}
		stream := s.Stream
		if stream != "compute" {
			stream = "comm"
		}
		ts := TimelineSpan{Stage: s.Stage, Chunk: s.Chunk, MB: s.MicroBatch, Kind: k, Stream: stream, Start: rnd(float64(s.Start)), End: rnd(float64(s.End))}
		if coarse && s.Kind == "recompute" {
			ts.RecomputeS = math.Round(float64(s.End-s.Start)*1e9) / 1e9
		}
		ky := key{s.Stage, stream}
		if i, ok := open[ky]; ok {
			p := &out[i]
			// A run of the same work continues: the tensor-parallel
			// collectives of a pass join its computation.
			if p.Kind == ts.Kind && p.MB == ts.MB && p.Chunk == ts.Chunk && ts.Start-p.End < 1e-9 {
				p.End = math.Max(p.End, ts.End)
				if coarse && s.Kind == "recompute" {
					p.RecomputeS = math.Round((p.RecomputeS+float64(s.End-s.Start))*1e9) / 1e9
				}
				continue
			}
		}
		open[ky] = len(out)
		out = append(out, ts)
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Stage != out[b].Stage {
			return out[a].Stage < out[b].Stage
		}
		return out[a].Start < out[b].Start
	})
	return out
}
