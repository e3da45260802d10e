package parallelism

// step is one entry of a pipeline stage's program: the forward or backward
// pass of one micro-batch through one model chunk.
type step struct {
	forward bool
	mb      int // micro-batch index
	chunk   int // model chunk (virtual stage) on this GPU
}

// program returns the order in which stage s (of p) runs its passes over m
// micro-batches with v model chunks per stage, as Megatron-LM's schedules do.
func program(sched Schedule, p, v, m, s int) []step {
	out := make([]step, 0, 2*m*v)
	switch sched {
	case GPipe:
		for i := 0; i < m; i++ {
			out = append(out, step{true, i, 0})
		}
		for i := 0; i < m; i++ {
			out = append(out, step{false, i, 0})
		}
	case OneFOneB:
		warm := min(p-s-1, m)
		for i := 0; i < warm; i++ {
			out = append(out, step{true, i, 0})
		}
		for j := 0; j < m-warm; j++ {
			out = append(out, step{true, warm + j, 0}, step{false, j, 0})
		}
		for j := m - warm; j < m; j++ {
			out = append(out, step{false, j, 0})
		}
	case Interleaved:
		total := m * v
		warm := (p-s-1)*2 + (v-1)*p
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
			return step{forward, (k/(p*v))*p + inGroup%p, c}
		}
		for k := 0; k < warm; k++ {
			out = append(out, virt(k, true))
		}
		for j := 0; j < total-warm; j++ {
			out = append(out, virt(warm+j, true), virt(j, false))
		}
		for j := total - warm; j < total; j++ {
			out = append(out, virt(j, false))
		}
	}
	return out
}

// maxInFlight is the largest number of forward passes whose backward has not
// run yet, over a stage's program: how many chunks' activations it holds.
func maxInFlight(prog []step) int {
	cur, best := 0, 0
	for _, st := range prog {
		if st.forward {
			cur++
			best = max(best, cur)
		} else {
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
		if st.forward {
			cur += n
			best = max(best, cur)
		} else {
			cur -= n
		}
	}
	return best
}
