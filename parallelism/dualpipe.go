package parallelism

// DualPipe (DeepSeek-AI 2024, "DeepSeek-V3 Technical Report",
// arXiv:2412.19437 §3.2.1, Figures 4 and 5, Table 2): a bidirectional
// pipeline. The model is split into pp stages as for 1F1B, and the GPU of
// pipeline rank s holds two of them: stage s for the micro-batches fed in
// at rank 0 (direction 0, chunk 0 here) and stage pp−1−s for those fed in
// at rank pp−1 (direction 1, chunk 1), so every layer's parameters are
// held twice ("DualPipe requires keeping two copies of the model
// parameters"). Half of the m micro-batches go each way. In the steady
// phase each forward chunk of one direction is paired with a backward
// chunk of the other, and each one's all-to-all and pipeline traffic runs
// beside the other's computation (Figure 4); backward chunks in the
// warm-up and cool-down split off their weight gradients (W), run later
// to fill the bubbles, as zero-bubble schedules do. Table 2: bubble
// (pp/2 − 1)(F&B + B − 3W), parameters 2×, activations pp + 1 micro-batches.
//
// The order of each rank's chunks is that of deepseek-ai/DualPipe
// (dualpipe/dualpipe.py, DualPipe.step, @ 3da1bbe), its eight steps
// listed below; its conditions are those the step asserts: pp even, m
// even and m ≥ 2·pp (each direction at least pp micro-batches).

// dualPipe appends to out the program of pipeline rank s of p over m
// micro-batches under DualPipe: chunk d carries direction d, whose
// micro-batches are numbered d·m/2 … d·m/2 + m/2 − 1.
func dualPipe(p, m, s int, out []step) []step {
	half := m / 2
	halfRanks := p / 2
	hr := min(s, p-1-s) // the rank's distance from the nearer end
	second := 0         // phase 0 is direction 0 on the first half of the ranks, 1 on the second
	if s >= halfRanks {
		second = 1
	}
	middle := s == halfRanks-1 || s == halfRanks
	var nf, nb [2]int // chunks run so far per direction, forward and backward
	var queue []step  // split backward chunks whose W has not run, oldest first
	f := func(phase int, pair bool) {
		d := phase ^ second
		out = append(out, step{forward: true, mb: d*half + nf[d], chunk: d, pair: pair})
		nf[d]++
	}
	b := func(phase int, zb bool) {
		d := phase ^ second
		st := step{mb: d*half + nb[d], chunk: d, split: zb}
		out = append(out, st)
		nb[d]++
		if zb {
			queue = append(queue, st)
		}
	}
	w := func() {
		st := queue[0]
		queue = queue[1:]
		out = append(out, step{mb: st.mb, chunk: st.chunk, weight: true})
	}
	// Step 1, nF0: the warm-up of the rank's own direction.
	for range (halfRanks - hr - 1) * 2 {
		f(0, false)
	}
	// Step 2, nF0F1.
	for range hr + 1 {
		f(0, false)
		f(1, false)
	}
	// Step 3, nB1W1F1: zero-bubble backward chunks, their W at once.
	for range halfRanks - hr - 1 {
		b(1, true)
		w()
		f(1, false)
	}
	// Step 4, the main step nF0B1F1B0: overlapped pairs, except that the
	// two middle ranks run their first pair apart ("to further reduce
	// bubble size").
	for i := range half - p + hr + 1 {
		if i == 0 && middle {
			f(0, false)
			b(1, false)
		} else {
			f(0, true)
			b(1, false)
		}
		f(1, true)
		b(0, false)
	}
	// Step 5, nB1F1B0.
	for range halfRanks - hr - 1 {
		b(1, false)
		f(1, true)
		b(0, false)
	}
	// Step 6, nB1B0: from the middle on, the backward chunks are split.
	zb := false
	n6 := hr + 1
	for i := range n6 {
		if i == n6/2 && hr%2 == 1 {
			zb = true
		}
		b(1, zb)
		if i == n6/2 && hr%2 == 0 {
			zb = true
		}
		b(0, zb)
	}
	// Step 7, nWB0.
	for range halfRanks - hr - 1 {
		w()
		b(0, true)
	}
	// Step 8, nW: the deferred weight gradients.
	for len(queue) > 0 {
		w()
	}
	return out
}

// ChunksPerGPU is the number of model chunks one GPU runs: virtual_stages,
// or DualPipe's two directions.
func (l Layout) ChunksPerGPU() int {
	if l.Schedule == DualPipe {
		return 2
	}
	return l.VirtualStages
}

// vsOf is the virtual stage (the place in the model's split,
// StageLayers) that chunk c of pipeline rank s runs: c·pp + s, or under
// DualPipe stage s for direction 0 and stage pp−1−s for direction 1.
func (l Layout) vsOf(s, c int) int {
	if l.Schedule == DualPipe {
		if c == 0 {
			return s
		}
		return l.PP - 1 - s
	}
	return c*l.PP + s
}

// holds reports whether a GPU of pipeline rank s runs virtual stage vs.
func (l Layout) holds(s, vs int) bool {
	if l.Schedule == DualPipe {
		return vs == s || vs == l.PP-1-s
	}
	return vs%l.PP == s
}

// holdsLast reports whether a GPU of pipeline rank s runs the last virtual
// stage, the one with the output layer and the multi-token-prediction
// modules.
func (l Layout) holdsLast(s int) bool { return l.holds(s, l.PP*l.VirtualStages-1) }

// lastMB is the last micro-batch that goes through chunk c in a step: the
// one whose backward pass through it issues the overlapped gradient
// reduction.
func lastMB(l Layout, m, c int) int {
	if l.Schedule == DualPipe {
		return (c+1)*(m/2) - 1
	}
	return m - 1
}

// firstMB is the first micro-batch that goes through chunk c in a step:
// the one whose forward pass waits for the chunk's overlapped parameter
// all-gathers.
func firstMB(l Layout, m, c int) int {
	if l.Schedule == DualPipe {
		return c * (m / 2)
	}
	return 0
}
