package parallelism

import (
	"fmt"
	"sync"

	"trainsim/model"
	"trainsim/sim"
	"trainsim/units"
)

// Estimates without a replay: the memory a job needs (exactly what the
// replay reports, from the schedule's in-flight counts) and a lower bound on
// its step time, for a layout search to discard candidates before replaying
// them.

// PeakMemory returns the memory of the GPU that needs most and its pipeline
// stage, as Simulate reports it (Result.Memory, Result.MemoryStage), and
// whether it fits the GPU's HBM, computed from each stage's schedule program
// without a replay.
func PeakMemory(v Valid) (Memory, int, bool, error) {
	return NewEstimator().PeakMemory(v)
}

// StepLowerBound returns a time that the step time Simulate reports for v
// can never be below (see Estimator.StepLowerBound).
func StepLowerBound(v Valid) (units.Seconds, error) {
	return NewEstimator().StepLowerBound(v)
}

// Estimator computes PeakMemory and StepLowerBound for many jobs of one
// model on one kind of hardware (GPU, system, calibration, network
// fidelity), caching what layouts share: the in-flight layer counts of each
// schedule shape and the pass times of each layer kind for each shard. It
// is safe for concurrent use. Jobs that differ in model, hardware,
// calibration or simulation options need their own Estimator.
type Estimator struct {
	mu       sync.Mutex
	inFlight map[flightKey][]int
	passes   map[passKey]*passTimes
}

// NewEstimator returns an empty Estimator.
func NewEstimator() *Estimator {
	return &Estimator{inFlight: map[flightKey][]int{}, passes: map[passKey]*passTimes{}}
}

type flightKey struct {
	sched         Schedule
	p, v, m, nLay int
}

type passKey struct {
	model, gpu string
	sh         model.Shard
	tpOverlap  bool
}

// passTimes is, per layer kind, the time one micro-batch's forward pass and
// its backward pass (recomputation included) keep a GPU's main stream busy
// for certain: the compute kernels, and in the analytical network the
// tensor-parallel collectives that block it.
type passTimes struct {
	fwd, bwd [model.NumLayerKinds]sim.Time
	// wgt is the weight-gradient part of bwd (model.SplitWeightGrad): what
	// a zero-bubble schedule runs apart, off the backward chain.
	wgt [model.NumLayerKinds]sim.Time
	// bin is the rest of the backward (recomputation included), priced
	// apart as the replay prices it then.
	bin [model.NumLayerKinds]sim.Time
}

// inFlightLayers returns, per stage, the most layer activations its
// schedule program holds at once (Job.inFlightLayers).
func (e *Estimator) inFlightLayers(j Job) []int {
	l := j.Layout
	k := flightKey{l.Schedule, l.PP, l.VirtualStages, j.Microbatches(), j.Model.Layers}
	e.mu.Lock()
	got, ok := e.inFlight[k]
	e.mu.Unlock()
	if ok {
		return got
	}
	out := make([]int, l.PP)
	for s := range out {
		out[s] = j.inFlightLayers(program(l.Schedule, l.PP, l.VirtualStages, k.m, s), s)
	}
	e.mu.Lock()
	e.inFlight[k] = out
	e.mu.Unlock()
	return out
}

// PeakMemory is the package's PeakMemory with e's caches.
func (e *Estimator) PeakMemory(v Valid) (Memory, int, bool, error) {
	j, err := v.get()
	if err != nil {
		return Memory{}, 0, false, err
	}
	flight := e.inFlightLayers(j)
	var peak Memory
	stage := 0
	for s := 0; s < j.Layout.PP; s++ {
		mem := j.stageMemory(s, flight[s])
		if s == 0 || mem.Peak > peak.Peak {
			peak, stage = mem, s
		}
	}
	return peak, stage, peak.Peak <= j.Cluster.GPU.HBM, nil
}

// passTimesOf returns the pass times of j's shard, computed once per shard.
func (e *Estimator) passTimesOf(j Job) (*passTimes, error) {
	k := passKey{j.Model.Name, j.Cluster.GPU.Name, j.shard(), j.Layout.TPOverlap}
	// The tensor-parallel group is priced at stage 0; it sits the same way
	// at every stage, and in every layout of the same shard, only when it
	// fits in one node.
	cacheable := j.Cluster.GPUsPerNode%j.Layout.TP == 0
	if cacheable {
		e.mu.Lock()
		got, ok := e.passes[k]
		e.mu.Unlock()
		if ok {
			return got, nil
		}
	}
	pr, err := newPricer(j)
	if err != nil {
		return nil, err
	}
	blocking := j.Options.Network == NetworkAnalytical
	// busy mirrors builder.emit: compute steps, and collectives it puts on
	// the main stream (those not overlapped with the compute before them).
	busy := func(ids []stepID) (sim.Time, error) {
		var t sim.Time
		for i := 0; i < len(ids); i++ {
			st := &pr.steps[ids[i]]
			if st.kind == model.Collective {
				if blocking {
					c, err := pr.price(st.spec, 0)
					if err != nil {
						return 0, err
					}
					t += toTime(c.Time)
				}
				continue
			}
			t += st.d
			for i+1 < len(ids) && pr.steps[ids[i+1]].overlap {
				i++
			}
		}
		return t, nil
	}
	pt := &passTimes{}
	for kind, layer := range j.Model.Programs(j.shard()) {
		f, err := busy(pr.compile(layer.Forward))
		if err != nil {
			return nil, err
		}
		r, err := busy(pr.compile(layer.Recompute))
		if err != nil {
			return nil, err
		}
		b, err := busy(pr.compile(layer.Backward))
		if err != nil {
			return nil, err
		}
		ip, wp := model.SplitWeightGrad(layer.Backward)
		w, err := busy(pr.compile(wp))
		if err != nil {
			return nil, err
		}
		bi, err := busy(pr.compile(ip))
		if err != nil {
			return nil, err
		}
		pt.fwd[kind], pt.bwd[kind], pt.wgt[kind], pt.bin[kind] = f, r+b, w, r+bi
	}
	if cacheable {
		e.mu.Lock()
		e.passes[k] = pt
		e.mu.Unlock()
	}
	return pt, nil
}

