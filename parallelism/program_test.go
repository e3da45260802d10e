package parallelism

import (
	"fmt"
	"math"
	"reflect"
	"testing"

	"trainsim/mesh"
	"trainsim/model"
	"trainsim/units"
)

// TestHandProgram replays a layer program written by hand — one GEMM, then
// one tensor-parallel all-reduce of S bytes — through the builder that
// replays a model's programs, and checks the step against times worked out
// by hand: GPT-3's layout is irrelevant here (handPlan: no other layer does
// anything, the layout's collectives move nothing, the optimizer takes no
// time), PP = DP = 1, TP = 8 on one DGX A100 node, one layer, one
// micro-batch, one step.
//
// The GEMM's time G is the compute model's for that one op (it is priced and
// tested in package compute). The all-reduce's is either NCCL's measured
// time on an A100 NVSwitch node (collective.A100AllReduce, which the replay
// uses on A100 nodes; the buffers here are rows of that table: 4 MiB 95.8
// µs, 64 MiB 579.9 µs, 1 GiB 8193.0 µs) or, with the measured curve taken
// away, the ring's closed form over n = 8 GPUs of one NVSwitch node,
// written out here:
//
//	AR = 2(n−1)/n · S / (B·f) + 2(n−1)·α
//
// with B the NVLink rate × 0.78 (the NCCL bus bandwidth reached inside a
// node), f = c/(c + min(c, 512 KiB)) the size factor of one ring step moving
// a chunk c = S/n, and α the NVLink latency. Each GPU sends 2(n−1)/n · S.
//
// Serial (the step not Overlappable, or tp_overlap off): the GPU runs the
// GEMM and then waits for the all-reduce, so the step is G + AR, all of AR
// exposed.
//
// Overlapped (Overlappable and tp_overlap): emit() puts the all-reduce on
// the TP stream, free to start when the GEMM starts, and makes the next
// main-stream task wait for it; the GPU is done with both at max(G, AR).
// While it runs, the all-reduce's kernels take CommSMs of the GPU's SMs from
// the computation: comm() charges CommSMs/SMs × AR of compute time, and
// comp() adds it to the *next* compute task of the lane, not to the GEMM
// already emitted. Here the next compute task is the optimizer step (0 in
// the hand plan), which build() runs after the barrier, itself after both
// streams are done. So the step is
//
//	max(G, AR) + (CommSMs/SMs)·AR,
//
// the contention shows as optimizer time, and only AR − G (if positive) is
// exposed TP time.
func TestHandProgram(t *testing.T) {
	const n = 8
	gemm := model.Op{Name: "gemm", Class: model.GEMM, Batch: 1, M: 8192, N: 8192, K: 8192,
		FLOPs: 2 * 8192 * 8192 * 8192, Bytes: 3 * 8192 * 8192 * 2, Linear: true}
	tests := []struct {
		name                    string
		S                       units.Bytes
		overlappable, tpOverlap bool
		overlapped              bool    // what the replay should do
		measured                float64 // NCCL's measured time (µs), 0: the formula
	}{
		{"serial, all-reduce shorter", 64 * units.MiB, false, false, false, 0},
		{"serial, all-reduce longer", 1024 * units.MiB, false, false, false, 0},
		{"marked overlappable, tp_overlap off", 64 * units.MiB, true, false, false, 0},
		{"tp_overlap on, step not overlappable", 64 * units.MiB, false, true, false, 0},
		{"overlapped, GEMM longer", 64 * units.MiB, true, true, true, 0},
		{"overlapped, all-reduce longer", 1024 * units.MiB, true, true, true, 0},
		{"overlapped, small all-reduce", 4 * units.MiB, true, true, true, 0},
		{"measured, serial", 64 * units.MiB, false, false, false, 579.9},
		{"measured, serial, all-reduce longer", 1024 * units.MiB, false, false, false, 8193.0},
		{"measured, overlapped, all-reduce longer", 1024 * units.MiB, true, true, true, 8193.0},
		{"measured, overlapped, small all-reduce", 4 * units.MiB, true, true, true, 95.8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := gpt3Job(t, 1, Layout{TP: n, PP: 1, DP: 1, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeNone, TPOverlap: tc.tpOverlap}, 1)
			j.Model.Layers = 1
			j.Training.Precision = units.BF16
			pr, err := newPricer(j)
			if err != nil {
				t.Fatal(err)
			}
			if pr.coll.Params.NVLinkAllReduce == nil {
				t.Fatal("an A100 node without NCCL's measured all-reduce")
			}
			if tc.measured == 0 {
				pr.coll.Params.NVLinkAllReduce = nil
			}
			prog := model.Program{
				{Name: "gemm", Kind: model.Compute, Ops: []model.Op{gemm}},
				{Name: "gemm tp all-reduce", Kind: model.Collective, Comm: model.AllReduce, Group: mesh.TP, Bytes: tc.S, Overlappable: tc.overlappable},
			}
			pl := handPlan(pr, model.Layer{})
			pl.layers[model.TransformerLayer].fwd = pr.compile(prog)
			r, err := runPlan(j, pr, pl, nil)
			if err != nil {
				t.Fatal(err)
			}
			res := r.result()

			g, _ := pr.cm.Time(gemm)
			G := float64(g)
			// The ring all-reduce by hand.
			if f := pr.coll.Params.NVLinkFraction; f != 0.78 {
				t.Fatalf("NVLink fraction %g: the hand computation assumes 0.78", f)
			}
			if h := pr.coll.Params.HalfBandwidthBytes; h != 512*units.KiB {
				t.Fatalf("half-bandwidth size %v: the hand computation assumes 512 KiB", h)
			}
			S := float64(tc.S)
			B := float64(j.Cluster.NVLink.Bandwidth) * 0.78
			c := S / n
			f := c / (c + math.Min(c, 512*1024))
			alpha := float64(j.Cluster.NVLink.Latency)
			AR := 2*(n-1)/float64(n)*S/(B*f) + 2*(n-1)*alpha
			if tc.measured > 0 {
				AR = tc.measured * 1e-6
			}
			slow := float64(pr.cm.Params.CommSMs) / float64(j.Cluster.GPU.SMs) // 8 of 108 SMs on an A100

			want, wantTP, wantOpt := G+AR, AR, 0.0
			if tc.overlapped {
				want, wantTP, wantOpt = math.Max(G, AR)+slow*AR, math.Max(0, AR-G), slow*AR
			}
			// Durations are rounded to the nanosecond, each on its own.
			const tol = 3e-9
			if got := float64(res.StepTime); math.Abs(got-want) > tol {
				t.Errorf("step %.9f s, want %.9f s (G %.9f, AR %.9f)", got, want, G, AR)
			}
			if got := float64(res.Breakdown.TP); math.Abs(got-wantTP) > tol {
				t.Errorf("exposed TP %.9f s, want %.9f s", got, wantTP)
			}
			if got := float64(res.Breakdown.Optimizer); math.Abs(got-wantOpt) > tol {
				t.Errorf("optimizer (overlap contention) %.9f s, want %.9f s", got, wantOpt)
			}
			if got := float64(res.Breakdown.Compute); math.Abs(got-G) > tol {
				t.Errorf("compute %.9f s, want the GEMM's %.9f s", got, G)
			}
			if got, want := float64(res.Comm["tp"].Bytes), 2*(n-1)/float64(n)*S; got != want {
				t.Errorf("TP bytes sent per GPU %g, want 2(n−1)/n·S = %g", got, want)
			}
		})
	}
}

