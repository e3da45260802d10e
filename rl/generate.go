package rl

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"trainsim/collective"
	"trainsim/compute"
	"trainsim/mesh"
	"trainsim/model"
	"trainsim/units"
)

// ResponseLengths returns the lengths of n responses of mean tokens, none
// longer than longest: the quantiles longest·u^p at u = (i + ½)/n, with p =
// longest/mean − 1 so that the continuous mean is exactly mean (∫₀¹ u^p du =
// 1/(p+1)). p = 0 makes every response longest tokens (DeepSpeed-Chat's
// fixed-length answers); a mean far below the longest gives the long tail of
// reasoning responses, where a few sequences run to the cap. Rounded to
// whole tokens, at least one.
func ResponseLengths(n, mean, longest int) []int {
	out := make([]int, n)
	p := float64(longest)/float64(mean) - 1
	for i := range out {
		u := (float64(i) + 0.5) / float64(n)
		out[i] = min(max(int(math.Round(float64(longest)*math.Pow(u, p))), 1), longest)
	}
	return out
}

// pricer prices programs on one GPU of a pool.
type pricer struct {
	cm   compute.Model
	coll collective.Model
	prec units.Precision
	// eager prices the scoring passes with the training framework's eager
	// element-wise kernels (training.eager_elementwise: the reference,
	// reward and critic models run in the same Hugging Face modules as the
	// training); the engine's prefill never.
	eager bool
	// skew and capacity are the training layout's routing skew and
	// capacity factor (moe.skew, moe.capacity_factor): the scoring passes
	// that run in the training layout's expert parallelism route as the
	// training does, the hottest rank gating each MoE layer.
	skew, capacity float64
}

// cost is what a program (or a run of them) took on one GPU.
type cost struct {
	Compute, Comm units.Seconds
	// HBM and TensorCores split Compute by what bounded each kernel.
	HBM, TensorCores units.Seconds
	// Host is the engine's host time between iterations, the GPU idle
	// (Config.HostOverhead per iteration).
	Host  units.Seconds
	FLOPs units.FLOPs
	Bytes units.Bytes
}

func (c *cost) add(o cost, times float64) {
	c.Compute += o.Compute * units.Seconds(times)
	c.Comm += o.Comm * units.Seconds(times)
	c.HBM += o.HBM * units.Seconds(times)
	c.TensorCores += o.TensorCores * units.Seconds(times)
	c.Host += o.Host * units.Seconds(times)
	c.FLOPs += o.FLOPs * units.FLOPs(times)
	c.Bytes += o.Bytes * units.Bytes(times)
}

// group is the placement of a tensor-parallel group of tp GPUs.
func (p pricer) group(tp int) collective.Placement {
	per := p.coll.Cluster.GPUsPerNode
	return collective.Placement{Ranks: tp, PerNode: min(tp, per)}
}

// program prices prog on one GPU: its kernels one after the other, its
// collectives over a tensor-parallel group of tp (the expert-parallel ones
// over ep GPUs), none overlapped (an inference engine runs them in order on
// one stream).
func (p pricer) program(prog model.Program, tp, ep int) (cost, error) {
	var c cost
	for _, st := range prog {
		switch st.Kind {
		case model.Compute:
			for _, op := range st.Ops {
				t, lim := p.cm.Time(op)
				c.Compute += t
				if lim == compute.HBM {
					c.HBM += t
				} else {
					c.TensorCores += t
				}
				c.FLOPs += op.FLOPs
				c.Bytes += op.Bytes
			}
		case model.Collective:
			pl := p.group(tp)
			if st.Group == mesh.EP {
				pl = p.group(ep)
			}
			k, err := p.coll.Time(collective.Op(st.Comm), st.Bytes, pl)
			if err != nil {
				return c, fmt.Errorf("%s: %w", st.Name, err)
			}
			c.Comm += k.Time
		}
	}
	return c, nil
}

// layers prices one pass over the whole model from its per-kind programs:
// the embedding, every transformer or MoE layer, and (when logits) the
// output layer.
func (p pricer) layers(m model.Config, progs [model.NumLayerKinds]model.Layer, tp, ep int, logits bool) (cost, error) {
	var c cost
	var times [model.NumLayerKinds]int
	times[model.EmbeddingLayer] = 1
	for i := range m.Layers {
		times[m.KindOf(i)]++
	}
	if logits {
		times[model.LogitsLayer] = 1
	}
	for _, kind := range []model.LayerKind{model.EmbeddingLayer, model.TransformerLayer, model.MoELayer, model.LocalTransformerLayer, model.LocalMoELayer, model.LogitsLayer} {
		if times[kind] == 0 {
			continue
		}
		k, err := p.program(progs[kind].Forward, tp, ep)
		if err != nil {
			return c, err
		}
		c.add(k, float64(times[kind]))
	}
	return c, nil
}

// forward prices a forward pass of m over seqs sequences of tokens each on
// a tensor-parallel group of tp: prefill, and (scoring) the scoring passes.
//
// ep > 1 spreads a mixture-of-experts model's experts over ep GPUs, each
// running the pass on its own sequences and the experts it holds for all
// of the group's tokens, with the dispatch and combine all-to-alls between
// (the scoring passes of a policy trained with expert parallelism, which
// the framework runs in the training layout, with its routing skew).
func (p pricer) forward(m model.Config, seqs, tokens, tp, ep int, logits, scoring bool) (cost, error) {
	m.SeqLen = tokens
	if !m.MoE() {
		ep = 1
	}
	sh := model.Shard{TP: tp, EP: ep, Microbatch: seqs, Attention: model.AttentionFlash, Precision: p.precision(), Eager: scoring && p.eager}
	if scoring && ep > 1 {
		sh.Skew, sh.CapacityFactor = p.skew, p.capacity
	}
	return p.layers(m, m.Programs(sh), tp, ep, logits)
}

