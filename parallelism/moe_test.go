package parallelism

import (
	"math"
	"strings"
	"testing"

	"trainsim/model"
	"trainsim/topology"
	"trainsim/units"
)

// smallMoE is a four-layer mixture-of-experts model small enough to count
// by hand: h = 1024, 8 heads (no GQA), SwiGLU, a dense first layer of ffn
// 4096, then three MoE layers of 16 experts of width 512, top-2, one shared
// expert; 1024-token sequences, vocabulary 32000.
func smallMoE() model.Config {
	return model.Config{
		Name: "small-moe", Layers: 4, Hidden: 1024, Heads: 8, KVHeads: 8, FFNHidden: 4096, SeqLen: 1024, Vocab: 32000,
		GatedMLP: true, Experts: 16, TopK: 2, MoEFFNHidden: 512, SharedExperts: 1, DenseLayers: 1,
	}
}

// moeJob runs smallMoE on two DGX H100 nodes (16 GPUs): TP 1, PP pp, DP
// 16/pp, EP ep, ETP etp, BF16, micro-batch 1, global batch 32, ZeRO-1.
func moeJob(t testing.TB, pp, ep, etp int) Job {
	t.Helper()
	sys, ok := topology.SystemPreset("dgx-h100")
	if !ok {
		t.Fatal("no dgx-h100 preset")
	}
	l := Layout{TP: 1, PP: pp, CP: 1, EP: ep, ETP: etp, DP: 16 / pp, Microbatch: 1, Schedule: OneFOneB, VirtualStages: 1,
		Recompute: RecomputeNone, ZeRO: 1, OverlapGradReduce: true, PPOverlap: true}
	return Job{
		Model: smallMoE(), Cluster: topology.Cluster{System: sys, Nodes: 2}, Layout: l,
		Training: Training{GlobalBatch: 32, Precision: units.BF16, Steps: 1, Attention: model.AttentionFlash},
		Options:  Options{Network: NetworkAnalytical, Ranks: RanksSymmetric},
	}
}

// Hand counts of smallMoE's parameters (h = 1024; no linear biases, so its
// norms are RMSNorm gains, docs/model.md §7.29):
//   - attention: Q, K, V, O weights 4h² = 4,194,304;
//   - two RMSNorm gains: 2h = 2,048;
//   - the dense SwiGLU MLP: 3·h·4096 weights = 12,582,912;
//   - one expert (and the shared expert): 3·h·512 = 1,572,864;
//   - the router: h·16 = 16,384;
//   - the token embedding: 32000·h = 32,768,000 (rotary positions: no
//     position table, docs/model.md §7.29).
const (
	handAttn      = 4 * 1024 * 1024
	handNorms     = 2 * 1024
	handDenseMLP  = 3 * 1024 * 4096
	handExpert    = 3 * 1024 * 512
	handRouter    = 1024 * 16
	handEmbedding = 32000 * 1024
	// One MoE layer's part every rank holds whole (TP 1): attention, norms,
	// router, shared expert; and its routed experts.
	handMoEDense   = handAttn + handNorms + handRouter + handExpert
	handMoEExperts = 16 * handExpert
	handDenseLayer = handAttn + handNorms + handDenseMLP
)

func TestMoEParamsByHand(t *testing.T) {
	m := smallMoE()
	if got, want := m.Params(), int64(handDenseLayer+3*(handMoEDense+handMoEExperts)+handEmbedding+1024); got != want {
		t.Errorf("Params %d, want %d", got, want)
	}
	// A token uses 2 of the 16 routed experts.
	if got, want := m.ActiveParams(), int64(handDenseLayer+3*(handMoEDense+2*handExpert)+handEmbedding+1024); got != want {
		t.Errorf("ActiveParams %d, want %d", got, want)
	}
}

// TestMoEDenseFirstLayers: dense_layers = 1 leaves 3 MoE layers; with PP 2
// (2 layers a stage) the first stage holds 1, the second 2.
func TestMoEDenseFirstLayers(t *testing.T) {
	m := smallMoE()
	kinds := []model.LayerKind{model.TransformerLayer, model.MoELayer, model.MoELayer, model.MoELayer}
	for i, want := range kinds {
		if got := m.KindOf(i); got != want {
			t.Errorf("layer %d is %s, want %s", i, got, want)
		}
	}
	if m.MoELayers() != 3 {
		t.Errorf("MoELayers %d, want 3", m.MoELayers())
	}
	j := moeJob(t, 2, 4, 1)
	if a, b := j.stageMoELayers(0), j.stageMoELayers(1); a != 1 || b != 2 {
		t.Errorf("MoE layers per stage %d, %d; want 1, 2", a, b)
	}
}