// programCase is one way of splitting a model's layer over its GPUs.
type programCase struct {
	model string
	tp    int
	sp    bool
	mb    int
	attn  model.Attention
	rec   Recompute
	prec  units.Precision
}

func (c programCase) String() string {
	return fmt.Sprintf("%s tp%d sp=%v mb%d %s recompute=%s %s", c.model, c.tp, c.sp, c.mb, c.attn, c.rec, c.prec)
}

// programCases spans models (GPT-3 175B; Llama 3 8B with grouped-query
// attention and a gated MLP; Llama 2 7B, gated without GQA), TP 1, 2 and 8,
// sequence parallelism on and off, micro-batches 1 and 4, both attention
// kernels, the three recomputation policies and 16- and 8-bit precision.
func programCases() []programCase {
	var out []programCase
	for _, m := range []string{"gpt3-175b", "llama3-8b", "llama2-7b"} {
		for _, tp := range []int{1, 2, 8} {
			for _, sp := range []bool{false, true} {
				if sp && tp == 1 {
					continue
				}
				for _, mb := range []int{1, 4} {
					for _, attn := range []model.Attention{model.AttentionUnfused, model.AttentionFlash} {
						for _, rec := range []Recompute{RecomputeNone, RecomputeSelective, RecomputeFull} {
							for _, prec := range []units.Precision{units.BF16, units.FP8} {
								out = append(out, programCase{m, tp, sp, mb, attn, rec, prec})
							}
						}
					}
				}
			}
		}
	}
	return out
}