// decode prices one decode iteration of batch sequences whose KV caches
// hold context tokens in all.
func (p pricer) decode(m model.Config, batch, context, tp int) (cost, error) {
	progs := m.DecodePrograms(model.DecodeShard{TP: tp, Batch: batch, Context: context, Precision: p.precision()})
	return p.layers(m, progs, tp, 1, true)
}

func (p pricer) precision() units.Precision { return p.prec }

// segment is a run of an engine's work that the replay makes one task (and
// one for its tensor-parallel collectives): a prefill of the sequences
// admitted together, or Iters decode iterations over an unchanged batch.
type segment struct {
	Prefill bool
	Batch   int
	Iters   int
	Cost    cost
	// PaddedIters (static batching) is the iterations of the segment in
	// which at most half of its batch still had tokens to produce: the rest
	// waited, as padding, for the longest responses.
	PaddedIters int
}

// engineRun is what one inference-engine replica did with its sequences.
type engineRun struct {
	Segments []segment
	// Slots is the most sequences it ran at once; PeakTokens the most KV
	// tokens it held.
	Slots, PeakTokens int
	Tokens            int // generated
}

// generate plays one engine replica over its responses (lengths, in queue
// order) with prompts of prompt tokens: admissions, prefills and decode
// segments, each segment ending when a sequence finishes. slots bounds the
// sequences running at once; capacity the KV tokens the engine holds.
//
// Every iteration, prefill or decode, also pays host + perSeq × (its
// sequences) of host time with the GPU idle (a synchronous engine loop:
// schedule, run, copy the sampled tokens back, process the outputs, then
// schedule the next).
func (p pricer) generate(m model.Config, lengths []int, prompt, slots, capacity, tp int, batching Batching, host, perSeq units.Seconds) (engineRun, error) {
	type seq struct{ left, ctx, reserve int }
	var run engineRun
	var active []seq
	next := 0
	reserved := 0
	for next < len(lengths) || len(active) > 0 {
		// Admit: continuous batching whenever there is room; static only
		// into an empty engine.
		if batching == Continuous || len(active) == 0 {
			n := 0
			for next < len(lengths) && len(active) < slots {
				r := prompt + lengths[next]
				if reserved+r > capacity && len(active) > 0 {
					break
				}
				active = append(active, seq{left: lengths[next], ctx: prompt, reserve: r})
				reserved += r
				next++
				n++
			}
			if n > 0 {
				c, err := p.forward(m, n, prompt, tp, 1, false, false)
				if err != nil {
					return run, err
				}
				c.Host = host + perSeq*units.Seconds(n)
				run.Segments = append(run.Segments, segment{Prefill: true, Batch: n, Iters: 1, Cost: c})
			}
		}
		if len(active) == 0 {
			return run, fmt.Errorf("no sequence fits the KV cache (%d tokens) of an engine", capacity)
		}
		run.Slots = max(run.Slots, len(active))
		run.PeakTokens = max(run.PeakTokens, reserved)
		// Decode until the next sequence finishes (static: the longest).
		k := active[0].left
		for _, s := range active {
			if batching == Static {
				k = max(k, s.left)
			} else {
				k = min(k, s.left)
			}
		}
		b := len(active)
		sumCtx := 0
		for _, s := range active {
			sumCtx += s.ctx
		}
		// The segment's iterations read on average the context at its
		// middle: Σ over its k iterations of (ctx + i) per sequence.
		mean := sumCtx + b*(k-1)/2
		c, err := p.decode(m, b, mean, tp)
		if err != nil {
			return run, err
		}
		c.Host = host + perSeq*units.Seconds(b)
		var seg cost
		seg.add(c, float64(k))
		padded := 0
		if batching == Static {
			lefts := make([]int, b)
			for i, s := range active {
				lefts[i] = s.left
			}
			sort.Sort(sort.Reverse(sort.IntSlice(lefts)))
			// Iteration i has #{left > i} sequences still producing: at
			// most half the batch from the (⌊b/2⌋+1)-th longest on.
			padded = k - lefts[b/2]
		}
		run.Segments = append(run.Segments, segment{Batch: b, Iters: k, Cost: seg, PaddedIters: padded})
		keep := active[:0]
		for _, s := range active {
			run.Tokens += min(k, s.left)
			s.left -= k
			s.ctx += k
			if s.left > 0 {
				keep = append(keep, s)
			} else {
				reserved -= s.reserve
			}
		}
		active = keep
	}
	return run, nil
}

// deal orders n responses of the given lengths in a queue shuffled by seed
// and deals them round-robin to replicas engines.
func deal(lengths []int, replicas int, seed uint64) [][]int {
	order := append([]int(nil), lengths...)
	sort.Ints(order)
	rng := rand.New(rand.NewPCG(seed, 0x5eed_0f_71))
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	out := make([][]int, replicas)
	for i, l := range order {
		out[i%replicas] = append(out[i%replicas], l)
	}
	return out
}