// TestMoEAllToAllBytesByHand: a rank routes its 1024 tokens to 2 experts
// each, h = 1024 elements of 2 bytes: a 4 MiB dispatch buffer, of which it
// sends the (ep−1)/ep that belongs to other ranks: 3 MiB with EP 4, 3.75
// MiB with EP 16 (half of it, 2 MiB, through the NIC to the other node).
// Per step: 3 MoE layers × 2 micro-batches (32 sequences over DP 16) × 4
// all-to-alls (dispatch and combine, forward and backward), plus each
// forward's all-gather of the token counts, 16 experts × 8 B from each of
// the ep ranks, of which a rank sends its 128 B to the ep − 1 others.
func TestMoEAllToAllBytesByHand(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		ep   int
		sent units.Bytes // per all-to-all
	}{{4, 3 * mib}, {8, 3.5 * mib}, {16, 3.75 * mib}} {
		j := moeJob(t, 1, tc.ep, 1)
		if got := j.Model.DispatchBytes(j.Shard()); got != 4*mib {
			t.Errorf("ep %d: dispatch buffer %s, want 4 MiB", tc.ep, got)
		}
		res := simulate(t, j)
		counts := units.Bytes(16 * 8 * (tc.ep - 1))
		if got, want := res.Comm["ep"].Bytes, 3*2*(4*tc.sent+counts); got != want {
			t.Errorf("ep %d: expert-parallel bytes per step %s, want %s", tc.ep, got, want)
		}
		if res.Comm["ep"].Total <= 0 {
			t.Errorf("ep %d: no expert-parallel transfer time", tc.ep)
		}
	}
	// EP 16 spans both nodes: each all-to-all's share for the other node
	// (8 of 16 shares) goes through the NIC, slower than NVLink, so the
	// expert traffic takes longer than inside one node with EP 8.
	in, across := simulate(t, moeJob(t, 1, 8, 1)), simulate(t, moeJob(t, 1, 16, 1))
	if across.Comm["ep"].Total <= in.Comm["ep"].Total {
		t.Errorf("EP 16 across nodes %v, EP 8 inside a node %v: crossing the fabric should cost more", across.Comm["ep"].Total, in.Comm["ep"].Total)
	}
}

// TestMoEMemoryByHand checks the weights, gradients and optimizer state of
// one GPU against the hand counts: dense parts on every rank (ZeRO-1 shards
// their optimizer state over DP 16), routed experts 16/(EP·ETP) per rank,
// their optimizer state sharded over the expert data-parallel group
// 16/(EP·ETP). 2 B weights, 4 B fp32 gradients, 12 B Adam state.
func TestMoEMemoryByHand(t *testing.T) {
	for _, tc := range []struct{ ep, etp int }{{4, 1}, {8, 1}, {4, 2}, {16, 1}} {
		j := moeJob(t, 1, tc.ep, tc.etp)
		dense := float64(handDenseLayer + 3*handMoEDense + handEmbedding)
		experts := 3 * float64(handMoEExperts) / float64(tc.ep*tc.etp)
		edp := 16 / float64(tc.ep*tc.etp)
		mem := j.stageMemory(0, 1)
		check := func(what string, got units.Bytes, want float64) {
			if math.Abs(float64(got)-want) > 0.5 {
				t.Errorf("ep %d etp %d: %s %.0f B, want %.0f B", tc.ep, tc.etp, what, float64(got), want)
			}
		}
		check("weights", mem.Weights, 2*(dense+experts))
		check("gradients", mem.Gradients, 4*(dense+experts))
		check("optimizer", mem.Optimizer, 12*dense/16+12*experts/edp)
		// FP8 keeps an FP8 copy and its transpose (2 B) of every linear
		// weight: the dense layer's 4h² + 3·h·4096, each MoE layer's
		// attention and shared expert 4h² + 3·h·512, and the rank's share
		// of the routed experts 16 × 3·h·512 / (EP·ETP).
		j.Training.Precision = units.FP8
		linear := float64(4*1024*1024+3*1024*4096) + 3*float64(4*1024*1024+3*1024*512) + 3*16*float64(3*1024*512)/float64(tc.ep*tc.etp)
		check("fp8 weights", j.stageMemory(0, 1).Weights, 2*(dense+experts)+2*linear)
	}
}