// layers returns c's model and its layer programs as the job's shard has
// them.
func (c programCase) layers(t *testing.T) (model.Config, [model.NumLayerKinds]model.Layer) {
	t.Helper()
	m, ok := model.Preset(c.model)
	if !ok {
		t.Fatalf("no preset %s", c.model)
	}
	j := Job{Model: m,
		Layout:   Layout{TP: c.tp, PP: 1, DP: 1, CP: 1, EP: 1, Microbatch: c.mb, SequenceParallel: c.sp, Recompute: c.rec},
		Training: Training{Attention: c.attn, Precision: c.prec}}
	return m, m.Programs(j.Shard())
}

// programFLOPs sums the FLOPs of a program's compute steps: all of them, and
// those of linear layers.
func programFLOPs(p model.Program) (all, linear float64) {
	for _, st := range p {
		if st.Kind != model.Compute {
			continue
		}
		for _, op := range st.Ops {
			all += float64(op.FLOPs)
			if op.Linear {
				linear += float64(op.FLOPs)
			}
		}
	}
	return all, linear
}

// TestProgramFLOPs checks the layer programs' arithmetic against the
// closed-form count of package model, which does not go through them:
//
//   - Forward: (layers × the transformer layer's forward + the embedding's
//     and the logits layer's forward) × TP equals Config.ForwardFLOPs of
//     the micro-batch (each TP rank does 1/TP of every GEMM).
//   - Backward: the linear layers' GEMMs cost twice their forward (an input
//     gradient and a weight gradient, each the forward's size), and so does
//     the logits GEMM. The attention core's backward is 2× its forward when
//     unfused (four batched GEMMs for two); flash attention's recomputes
//     the scores, 2.5× (five s×s×d products for two), so the layer's
//     backward is 2× its forward + ½ of the core's forward, 4·b·s²·h/TP.
//   - Recompute: nothing without recomputation; under selective, one
//     compute step, the attention core, 4·b·s²·h/TP FLOPs and no
//     collective; under full, the forward program itself.
func TestProgramFLOPs(t *testing.T) {
	const rel = 1e-9
	near := func(a, b float64) bool { return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b)) }
	for _, c := range programCases() {
		m, ls := c.layers(t)
		tl, emb, lg := ls[model.TransformerLayer], ls[model.EmbeddingLayer], ls[model.LogitsLayer]
		fwd, fwdLin := programFLOPs(tl.Forward)
		bwd, bwdLin := programFLOPs(tl.Backward)
		ef, _ := programFLOPs(emb.Forward)
		lf, _ := programFLOPs(lg.Forward)
		lb, _ := programFLOPs(lg.Backward)
		tp := float64(c.tp)

		got := (float64(m.Layers)*fwd + ef + lf) * tp
		if want := float64(m.ForwardFLOPs(c.mb)); !near(got, want) {
			t.Errorf("%v: forward programs × TP = %.6g FLOPs, Config.ForwardFLOPs = %.6g", c, got, want)
		}
		if fwdLin <= 0 || !near(bwdLin, 2*fwdLin) {
			t.Errorf("%v: linear backward %.6g FLOPs, want 2 × forward %.6g", c, bwdLin, fwdLin)
		}
		if lf <= 0 || !near(lb, 2*lf) {
			t.Errorf("%v: logits backward %.6g FLOPs, want 2 × forward %.6g", c, lb, lf)
		}
		b, s, h := float64(c.mb), float64(m.SeqLen), float64(m.Hidden)
		core := 4 * b * s * s * h / tp // scores and context, by hand
		want := 2 * fwd
		if c.attn == model.AttentionFlash {
			want += core / 2
		}
		if !near(bwd, want) {
			t.Errorf("%v: layer backward %.6g FLOPs, want %.6g (forward %.6g)", c, bwd, want, fwd)
		}

		switch c.rec {
		case RecomputeNone:
			if len(tl.Recompute) != 0 {
				t.Errorf("%v: recompute program %d steps, want none", c, len(tl.Recompute))
			}
		case RecomputeSelective:
			rf, _ := programFLOPs(tl.Recompute)
			if len(tl.Recompute) != 1 || tl.Recompute[0].Kind != model.Compute || !near(rf, core) {
				t.Errorf("%v: recompute %d steps of %.6g FLOPs, want the attention core: one compute step of %.6g", c, len(tl.Recompute), rf, core)
			}
		case RecomputeFull:
			if !reflect.DeepEqual(tl.Recompute, tl.Forward) {
				t.Errorf("%v: recompute program differs from the forward", c)
			}
		}
		for _, k := range []model.LayerKind{model.EmbeddingLayer, model.LogitsLayer} {
			if r := ls[k].Recompute; len(r) != 0 {
				t.Errorf("%v: the %s layer recomputes %d steps, want none", c, k, len(r))
			}
		}
	}
}

