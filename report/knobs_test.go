package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"trainsim/model"
	"trainsim/parallelism"
	"trainsim/rl"
	"trainsim/topology"
	"trainsim/units"
)

// TestSoftwareKnobsShown: each framework behaviour a scenario key turns on
// (off by default) appears in the JSON report under its key's name and on
// the text report's software line, and is absent from both when off. Each
// case also checks that the replay's time moved in the breakdown part the
// docs name for it (docs/scenario.md, the report's fields), comparing the
// same job with the knob off and on.
func TestSoftwareKnobsShown(t *testing.T) {
	for _, tc := range []struct {
		key     string // the scenario key's last part, the JSON field and the text's label
		section string // "layout" or "training"
		prepare func(j *parallelism.Job)
		set     func(j *parallelism.Job)
		// moved checks the breakdown of the knob on against off.
		moved func(off, on *Report) bool
		where string
	}{
		{"megatron_elementwise", "training",
			func(j *parallelism.Job) { j.Training.Attention = model.AttentionUnfused },
			func(j *parallelism.Job) { j.Training.MegatronElementwise = true },
			func(off, on *Report) bool { return on.Breakdown.HBMS > off.Breakdown.HBMS }, "hbm_bound_s up"},
		{"grad_accum_cast", "training",
			func(j *parallelism.Job) { j.Training.UnfusedGradAccum = true },
			func(j *parallelism.Job) { j.Training.GradAccumCast = true },
			func(off, on *Report) bool { return on.Breakdown.HBMS > off.Breakdown.HBMS }, "hbm_bound_s up"},
		{"eager_hbm_fraction", "training",
			func(j *parallelism.Job) { j.Training.Attention = model.AttentionUnfused },
			func(j *parallelism.Job) { j.Training.EagerHBMFraction = 0.5 },
			func(off, on *Report) bool { return on.Breakdown.HBMS > off.Breakdown.HBMS }, "hbm_bound_s up"},
		{"host_issue_s", "training",
			func(j *parallelism.Job) {},
			func(j *parallelism.Job) { j.Training.HostIssue = units.Millisecond },
			func(off, on *Report) bool { return on.Breakdown.ComputeS > off.Breakdown.ComputeS }, "compute_s up"},
		{"async_tp_allreduce", "layout",
			func(j *parallelism.Job) {},
			func(j *parallelism.Job) { j.Layout.AsyncTPAllReduce = true },
			func(off, on *Report) bool { return on.Breakdown.TPS < off.Breakdown.TPS }, "tp_exposed_s down"},
		{"zero1_allreduce", "layout",
			func(j *parallelism.Job) { j.Layout.ZeRO = 1 },
			func(j *parallelism.Job) { j.Layout.ZeRO1AllReduce = true },
			func(off, on *Report) bool { return on.Comm["dp"].Bytes > off.Comm["dp"].Bytes }, "comm.dp.bytes up"},
		{"zero_fp32_reduce", "layout",
			func(j *parallelism.Job) { j.Layout.ZeRO = 3 },
			func(j *parallelism.Job) { j.Layout.ZeROFP32Reduce = true },
			func(off, on *Report) bool { return on.Comm["dp"].Bytes > off.Comm["dp"].Bytes }, "comm.dp.bytes up"},
		{"zero3_rank_loops", "layout",
			func(j *parallelism.Job) { j.Layout.ZeRO = 3 },
			func(j *parallelism.Job) { j.Layout.ZeRO3RankLoops = true },
			func(off, on *Report) bool {
				return on.Breakdown.DPS > off.Breakdown.DPS && on.Comm["dp"].TotalS > off.Comm["dp"].TotalS
			}, "dp_exposed_s and comm.dp.total_s up"},
		{"flash_kernel", "training",
			func(j *parallelism.Job) { j.Cluster.System, _ = topology.SystemPreset("dgx-h100") },
			func(j *parallelism.Job) { j.Training.FlashKernel = model.FlashFA2 },
			func(off, on *Report) bool { return on.Breakdown.ComputeS > off.Breakdown.ComputeS }, "compute_s up"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			j := testJob(t)
			tc.prepare(&j)
			off, offText, offJSON := knobReport(t, j)
			tc.set(&j)
			on, onText, onJSON := knobReport(t, j)
			label := strings.TrimSuffix(tc.key, "_s")
			if v, ok := onJSON[tc.section].(map[string]any)[tc.key]; !ok || v == false {
				t.Errorf("on: %s.%s = %v, want it set", tc.section, tc.key, v)
			}
			if v, ok := offJSON[tc.section].(map[string]any)[tc.key]; ok {
				t.Errorf("off: %s.%s = %v, want it omitted", tc.section, tc.key, v)
			}
			if !strings.Contains(onText, "  software ") || !strings.Contains(onText, label) {
				t.Errorf("on: text lacks the software line with %q:\n%s", label, onText[:min(len(onText), 900)])
			}
			if strings.Contains(onText, "no effect here") {
				t.Errorf("on: text says no effect where the knob applies:\n%s", onText[:min(len(onText), 900)])
			}
			if strings.Contains(offText, "  software ") || strings.Contains(offText, label) {
				t.Errorf("off: text names %q:\n%s", label, offText[:min(len(offText), 900)])
			}
			if !tc.moved(off, on) {
				t.Errorf("the knob did not move the breakdown as the docs say (%s): off %+v, on %+v", tc.where, off.Breakdown, on.Breakdown)
			}
		})
	}
}

