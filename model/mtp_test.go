package model

import (
	"math"
	"strings"
	"testing"

	"trainsim/units"
)

// deepSeekV3MTP is the deepseek-v3 preset with its report's MTP depth
// (arXiv:2412.19437 §2.2 and §4.2: D = 1).
func deepSeekV3MTP(t *testing.T) Config {
	t.Helper()
	c := mustPreset(t, "deepseek-v3")
	c.MTPDepth = 1
	return c
}

// TestMTPParamsByHand counts DeepSeek-V3's MTP module (h 7168, vocab
// 129280) weight by weight: the three RMSNorm gains (enorm, hnorm, the
// output norm) and the projection M, then its MoE block: latent attention
// (q down 7168×1536, q up 1536×128·192, kv down 7168×(512+64), kv up
// 512×128·(128+128), out 128·128×7168, the two latent norms 1536 + 512),
// two RMSNorm gains (2h), the router (h × 256) and the shared and 256
// routed experts, each 3·h·2048 weights and no bias (DeepSeek-V3 has no
// linear biases: LinearBias false). The shared embedding and output head
// add nothing.
func TestMTPParamsByHand(t *testing.T) {
	c := deepSeekV3MTP(t)
	const (
		h      = 7168
		own    = 3*h + 2*h*h                                                                     // 102,781,952
		attn   = h*1536 + 1536*128*192 + h*(512+64) + 512*128*(128+128) + 128*128*h + 1536 + 512 // 187,107,328
		expert = 3 * h * 2048                                                                    // 44,040,192
		dense  = attn + 2*h + h*256 + expert                                                     // 232,996,864
		module = own + dense + 256*expert                                                        // 11,610,067,968
	)
	if got := c.MTPOwnParams(); got != own {
		t.Errorf("MTPOwnParams = %d, want %d", got, int64(own))
	}
	if got := c.MTPParams(); got != module {
		t.Errorf("MTPParams = %d, want %d", got, int64(module))
	}
	base := c
	base.MTPDepth = 0
	if d := c.Params() - base.Params(); d != module {
		t.Errorf("Params grows by %d with one MTP module, want %d (embedding and head shared)", d, int64(module))
	}
	// Active: the module's block routes each token to 8 of 256 experts.
	if d := c.ActiveParams() - base.ActiveParams(); d != own+dense+8*expert {
		t.Errorf("ActiveParams grows by %d, want %d", d, int64(own+dense+8*expert))
	}
	// A second way: DeepSeek's release counts 685B in its checkpoint, "671B
	// of the Main Model weights and 14B of the Multi-Token Prediction (MTP)
	// Module weights" (deepseek-ai/DeepSeek-V3 README), the 14B with the
	// module's own copies of the embedding and the output head
	// (embed_tokens and shared_head.head of layer 61), 2·h·V. The 14B is
	// rounded to the billion: within 5%.
	published := 14e9 - 2*float64(h)*129280
	if r := float64(c.MTPParams()) / published; math.Abs(r-1) > 0.05 {
		t.Errorf("MTP module %.3gB against %.3gB published without the two tables (ratio %.3f)", float64(c.MTPParams())/1e9, published/1e9, r)
	}
	if c.MTPBlockKind() != MoELayer {
		t.Errorf("the MTP block of DeepSeek-V3 is %v, want moe (its last layer's kind)", c.MTPBlockKind())
	}
	if c.Validate() != nil {
		t.Errorf("deepseek-v3 with mtp_depth 1: %v", c.Validate())
	}
	c.MTPDepth = -1
	if errs := c.Validate(); len(errs) != 1 || errs[0].Field != "model.mtp_depth" {
		t.Errorf("mtp_depth −1: %v, want one model.mtp_depth error", errs)
	}
}