// TestMoESkew: with moe.skew 2 the hottest rank computes twice the expert
// tokens and sends twice the all-to-all bytes, and the step is slower; a
// capacity factor of 1.5 drops what exceeds 1.5× the balanced share.
func TestMoESkew(t *testing.T) {
	balanced := moeJob(t, 1, 8, 1)
	skewed := balanced
	skewed.Layout.Skew = 2
	capped := skewed
	capped.Layout.CapacityFactor = 1.5
	// 8 ranks × 1024 tokens × 2 copies over 16 experts = 1024 tokens each.
	for _, tc := range []struct {
		name   string
		j      Job
		tokens int
	}{{"balanced", balanced, 1024}, {"skew 2", skewed, 2048}, {"skew 2, capacity 1.5", capped, 1536}} {
		if got := tc.j.Model.ExpertTokens(tc.j.Shard()); got != tc.tokens {
			t.Errorf("%s: %d tokens per expert, want %d", tc.name, got, tc.tokens)
		}
	}
	rb, rs, rc := simulate(t, balanced), simulate(t, skewed), simulate(t, capped)
	if rs.StepTime <= rb.StepTime {
		t.Errorf("skew 2 step %v not slower than balanced %v", rs.StepTime, rb.StepTime)
	}
	if !(rc.StepTime > rb.StepTime && rc.StepTime < rs.StepTime) {
		t.Errorf("capacity 1.5 step %v should lie between balanced %v and skew 2 %v", rc.StepTime, rb.StepTime, rs.StepTime)
	}
	// The token-count all-gathers (3 layers × 2 micro-batches × 7 × 128 B)
	// do not grow with the skew; the all-to-alls double.
	counts := units.Bytes(3 * 2 * 7 * 128)
	if got, want := rs.Comm["ep"].Bytes, 2*(rb.Comm["ep"].Bytes-counts)+counts; got != want {
		t.Errorf("skew 2 expert bytes %s, want the all-to-alls twice balanced: %s", got, want)
	}
}

// TestMoESharedExpertFLOPs: one shared expert adds, per MoE layer and
// token, a SwiGLU MLP of width 512: 2·3·h·512 forward FLOPs, for 3 layers
// and a batch of one 1024-token sequence; the layer program's shared-expert
// GEMMs sum to the same per layer.
func TestMoESharedExpertFLOPs(t *testing.T) {
	with := smallMoE()
	without := with
	without.SharedExperts = 0
	per := 2.0 * 3 * 1024 * 512 * 1024 // per layer and sequence
	if got := float64(with.ForwardFLOPs(1) - without.ForwardFLOPs(1)); got != 3*per {
		t.Errorf("shared expert forward FLOPs %.0f, want %.0f", got, 3*per)
	}
	j := moeJob(t, 1, 4, 1)
	_, _, shared, _ := j.Model.MoEBlock(j.Shard())
	var got float64
	for _, op := range shared.Forward {
		got += float64(op.FLOPs)
	}
	if got != per {
		t.Errorf("shared-expert kernels %.0f FLOPs, want %.0f", got, per)
	}
}

// TestMoEOverlap: moe.overlap hides part of the all-to-alls behind
// computation: less exposed expert-parallel time, a step no slower.
func TestMoEOverlap(t *testing.T) {
	j := moeJob(t, 1, 16, 1)
	plain := simulate(t, j)
	j.Layout.MoEOverlap = true
	over := simulate(t, j)
	if over.Breakdown.EP >= plain.Breakdown.EP {
		t.Errorf("exposed EP %v with overlap, %v without", over.Breakdown.EP, plain.Breakdown.EP)
	}
	if over.StepTime > plain.StepTime {
		t.Errorf("step %v with overlap, %v without", over.StepTime, plain.StepTime)
	}
}

// TestMLAParamsByHand counts DeepSeek-V3's attention by hand (arXiv
// 2412.19437 §4.2: h 7168, 128 heads, d_c' 1536, d_c 512, per-head 128 +
// rotary 64, value 128): W^DQ 7168·1536, W^UQ 1536·128·192, W^DKV with the
// rotary key 7168·(512+64), W^UKV 512·128·(128+128), W^O 128·128·7168, and
// the two latent norms 1536 + 512 = 187,107,328.
func TestMLAParamsByHand(t *testing.T) {
	m, ok := model.Preset("deepseek-v3")
	if !ok {
		t.Fatal("no deepseek-v3 preset")
	}
	want := int64(7168*1536 + 1536*128*192 + 7168*576 + 512*128*256 + 128*128*7168 + 1536 + 512)
	dense := m
	dense.Experts, dense.TopK, dense.MoEFFNHidden, dense.SharedExperts, dense.DenseLayers = 0, 0, 0, 0, 0
	// One dense layer = attention + SwiGLU MLP of 18432 (no biases:
	// LinearBias false) + two RMSNorm gains.
	mlp := int64(3 * 7168 * 18432)
	if got := dense.LayerParams() - mlp - 2*7168; got != want {
		t.Errorf("MLA attention params %d, want %d", got, want)
	}
	// Its forward FLOPs per token: 2 per weight, plus scores and context
	// over 128 heads of 192 and 128 (s² each).
	s := float64(m.SeqLen)
	perLayer := 2*float64(want-2048) + 2*s*128*(192+128) + 2*3*7168*18432
	got := float64(dense.ForwardFLOPs(1)) - 2*s*7168*129280
	if rel := got/(s*61*perLayer) - 1; math.Abs(rel) > 1e-12 {
		t.Errorf("MLA forward FLOPs %.6g, want %.6g", got, s*61*perLayer)
	}
}