// TestSoftwareKnobsNoEffect: a knob set where the layout leaves it nothing
// to do is still echoed, and the text says why it changes nothing; the
// step is then the same as without it.
func TestSoftwareKnobsNoEffect(t *testing.T) {
	for _, tc := range []struct {
		name, why string
		set       func(j *parallelism.Job)
		// prepare, where not nil, sets the layout both runs share.
		prepare func(j *parallelism.Job)
	}{
		{"megatron_elementwise", "flash attention", func(j *parallelism.Job) { j.Training.MegatronElementwise = true }, nil},
		{"grad_accum_cast", "grad_accum_fusion", func(j *parallelism.Job) { j.Training.GradAccumCast = true }, nil},
		{"eager_hbm_fraction", "flash attention and no megatron_elementwise", func(j *parallelism.Job) { j.Training.EagerHBMFraction = 0.5 }, nil},
		{"async_tp_allreduce", "sequence parallel", func(j *parallelism.Job) {
			j.Layout.SequenceParallel = true
			j.Layout.AsyncTPAllReduce = true
		}, nil},
		{"zero1_allreduce", "ZeRO 0", func(j *parallelism.Job) { j.Layout.ZeRO1AllReduce = true }, nil},
		{"zero_fp32_reduce", "ZeRO 0", func(j *parallelism.Job) { j.Layout.ZeROFP32Reduce = true }, nil},
		{"zero_fp32_reduce", "ZeRO 1", func(j *parallelism.Job) { j.Layout.ZeROFP32Reduce = true },
			func(j *parallelism.Job) { j.Layout.ZeRO = 1 }},
		{"zero3_rank_loops", "ZeRO 0", func(j *parallelism.Job) { j.Layout.ZeRO3RankLoops = true }, nil},
		{"zero3_rank_loops", "ZeRO 2", func(j *parallelism.Job) { j.Layout.ZeRO3RankLoops = true },
			func(j *parallelism.Job) { j.Layout.ZeRO = 2 }},
		{"zero3_rank_loops", "DP 1", func(j *parallelism.Job) { j.Layout.ZeRO3RankLoops = true },
			func(j *parallelism.Job) { j.Layout.ZeRO, j.Layout.DP, j.Cluster.Nodes = 3, 1, 2 }},
		{"flash_kernel fa2", "the ampere flash rate is FlashAttention-2's own",
			func(j *parallelism.Job) { j.Training.FlashKernel = model.FlashFA2 }, nil},
		{"flash_kernel fa2", "the blackwell flash rate has no FlashAttention-2 measurement",
			func(j *parallelism.Job) { j.Training.FlashKernel = model.FlashFA2 },
			func(j *parallelism.Job) { j.Cluster.System, _ = topology.SystemPreset("dgx-b200") }},
		{"flash_kernel fa2", "attention unfused", func(j *parallelism.Job) { j.Training.FlashKernel = model.FlashFA2 },
			func(j *parallelism.Job) {
				j.Cluster.System, _ = topology.SystemPreset("dgx-h100")
				j.Training.Attention = model.AttentionUnfused
			}},
	} {
		t.Run(tc.name+" "+tc.why, func(t *testing.T) {
			j := testJob(t)
			if tc.name == "async_tp_allreduce" {
				j.Layout.SequenceParallel = true
			}
			if tc.prepare != nil {
				tc.prepare(&j)
			}
			off, _, _ := knobReport(t, j)
			tc.set(&j)
			on, text, _ := knobReport(t, j)
			if want := tc.name + ": "; !strings.Contains(text, want) {
				t.Errorf("text lacks %q", want)
			}
			if want := "(no effect here: " + tc.why + ")"; !strings.Contains(text, want) {
				t.Errorf("text lacks %q:\n%s", want, text[:min(len(text), 900)])
			}
			if on.StepTimeS != off.StepTimeS {
				t.Errorf("step %v with the knob, %v without: the text says it has no effect", on.StepTimeS, off.StepTimeS)
			}
		})
	}
}