// StepLowerBound returns a time the step Simulate reports for v is never
// below, computed without a replay. Each GPU's main stream runs its kernels
// one at a time, so over S replayed steps stage s is busy at least S·W_s,
// W_s being its passes' kernels (and, in the analytical network, the
// tensor-parallel collectives that block the stream) for every
// micro-batch, plus its optimizer step. Its first forward pass cannot start
// before the first micro-batch has gone forward through virtual stages
// 0…s−1, one after the other (F_s), and after its last backward pass that
// micro-batch still goes backward through virtual stages s−1…0 (B_s)
// before the optimizer barrier lets stage s run its last optimizer step.
// Every other duration (communication, contention, waiting) only adds. So
// the step is at least max over s of W_s + (F_s + B_s)/S: with equal stages,
// the compute plus the (p−1)/(v·m) share of the pipeline bubble. Slow GPUs
// (Job.Variation) may also be fast ones, so with variation the bound is 0.
func (e *Estimator) StepLowerBound(v Valid) (units.Seconds, error) {
	j, err := v.get()
	if err != nil {
		return 0, err
	}
	if j.Variation.Set() {
		return 0, nil
	}
	pt, err := e.passTimesOf(j)
	if err != nil {
		return 0, err
	}
	cm, err := kernelModel(j)
	if err != nil {
		return 0, err
	}
	l := j.Layout
	p, nv := l.PP, l.VirtualStages
	m := sim.Time(j.Microbatches())
	// Per virtual stage: one micro-batch's forward and backward busy time.
	split := l.Schedule == ZBH1
	bwdOf := func(k model.LayerKind) sim.Time {
		if split {
			return pt.bin[k] + pt.wgt[k]
		}
		return pt.bwd[k]
	}
	fwd := make([]sim.Time, p*nv)
	bwd := make([]sim.Time, p*nv)
	wgt := make([]sim.Time, p*nv)
	first := 0
	for vs := range fwd {
		n := j.LayersOf(vs)
		if vs == 0 {
			fwd[vs] += pt.fwd[model.EmbeddingLayer]
			bwd[vs] += bwdOf(model.EmbeddingLayer)
			wgt[vs] += pt.wgt[model.EmbeddingLayer]
		}
		for i := 0; i < n; i++ {
			k := j.Model.KindOf(first + i)
			fwd[vs] += pt.fwd[k]
			bwd[vs] += bwdOf(k)
			wgt[vs] += pt.wgt[k]
		}
		first += n
		if vs == p*nv-1 {
			fwd[vs] += pt.fwd[model.LogitsLayer]
			bwd[vs] += bwdOf(model.LogitsLayer)
			wgt[vs] += pt.wgt[model.LogitsLayer]
		}
	}
	// Under a zero-bubble schedule the backward chain carries B only, and
	// stage s may run W passes after its last B (trailing[s] of them):
	// after that B, micro-batch m−1 still goes backward through s−1…0.
	trailing := make([]sim.Time, p)
	if split {
		for s := range trailing {
			prog := program(l.Schedule, p, nv, int(m), s)
			for i := len(prog) - 1; i >= 0 && prog[i].weight; i-- {
				trailing[s] += wgt[prog[i].chunk*p+s]
			}
		}
	}
	if first != j.Model.Layers {
		return 0, fmt.Errorf("parallelism: %d layers placed of %d", first, j.Model.Layers)
	}
	steps := sim.Time(j.Training.Steps)
	sh := j.shard()
	var best sim.Time
	var pre, post sim.Time // F_s and B_s
	for s := 0; s < p; s++ {
		if s > 0 {
			pre += fwd[s-1]
			post += bwd[s-1]
			if split {
				post -= wgt[s-1]
			}
		}
		var w sim.Time
		for c := 0; c < nv; c++ {
			w += m * (fwd[c*p+s] + bwd[c*p+s])
		}
		params := j.stageParams(s)
		shard := params
		if l.ZeRO >= 1 {
			shard /= float64(l.DP)
		}
		buffer := params
		if l.ZeRO >= 2 {
			buffer = shard
		}
		t, _, _ := cm.Sum(model.OptimizerOps(shard, buffer, sh))
		w += toTime(t)
		best = max(best, steps*w+pre+max(0, post-trailing[s]))
	}
	return units.Seconds(best.Seconds() / float64(steps)), nil
}