// TestHeadDim: Qwen3-30B-A3B's attention is 32 heads of 128 on h = 2048:
// Q and O are 2048 × 4096, K and V 2048 × 512 (4 KV heads).
func TestHeadDim(t *testing.T) {
	m, ok := model.Preset("qwen3-30b-a3b")
	if !ok {
		t.Fatal("no qwen3-30b-a3b preset")
	}
	m.Experts, m.TopK, m.MoEFFNHidden = 0, 0, 0
	mlp := int64(3 * 2048 * 6144)
	want := int64(2*2048*4096 + 2*2048*512) // weights; no biases (LinearBias false)
	if got := m.LayerParams() - mlp - 2*2048; got != want {
		t.Errorf("attention params %d, want %d", got, want)
	}
}

// TestMoEValidation: each rule of the expert layout names its key.
func TestMoEValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Job)
		key    string
		says   string
	}{
		{"ep does not divide experts", func(j *Job) { j.Layout.EP = 3 }, "parallelism.ep", "does not divide model.experts"},
		{"ep on a dense model", func(j *Job) {
			j.Model.Experts, j.Model.TopK, j.Model.MoEFFNHidden, j.Model.SharedExperts, j.Model.DenseLayers = 0, 0, 0, 0, 0
		}, "parallelism.ep", "needs a mixture-of-experts model"},
		{"etp does not divide the expert width", func(j *Job) { j.Layout.ETP = 3 }, "parallelism.etp", "does not divide the expert width"},
		{"etp × ep × pp does not divide the GPUs", func(j *Job) { j.Layout.ETP, j.Layout.EP = 2, 16 }, "parallelism.etp", "does not divide the 16 GPUs"},
		{"skew below 1", func(j *Job) { j.Layout.Skew = 0.5 }, "moe.skew", "from 1 (balanced)"},
		{"capacity factor too small", func(j *Job) { j.Layout.CapacityFactor = 0.01 }, "moe.capacity_factor", "0 (dropless)"},
		// 0.2 on Mixtral 8x7B gave an MFU of 1.13 (model FLOPs count the
		// dropped tokens).
		{"capacity factor below 1", func(j *Job) { j.Layout.CapacityFactor = 0.5 }, "moe.capacity_factor", "from 1 to 1000"},
		{"ZeRO-2 with experts", func(j *Job) { j.Layout.ZeRO = 2 }, "parallelism.zero", "ZeRO 0 and 1"},
		{"dense_layers leaves no MoE layer", func(j *Job) { j.Model.DenseLayers = 4 }, "model.dense_layers", "leaves no mixture-of-experts layer"},
		{"top_k above experts", func(j *Job) { j.Model.TopK = 17 }, "model.top_k", "between 1 and experts"},
	} {
		j := moeJob(t, 1, 4, 1)
		tc.change(&j)
		found := false
		for _, e := range problems(j) {
			if e.Field == tc.key && strings.Contains(e.Error(), tc.says) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no %s problem saying %q; got %v", tc.name, tc.key, tc.says, problems(j))
		}
	}
	if errs := problems(moeJob(t, 1, 4, 2)); len(errs) > 0 {
		t.Errorf("EP 4 × ETP 2 on 16 GPUs: %v", errs)
	}
}

// TestHeadDimActivations: Qwen3-30B-A3B's attention (h 2048, 32 heads of
// 128, 4 KV heads) keeps Q and the projection input 2·(32·128/2048) = 4 sbh
// each and K, V 2·(4·128/2048) = 0.5 sbh each — 9 sbh where h/heads heads
// would keep 4 + 4·(4/32) = 4.5. With the rest of Korthikanti et al.'s count
// (10 replicated, a SwiGLU MLP of 6144: 16 · 6144/(4·2048) · 1.5 = 18, flash
// attention's log-sum-exp 4·32/2048) a dense layer of that shape keeps
// 37.0625 sbh at TP 1, BF16, no recomputation: s·b·h = 4096·1·2048.
func TestHeadDimActivations(t *testing.T) {
	m, ok := model.Preset("qwen3-30b-a3b")
	if !ok {
		t.Fatal("no qwen3-30b-a3b preset")
	}
	m.Experts, m.TopK, m.MoEFFNHidden = 0, 0, 0
	j := moeJob(t, 1, 1, 1)
	j.Model = m
	if got, want := j.layerActivationBytes(), units.Bytes(37.0625*4096*2048); got != want {
		t.Errorf("activations %s, want %s", got, want)
	}
}