// TestSoftwareStackShown: the stack a scenario names is in the JSON report
// and leads the text report's software line; without one neither has it.
func TestSoftwareStackShown(t *testing.T) {
	j := testJob(t)
	for _, stack := range []string{"", "megatron-core-2024"} {
		_, text, js := stackReport(t, j, stack)
		got, ok := js["software_stack"]
		line := strings.Contains(text, "  software stack "+stack+"\n")
		if stack == "" && (ok || strings.Contains(text, "  software ")) {
			t.Errorf("no stack: JSON software_stack = %v, text:\n%s", got, text[:600])
		}
		if stack != "" && (got != stack || !line) {
			t.Errorf("stack %s: JSON software_stack = %v, text line %v:\n%s", stack, got, line, text[:600])
		}
	}
}

// knobReport replays j and returns its report, text and decoded JSON.
func knobReport(t *testing.T, j parallelism.Job) (*Report, string, map[string]any) {
	t.Helper()
	return stackReport(t, j, "")
}

// stackReport is knobReport for a scenario that names the software stack.
func stackReport(t *testing.T, j parallelism.Job, stack string) (*Report, string, map[string]any) {
	t.Helper()
	rep, err := Build(Input{Name: "t", Seed: 1, Stack: stack, Job: j}, replayed(t, j))
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := WriteText(&text, rep, j); err != nil {
		t.Fatal(err)
	}
	var js map[string]any
	decodeJSON(t, rep, &js)
	return rep, text.String(), js
}

// TestRLKnobsShown: rl.pad_packs and rl.offload_pcie_share (with the
// optimizer offload they price) appear in the RL object's JSON and text
// when set, and not otherwise.
func TestRLKnobsShown(t *testing.T) {
	for _, tc := range []struct {
		name   string
		set    func(c *rl.Config, r *rl.Result)
		fields []string
		text   []string
	}{
		{"pad_packs", func(c *rl.Config, r *rl.Result) { c.PadPacks = true },
			[]string{`"pad_packs":true`}, []string{"pad_packs"}},
		{"offload", func(c *rl.Config, r *rl.Result) {
			c.CPUAdamBandwidth = 51.2e9
			r.OptimizerOffload = 0.75
		}, []string{`"optimizer_offload_s":0.75`}, []string{"750 ms of optimizer offload"}},
		{"offload_pcie_share", func(c *rl.Config, r *rl.Result) {
			c.CPUAdamBandwidth = 51.2e9
			c.OffloadPCIeShare = 2
			r.OptimizerOffload = 0.75
		}, []string{`"optimizer_offload_s":0.75`, `"offload_pcie_share":2`}, []string{"2 GPUs share a host PCIe link, offload_pcie_share"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, r := rlResult()
			offJS, offText := rlOut(t, c, r)
			tc.set(&c, r)
			onJS, onText := rlOut(t, c, r)
			for _, f := range tc.fields {
				if !strings.Contains(onJS, f) {
					t.Errorf("on: JSON lacks %s: %s", f, onJS)
				}
				if k := f[:strings.Index(f, ":")]; strings.Contains(offJS, k) {
					t.Errorf("off: JSON has %s: %s", k, offJS)
				}
			}
			for _, s := range tc.text {
				if !strings.Contains(onText, s) {
					t.Errorf("on: text lacks %q:\n%s", s, onText)
				}
				if strings.Contains(offText, s) {
					t.Errorf("off: text has %q:\n%s", s, offText)
				}
			}
		})
	}
	// A share of 1 is each GPU's own link: nothing to say.
	c, r := rlResult()
	c.CPUAdamBandwidth, c.OffloadPCIeShare, r.OptimizerOffload = 51.2e9, 1, 0.5
	if js, text := rlOut(t, c, r); strings.Contains(js, "offload_pcie_share") || strings.Contains(text, "offload_pcie_share") {
		t.Errorf("share 1 reported: %s\n%s", js, text)
	}
}

func rlOut(t *testing.T, c rl.Config, r *rl.Result) (string, string) {
	t.Helper()
	out := RLOf(c, r)
	var b bytes.Buffer
	if err := WriteRLText(&b, out); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(js), b.String()
}