// TestProgramCollectives checks the collective steps of every program of
// every layer kind: each runs over the tensor-parallel group, moves one
// activation of the micro-batch (b·s·h elements of 2 bytes), and appears only
// when TP > 1. In the transformer layer each block (attention, MLP; forward,
// backward, recomputed forward) is one compute step followed by its
// collectives: one all-reduce, or with sequence parallelism one
// reduce-scatter and one all-gather of equal bytes; they may overlap the
// block. The embedding's output and the gradient of the logits' input are
// all-reduced whole, not overlapped, with or without sequence parallelism.
func TestProgramCollectives(t *testing.T) {
	for _, c := range programCases() {
		m, ls := c.layers(t)
		act := units.Bytes(float64(c.mb) * float64(m.SeqLen) * float64(m.Hidden) * 2)
		for _, l := range ls {
			passes := map[string]model.Program{"forward": l.Forward, "backward": l.Backward, "recompute": l.Recompute}
			for pass, prog := range passes {
				where := fmt.Sprintf("%v: %s %s", c, l.Kind, pass)
				var colls []model.Step
				for _, st := range prog {
					if st.Kind != model.Collective {
						continue
					}
					colls = append(colls, st)
					if st.Bytes <= 0 || st.Bytes != act {
						t.Errorf("%s: %q moves %v, want one activation, %v", where, st.Name, st.Bytes, act)
					}
					if st.Group != mesh.TP {
						t.Errorf("%s: %q runs over mesh dimension %v, want TP", where, st.Name, st.Group)
					}
				}
				if c.tp == 1 {
					if len(colls) > 0 {
						t.Errorf("%s: %d collectives at TP 1, want none", where, len(colls))
					}
					continue
				}
				if l.Kind != model.TransformerLayer || len(prog) == 0 {
					continue
				}
				if pass == "recompute" && c.rec == RecomputeSelective {
					if len(colls) > 0 {
						t.Errorf("%s: selective recomputation runs %d collectives, want none", where, len(colls))
					}
					continue
				}
				blks := blocks(prog)
				if len(blks) != 2 {
					t.Errorf("%s: %d blocks, want 2 (attention and MLP)", where, len(blks))
				}
				for i, blk := range blks {
					want := []model.CommOp{model.AllReduce}
					if c.sp {
						want = []model.CommOp{model.ReduceScatter, model.AllGather}
					}
					var ops []model.CommOp
					for _, st := range blk {
						ops = append(ops, st.Comm)
						if !st.Overlappable {
							t.Errorf("%s block %d: %q is not overlappable", where, i, st.Name)
						}
					}
					if !reflect.DeepEqual(ops, want) {
						t.Errorf("%s block %d: collectives %v, want %v", where, i, ops, want)
					}
					if c.sp && len(blk) == 2 && blk[0].Bytes != blk[1].Bytes {
						t.Errorf("%s block %d: reduce-scatter %v, all-gather %v: want equal", where, i, blk[0].Bytes, blk[1].Bytes)
					}
				}
			}
		}
		if c.tp > 1 {
			for _, p := range []struct {
				kind model.LayerKind
				prog model.Program
			}{{model.EmbeddingLayer, ls[model.EmbeddingLayer].Forward}, {model.LogitsLayer, ls[model.LogitsLayer].Backward}} {
				blks := blocks(p.prog)
				if len(blks) != 1 || len(blks[0]) != 1 || blks[0][0].Comm != model.AllReduce || blks[0][0].Overlappable {
					t.Errorf("%v: %s layer: collectives %v, want one all-reduce after its compute, not overlappable", c, p.kind, blks)
				}
			}
		}
	}
}

// blocks splits a program at its compute steps: the collectives after each
// compute step, in order. A program that does not start with a compute step
// gets an empty first block for what precedes it.
func blocks(p model.Program) [][]model.Step {
	var out [][]model.Step
	for i, st := range p {
		if st.Kind == model.Compute {
			out = append(out, nil)
			continue
		}
		if i == 0 {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], st)
	}
	return out
}