// TestMoEFlowAgreesWithAnalytical: inside one node, the flow-level network
// prices an all-to-all as the analytical model does (each GPU's NVLink
// up-link carries its ep − 1 shares), so the expert-parallel transfer time
// of a step agrees within 2% for buffers large enough that the fixed
// latencies (which the two price a little differently) do not matter: 8
// sequences per micro-batch, a 32 MiB dispatch buffer.
func TestMoEFlowAgreesWithAnalytical(t *testing.T) {
	j := moeJob(t, 1, 8, 1)
	j.Training.GlobalBatch, j.Layout.Microbatch = 128, 8
	// No gradient reduction during the backward pass: its ring would share
	// the NVLink up-links with the all-to-alls in flow mode only.
	j.Layout.OverlapGradReduce = false
	a := simulate(t, j)
	j.Options.Network = NetworkFlow
	f := simulate(t, j)
	at, ft := float64(a.Comm["ep"].Total), float64(f.Comm["ep"].Total)
	if math.Abs(ft/at-1) > 0.02 {
		t.Errorf("expert-parallel transfers: flow %v, analytical %v", f.Comm["ep"].Total, a.Comm["ep"].Total)
	}
}

// TestMoEFP8CastsByHand: in FP8 the expert and shared-expert GEMM inputs
// and output gradients are cast to FP8 (read 2 B, write 1 + 1 B per
// element). smallMoE at EP 4: T = 1024 tokens per rank, 4 local experts of
// 2·4·1024/16 = 512 tokens each, so 2048 rows; h = 1024, expert width 512
// (1024 for the SwiGLU up-projection's output).
//   - experts forward: 4·2048·1024 + 4·2048·512 = 12,582,912 B;
//   - experts backward: 4·2048·(1024 + 1024) = 16,777,216 B;
//   - shared forward: 4·1024·1024 + 4·1024·512 = 6,291,456 B;
//   - shared backward: 4·1024·(1024 + 1024) = 8,388,608 B.
//
// In BF16 there are none. The grouped expert GEMMs are issued as one
// launch per local expert (4).
func TestMoEFP8CastsByHand(t *testing.T) {
	casts := func(ops []model.Op) (b float64) {
		for _, op := range ops {
			if strings.Contains(op.Name, "fp8-cast") {
				b += float64(op.Bytes)
			}
		}
		return b
	}
	for _, tc := range []struct {
		prec                   units.Precision
		expF, expB, shaF, shaB float64
	}{
		{units.FP8, 12582912, 16777216, 6291456, 8388608},
		{units.BF16, 0, 0, 0, 0},
	} {
		j := moeJob(t, 1, 4, 1)
		j.Training.Precision = tc.prec
		_, experts, shared, _ := j.Model.MoEBlock(j.Shard())
		if got := casts(experts.Forward); got != tc.expF {
			t.Errorf("%v experts forward casts %.0f B, want %.0f", tc.prec, got, tc.expF)
		}
		if got := casts(experts.Backward); got != tc.expB {
			t.Errorf("%v experts backward casts %.0f B, want %.0f", tc.prec, got, tc.expB)
		}
		if got := casts(shared.Forward); got != tc.shaF {
			t.Errorf("%v shared forward casts %.0f B, want %.0f", tc.prec, got, tc.shaF)
		}
		if got := casts(shared.Backward); got != tc.shaB {
			t.Errorf("%v shared backward casts %.0f B, want %.0f", tc.prec, got, tc.shaB)
		}
		for _, op := range append(append([]model.Op(nil), experts.Forward...), experts.Backward...) {
			if op.Class == model.GEMM && op.Kernels() != 4 {
				t.Errorf("%v %s: %d launches, want 4 (one per local expert)", tc.prec, op.Name, op.Kernels())
			}
			if op.Class == model.GEMM && op.IssueEach != model.GroupedGEMMIssue {
				t.Errorf("%v %s: issued at %v a launch, want the grouped GEMM's %v", tc.prec, op.Name, op.IssueEach, model.GroupedGEMMIssue)
			}
		}
		// The shared experts are ordinary GEMMs, issued at the default cost.
		for _, op := range append(append([]model.Op(nil), shared.Forward...), shared.Backward...) {
			if op.IssueEach != 0 || op.Kernels() != 1 {
				t.Errorf("%v %s: %d launches at %v, want one at the default", tc.prec, op.Name, op.Kernels(), op.IssueEach)
			}
		}
	}
}