// TestMTPFLOPsByHand checks the model FLOPs one MTP module adds to one
// 4096-token sequence of DeepSeek-V3, forward: the projection M,
// 2·s·2h² = 841,813,590,016; the output head, 2·s·h·V = 7,591,354,695,680;
// the MoE block as the model counts a layer: the attention's linear layers
// 2·s·187,105,280, its scores and context over the s² square,
// 2·s²·128·(192+128), the router 2·s·h·256 and nine experts of 3 matrices
// (8 routed + 1 shared) 2·3·s·h·2048·9 — 6,169,183,649,792 in all.
// Training counts 3× the forward. Megatron-Bridge's count
// (flop_utils.py @ 5776a6d9), the second way: per token and module
// 3·2·(3h + 2h²) for the norms and projection and 3·2·h·V for the logits,
// plus one more layer of the last layer's kind; trainsim leaves out the
// norms' 3h: the two must differ by 18h per token and module exactly.
func TestMTPFLOPsByHand(t *testing.T) {
	c := deepSeekV3MTP(t)
	base := c
	base.MTPDepth = 0
	const (
		s, h, v = 4096.0, 7168.0, 129280.0
		proj    = 841_813_590_016.0
		head    = 7_591_354_695_680.0
		block   = 6_169_183_649_792.0
	)
	got := float64(c.ForwardFLOPs(1) - base.ForwardFLOPs(1))
	if want := proj + head + block; math.Abs(got-want) > 1e-9*want {
		t.Errorf("forward FLOPs of the MTP module: %.6g, want %.6g", got, want)
	}
	step := float64(c.FLOPsPerStep(1) - base.FLOPsPerStep(1))
	mbridge := s*(3*2*(3*h+2*h*h)+3*2*h*v) + 3*block
	if d := mbridge - step; math.Abs(d-s*18*h) > 1e-6*step {
		t.Errorf("Megatron-Bridge's MTP terms − trainsim's = %.6g FLOPs, want the norms' %.6g", d, s*18*h)
	}
	// Two modules add twice as much.
	c.MTPDepth = 2
	if got2 := float64(c.ForwardFLOPs(1) - base.ForwardFLOPs(1)); math.Abs(got2-2*got) > 1e-9*got2 {
		t.Errorf("depth 2 adds %.6g, want twice %.6g", got2, got)
	}
}

// TestMTPLayerProgram checks the MTP module's program on one GPU: its
// compute adds, forward, the projection, the block's and the head's
// FLOPs; its parameters are the module's own over TP and the block's;
// with TP > 1 its projection's output is all-gathered.
func TestMTPLayerProgram(t *testing.T) {
	c := deepSeekV3MTP(t)
	for _, tp := range []int{1, 2} {
		sh := Shard{TP: tp, Microbatch: 1, Precision: units.BF16, Attention: AttentionFlash, EP: 8, SequenceParallel: tp > 1}
		progs := c.Programs(sh)
		mtp, moe, logits := progs[MTPLayer], progs[MoELayer], progs[LogitsLayer]
		flops := func(p Program) (f float64) {
			for _, st := range p {
				for _, op := range st.Ops {
					f += float64(op.FLOPs)
				}
			}
			return f
		}
		// The projection: tokens × 2h by 2h × h/tp.
		want := flops(moe.Forward) + flops(logits.Forward) + 2*4096*2*7168*7168/float64(tp)
		if got := flops(mtp.Forward); math.Abs(got-want) > 1e-9*want {
			t.Errorf("tp %d: MTP forward %.6g FLOPs, want %.6g", tp, got, want)
		}
		if mtp.Backward == nil || flops(mtp.Backward) < 2*flops(mtp.Forward)*0.99 {
			t.Errorf("tp %d: MTP backward %.6g FLOPs, want about twice the forward's %.6g", tp, flops(mtp.Backward), flops(mtp.Forward))
		}
		if p := float64(c.MTPOwnParams())/float64(tp) + moe.Params; mtp.Params != p || mtp.ExpertParams != moe.ExpertParams {
			t.Errorf("tp %d: MTP params %g / experts %g, want %g / %g", tp, mtp.Params, mtp.ExpertParams, p, moe.ExpertParams)
		}
		gathers := 0
		for _, st := range mtp.Forward {
			if st.Kind == Collective && strings.HasPrefix(st.Name, "mtp eh-proj") {
				gathers++
			}
		}
		if want := map[bool]int{true: 1, false: 0}[tp > 1]; gathers != want {
			t.Errorf("tp %d: %d projection all-gathers, want %d", tp, gathers, want)
		}
	}
	if progs := (Config{}).Programs(Shard{TP: 1, Microbatch: 1}); progs[MTPLayer].Forward != nil {
		t.Error("a model without MTP has an MTP program")
	}
}
