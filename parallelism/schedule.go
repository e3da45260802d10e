package parallelism

// step is one entry of a pipeline stage's program: the forward or backward
// pass of one micro-batch through one model chunk. Under a zero-bubble
// schedule a backward step is the input gradient only (B) and a weight step
// (weight set, forward not) the weight gradient (W).
type step struct {
	forward bool
	mb      int // micro-batch index
	chunk   int // model chunk on this GPU (Layout.vsOf: its virtual stage)
	weight  bool
	// split marks a backward step that computes the input gradient only
	// (B), its weight gradient left to a later weight step (W).
	split bool
	// pair marks a forward step whose computation and communication are
	// overlapped with those of the backward step that follows it (DualPipe's
	// "F&B" chunk pair; Megatron-Core's combined 1F1B, combined1F1B).
	pair bool
}

// program returns the order in which stage s (of p) runs its passes over m
// micro-batches with v model chunks per stage, as Megatron-LM's schedules do.
func program(sched Schedule, p, v, m, s int) []step {
	return schedProgram(sched, p, v, m, s, false)
}

// combined1F1B reports whether the layout's stage programs are Megatron-Core's
// combined 1F1B: under moe.overlap (--overlap-moe-expert-parallel-comm) the
// interleaved schedule, and the plain one without pipelining, run each
// steady-state forward pass together with the backward pass that follows it,
// of another micro-batch (combined_1f1b_schedule_for_interleaved_pipelining
// and combined_1f1b_schedule_for_no_pipelining, pipeline_parallel/
// combined_1f1b.py; the layers zipped as TransformerLayerSchedulePlan.run,
// models/common/model_chunk_schedule_plan.py, Megatron-LM @ 2d1fa8d3): each
// pass's dispatch and combine run on the communication stream beside the
// other pass's attention or MLP. Megatron-Core asserts a virtual pipeline
// size whenever pp > 1 (transformer_config.py), so a 1F1B layout with pp > 1
// keeps the per-pass overlap.
func (l Layout) combined1F1B() bool {
	return l.MoEOverlap && (l.Schedule == Interleaved || l.Schedule == OneFOneB && l.PP == 1)
}

// stageProgram is stage s's program for the layout over m micro-batches:
// program, or under combined1F1B the combined 1F1B one.
func stageProgram(l Layout, m, s int) []step {
	return schedProgram(l.Schedule, l.PP, l.VirtualStages, m, s, l.combined1F1B())
}

// schedProgram is program; with combined (1F1B or interleaved only) it runs
// one more warm-up forward pass, so that each steady-state forward and the
// backward after it belong to different micro-batches ("we schedule one
// extra micro-batch forward step before the 1f1b stages", get_pp_rank_
// microbatches in pipeline_parallel/schedules.py; combined_1f1b_schedule_
// for_no_pipelining runs forward 0 alone, then forward i+1 with backward i),
// and marks each steady-state forward as paired with that backward.
func schedProgram(sched Schedule, p, v, m, s int, combined bool) []step {
	extra := 0
	if combined {
		extra = 1
	}
	out := make([]step, 0, 2*m*v)
	switch sched {
	case GPipe:
		for i := 0; i < m; i++ {
			out = append(out, step{forward: true, mb: i})
		}
		for i := 0; i < m; i++ {
			out = append(out, step{mb: i})
		}
	case OneFOneB:
		warm := min(p-s-1+extra, m)
		for i := 0; i < warm; i++ {
			out = append(out, step{forward: true, mb: i})
		}
		for j := 0; j < m-warm; j++ {
			out = append(out, step{forward: true, mb: warm + j, pair: combined}, step{mb: j})
		}
		for j := m - warm; j < m; j++ {
			out = append(out, step{mb: j})
		}
	case ZBH1:
		// Qi et al. 2024, §2.1 and Figure 3 (top): 1F1B's warm-up, then
		// F and B pairs, stage s deferring its first s W passes so that
		// every stage holds p micro-batches between F and W, as 1F1B's
		// first stage does; each cool-down B is followed by a deferred W,
		// which runs while the stage waits for the next B's gradient.
		warm := min(p-s-1, m)
		nw := 0
		wgt := func() {
			out = append(out, step{mb: nw, weight: true})
			nw++
		}
		for i := 0; i < warm; i++ {
			out = append(out, step{forward: true, mb: i})
		}
		for j := 0; j < m-warm; j++ {
			out = append(out, step{forward: true, mb: warm + j}, step{mb: j, split: true})
			if j >= s {
				wgt()
			}
		}
		for j := m - warm; j < m; j++ {
			out = append(out, step{mb: j, split: true})
			wgt()
		}
		for nw < m {
			wgt()
		}
	case DualPipe:
		out = dualPipe(p, m, s, out)
	case Interleaved:
		total := m * v
		warm := (p-s-1)*2 + (v-1)*p + extra
		if m == p || warm > total {
			warm = total
		}
		// Virtual micro-batch k runs micro-batch mb of chunk c; backward
		// passes visit the chunks in reverse.
		virt := func(k int, forward bool) step {
			inGroup := k % (p * v)
			c := inGroup / p
			if !forward {
				c = v - 1 - c
			}
			return step{forward: forward, mb: (k/(p*v))*p + inGroup%p, chunk: c}
		}
		for k := 0; k < warm; k++ {
			out = append(out, virt(k, true))
		}
		for j := 0; j < total-warm; j++ {
			f := virt(warm+j, true)
			f.pair = combined
			out = append(out, f, virt(j, false))
		}
		for j := total - warm; j < total; j++ {
			out = append(out, virt(j, false))
		}
	}
	return out
}

// releases reports whether st frees its micro-batch's activations: the
// backward pass, or for a split backward (B) the W pass. A micro-batch whose
// B has run but not its W is counted whole: W needs the inputs of every
// linear layer, B frees the rest (Qi et al. 2024, Table 1), so the count is
// an upper bound there.
func releases(st step) bool {
	return st.weight || !st.forward && !st.split
}

// maxInFlight is the largest number of forward passes whose backward (W,
// under a split backward) has not run yet, over a stage's program: how many
// chunks' activations it holds.
func maxInFlight(prog []step) int {
	cur, best := 0, 0
	for _, st := range prog {
		switch {
		case st.forward:
			cur++
			best = max(best, cur)
		case releases(st):
			cur--
		}
	}
	return best
}

// maxInFlightLayers is the largest number of layers whose activations a
// stage's program holds at once: the in-flight forward passes of maxInFlight,
// each weighted by the layers of its chunk (layersOf), so that chunks of
// different sizes (an uneven partition) count at their own size.
func maxInFlightLayers(prog []step, layersOf func(chunk int) int) int {
	cur, best := 0, 0
	for _, st := range prog {
		n := layersOf(st.chunk)
		switch {
		case st.forward:
			cur += n
			best = max(best, cur)
		case releases(st):
			cur -= n
		}
	}
	return best
}