// TestMoESortChunksByHand: with more than one local expert the all-to-all
// dispatcher sorts the received token copies by local expert after the
// dispatch and back before the combine, in both passes. smallMoE with EP 4:
// 4 local experts × 512 tokens (4 ranks × 1024 tokens × 2 copies / 16
// experts) × h = 1024 × 2 B, read and written: 8 MiB per sort, two in each
// pass. EP 16 leaves one local expert: no sort; EP 1 has no dispatch.
func TestMoESortChunksByHand(t *testing.T) {
	sorts := func(ops []model.Op) (n int, b float64) {
		for _, op := range ops {
			if strings.Contains(op.Name, "sort-chunks") {
				n++
				b += float64(op.Bytes)
			}
		}
		return n, b
	}
	for _, tc := range []struct {
		ep    int
		n     int
		bytes float64
	}{{4, 2, 2 * 8 << 20}, {8, 2, 2 * 8 << 20}, {16, 0, 0}} {
		j := moeJob(t, 1, tc.ep, 1)
		_, experts, _, _ := j.Model.MoEBlock(j.Shard())
		for pass, ops := range map[string][]model.Op{"forward": experts.Forward, "backward": experts.Backward} {
			if n, b := sorts(ops); n != tc.n || b != tc.bytes {
				t.Errorf("ep %d %s: %d sorts of %.0f B, want %d of %.0f B", tc.ep, pass, n, b, tc.n, tc.bytes)
			}
		}
	}
}

// TestMoEFP8RecipeLaunches: with delayed scaling Transformer Engine casts
// all 4 local experts' inputs (EP 4) in one fused kernel per GEMM input;
// with current scaling, MXFP8 and blockwise scaling each expert's split has
// its own kernel: 4 per input forward, 2 × 4 for the two output gradients
// backward. The bytes do not change.
func TestMoEFP8RecipeLaunches(t *testing.T) {
	for _, tc := range []struct {
		recipe   model.FP8Recipe
		fwd, bwd int
	}{{"", 1 + 1, 1}, {model.FP8Delayed, 2, 1}, {model.FP8Tensorwise, 8, 8}, {model.FP8MX, 8, 8}, {model.FP8Blockwise, 8, 8}} {
		j := moeJob(t, 1, 4, 1)
		j.Training.Precision = units.FP8
		j.Training.FP8Recipe = tc.recipe
		_, experts, _, _ := j.Model.MoEBlock(j.Shard())
		count := func(ops []model.Op) (n int, b units.Bytes) {
			for _, op := range ops {
				if strings.Contains(op.Name, "fp8-cast") {
					n += op.Kernels()
					b += op.Bytes
				}
			}
			return n, b
		}
		if n, b := count(experts.Forward); n != tc.fwd || b != 12582912 {
			t.Errorf("%q forward: %d cast launches of %.0f B, want %d of 12582912 B", tc.recipe, n, float64(b), tc.fwd)
		}
		if n, b := count(experts.Backward); n != tc.bwd || b != 16777216 {
			t.Errorf("%q backward: %d cast launches of %.0f B, want %d of 16777216 B", tc.recipe, n, float64(b), tc.bwd)
		}
	}
}

// TestMoEDispatcherLaunches counts the kernels the host issues for the
// router and the dispatcher around the expert GEMMs, by hand from
// Megatron-Core 0.15's fused router and permutation: forward, the layer
// norm 1, the router GEMM 1, the fused top-k and load-balancing loss 6, the
// dispatcher's preprocess 13 (EP > 1 only), the fused permute 4; backward
// the permute's 1, the router's 3, the GEMM's dgrad and wgrad 2, the layer
// norm's 1, the residual-gradient add 1 (model.md §7.22). Around the experts (EP 4: 4 local experts), the sorts: 2 + 2
// forward, 1 + 1 backward.
func TestMoEDispatcherLaunches(t *testing.T) {
	kernels := func(ops []model.Op, name string) (n int) {
		for _, op := range ops {
			if name == "" || strings.Contains(op.Name, name) {
				n += op.Kernels()
			}
		}
		return n
	}
	for _, tc := range []struct {
		ep, fwd, bwd, sortF, sortB int
	}{{1, 12, 8, 0, 0}, {4, 25, 8, 4, 2}} {
		j := moeJob(t, 1, tc.ep, 1)
		router, experts, _, _ := j.Model.MoEBlock(j.Shard())
		if got := kernels(router.Forward, ""); got != tc.fwd {
			t.Errorf("ep %d: router forward %d launches, want %d", tc.ep, got, tc.fwd)
		}
		if got := kernels(router.Backward, ""); got != tc.bwd {
			t.Errorf("ep %d: router backward %d launches, want %d", tc.ep, got, tc.bwd)
		}
		if got := kernels(experts.Forward, "sort-chunks"); got != tc.sortF {
			t.Errorf("ep %d: forward sorts %d launches, want %d", tc.ep, got, tc.sortF)
		}
		if got := kernels(experts.Backward, "sort-chunks"); got != tc.sortB {
			t.Errorf("ep %d: backward sorts %d launches, want %d", tc.ep, got, tc.sortB)
		}
	}
}

// TestMoETokenCountsKeepOverlap: the token-count all-gather sits between the
// router and the dispatch (without moe.overlap with the host's dispatch
// sync between it and the dispatch); under moe.overlap it is overlappable
// too, so the dispatch still runs beside the compute step before them (here
// the shared experts); without moe.overlap neither is.
func TestMoETokenCountsKeepOverlap(t *testing.T) {
	for _, overlap := range []bool{false, true} {
		j := moeJob(t, 1, 4, 1)
		j.Layout.MoEOverlap = overlap
		fwd := j.Model.Programs(j.Shard())[model.MoELayer].Forward
		for i, st := range fwd {
			if st.Name != "moe dispatch all-to-all" {
				continue
			}
			if !overlap {
				if fwd[i-1].Name != "moe-dispatch-sync" {
					t.Fatalf("%q before the dispatch, want the dispatch sync", fwd[i-1].Name)
				}
				i--
			}
			counts := fwd[i-1]
			if counts.Name != "moe token-count all-gather" {
				t.Fatalf("overlap %v: %q before the dispatch, want the token counts", overlap, counts.Name)
			}
			if counts.Overlappable != overlap || st.Overlappable != overlap {
				t.Errorf("overlap %v: counts overlappable %v, dispatch %v", overlap, counts.Overlappable, st.Overlappable)
			}
			if overlap && fwd[i-2].Kind != model.Compute {
				t.Errorf("overlap: %q before the counts, want a compute step", fwd[i-2].Name)
			}
		}
	}
}

// TestHostIssueReachesReplay: Training.HostIssue is the compute model's
// per-kernel host cost. 0 keeps the family's 10 µs (the same step as
// setting 10 µs), and 27 µs — the Transformer Engine stacks' value — slows
// the small MoE model, whose router and expert steps are shorter than their
// issue, while its GPU-side kernels are untouched.
func TestHostIssueReachesReplay(t *testing.T) {
	j := moeJob(t, 1, 8, 1)
	base := simulate(t, j)
	j.Training.HostIssue = 10 * units.Microsecond
	if got := simulate(t, j); got.StepTime != base.StepTime {
		t.Errorf("host_issue 10us: step %v, want the default's %v", got.StepTime, base.StepTime)
	}
	j.Training.HostIssue = 27 * units.Microsecond
	te := simulate(t, j)
	if te.StepTime <= base.StepTime {
		t.Errorf("host_issue 27us: step %v, want above the default's %v", te.StepTime, base.StepTime)
	}
	cm, err := kernelModel(j)
	if err != nil {
		t.Fatal(err)
	}
	if cm.Params.HostIssue != 27*units.Microsecond || cm.Params.HostCall != 10*units.Microsecond {
		t.Errorf("kernel model HostIssue %v HostCall %v, want 27 µs and 10 µs", cm.Params.HostIssue, cm.Params.HostCall)
	}
}

// TestDispatchFP8Bytes: smallMoE (1024 tokens a micro-batch, top 2, h =
// 1024). Each all-to-all moves 1024·2·1024 = 2,097,152 elements: 4 MiB in
// 16-bit. With moe.dispatch_fp8 the forward dispatch and the backward's
// all-to-all of the combine's gradient carry one byte an element and one
// 4-byte scale per 128 elements: 2,097,152 + 65,536 = 2,162,688 bytes; the
// forward combine and the dispatch's gradient stay 4 MiB (DeepSeek-V3
// §3.3.4). Refused without FP8 training, and without experts.
func TestDispatchFP8Bytes(t *testing.T) {
	j := moeJob(t, 1, 4, 1)
	j.Training.Precision = units.FP8
	j.Layout.DispatchFP8 = true
	if _, errs := j.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	want := map[string]units.Bytes{
		"moe dispatch all-to-all":     2162688,
		"moe combine all-to-all":      4 << 20,
		"moe combine-bwd all-to-all":  2162688,
		"moe dispatch-bwd all-to-all": 4 << 20,
	}
	l := j.Model.Programs(j.Shard())[model.MoELayer]
	seen := 0
	for _, st := range append(l.Forward, l.Backward...) {
		if w, ok := want[st.Name]; ok {
			seen++
			if st.Bytes != w {
				t.Errorf("%s: %d bytes, want %d", st.Name, int64(st.Bytes), int64(w))
			}
		}
	}
	if seen != 4 {
		t.Errorf("%d all-to-alls found, want 4", seen)
	}
	for _, tc := range []struct {
		name string
		edit func(*Job)
		msg  string
	}{
		{"bf16", func(j *Job) { j.Training.Precision = units.BF16 }, "FP8 training"},
		{"dense", func(j *Job) { j.Model.Experts, j.Model.TopK, j.Layout.EP, j.Layout.DP = 0, 0, 1, 16 }, "mixture-of-experts"},
	} {
		o := j
		tc.edit(&o)
		_, errs := o.Validate()
		found := false
		for _, e := range errs {
			found = found || e.Field == "moe.dispatch_fp8" && strings.Contains(e.Msg, tc.msg)
		}
		if !found {
			t.Errorf("%s: no moe.dispatch_fp8 error saying %q in %v", tc.name, tc.msg, errs)
		}
	}
}

// TestMoEMeasuredAllToAllNVLink5: on DGX B200 nodes the expert all-to-all
// inside a node takes NCCL's measured NVLink-5 time (collective.
// NVLink5AllToAll), longer than the formula's, flow mode stretches its
// transfers to agree, and the report says so; on DGX H100 nodes the
// NVLink-5 note is absent (XLA's Hopper table prices that all-to-all,
// collective.HopperCollectives).
func TestMoEMeasuredAllToAllNVLink5(t *testing.T) {
	b200, ok := topology.SystemPreset("dgx-b200")
	if !ok {
		t.Fatal("no dgx-b200 preset")
	}
	j := moeJob(t, 1, 8, 1)
	j.Training.GlobalBatch, j.Layout.Microbatch = 128, 8
	j.Layout.OverlapGradReduce = false
	j.Cluster.System = b200
	a := simulate(t, j)
	formula := j
	formula.Calibration.NVLinkBusBandwidth = new(units.Bandwidth)
	*formula.Calibration.NVLinkBusBandwidth = b200.NVLink.Bandwidth.Scale(0.78) // the formula's own rate
	f := simulate(t, formula)
	if at, ft := a.Comm["ep"].Total, f.Comm["ep"].Total; at <= ft {
		t.Errorf("expert all-to-all on DGX B200: measured %v, not longer than the formula's %v", at, ft)
	}
	noted := func(r *Result) bool {
		for _, n := range r.Notes {
			if strings.Contains(n, "NCCL's measured time on NVLink 5") {
				return true
			}
		}
		return false
	}
	if !noted(a) {
		t.Errorf("DGX B200: no note of the measured all-to-all in %q", a.Notes)
	}
	if noted(f) {
		t.Error("calibrated NVLink bus bandwidth: the note of the measured all-to-all")
	}
	j.Options.Network = NetworkFlow
	fl := simulate(t, j)
	if at, ft := float64(a.Comm["ep"].Total), float64(fl.Comm["ep"].Total); math.Abs(ft/at-1) > 0.02 {
		t.Errorf("expert-parallel transfers on DGX B200: flow %v, analytical %v", fl.Comm["ep"].Total, a.Comm["ep"].Total)
	}
	if h := simulate(t, moeJob(t, 1, 8, 1)); noted(h) {
		t.Error("DGX H100: the note of the measured NVLink-5 all-to-all")
	}
}

// TestMoEDispatchSync: every MoE layer's forward has one host
// synchronisation before its dispatch (docs/model.md §7.47), the backward
// none. By hand at the default 10 µs per host call: with EP 4 the host
// waits for four 6 µs copies and issues two all-to-alls, 24 + 20 = 44 µs;
// with EP 1 one copy and no all-to-all, 6 µs; under the flex dispatcher
// one transfer and one launch, 16 µs. Without moe.overlap it is its own
// step between the count all-gather and the dispatch, all of it the GPU
// waiting; under moe.overlap it joins the router's step.
func TestMoEDispatchSync(t *testing.T) {
	for _, tc := range []struct {
		name          string
		ep            int
		flex, overlap bool
		want          float64 // seconds
	}{
		{"ep 4", 4, false, false, 44e-6},
		{"ep 1", 1, false, false, 6e-6},
		{"flex ep 4", 4, true, false, 16e-6},
		{"ep 4 overlap", 4, false, true, 44e-6},
	} {
		j := moeJob(t, 1, tc.ep, 1)
		j.Layout.MoEOverlap = tc.overlap
		sh := j.Shard()
		sh.FlexDispatch = tc.flex
		sync := j.Model.DispatchSync(sh)
		cm, err := kernelModel(j)
		if err != nil {
			t.Fatal(err)
		}
		total, tensor, _, host := cm.SumHost([]model.Op{sync})
		if math.Abs(float64(total)-tc.want) > 1e-12 || host != total || tensor != 0 {
			t.Errorf("%s: sync %v (host %v, tensor %v), want %g s, all host", tc.name, total, host, tensor, tc.want)
		}
		l := j.Model.Programs(sh)[model.MoELayer]
		count := func(p model.Program) (steps, ops int) {
			for _, st := range p {
				if st.Name == "moe-dispatch-sync" {
					steps++
				}
				for _, op := range st.Ops {
					if op.Class == model.HostSync {
						ops++
					}
				}
			}
			return steps, ops
		}
		steps, ops := count(l.Forward)
		wantSteps := 1
		if tc.overlap {
			wantSteps = 0
		}
		if steps != wantSteps || ops != 1 {
			t.Errorf("%s: forward has %d sync steps and %d sync ops, want %d and 1", tc.name, steps, ops, wantSteps)
		}
		if steps, ops := count(l.Backward); steps != 0 || ops != 0 {
			t.Errorf("%s: backward has %d sync steps and %d sync ops, want none", tc.name, steps, ops)
		}
	}
}
