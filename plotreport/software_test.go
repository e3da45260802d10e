package plotreport

import (
	"strings"
	"testing"

	"trainsim/report"
)

// TestSoftwareLine: the page header names each framework behaviour the run
// turned on, under its key, and has no software line when none is.
func TestSoftwareLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		rep  report.Report
		want string // "" for no line
	}{
		{"none", report.Report{}, ""},
		{"training", report.Report{Training: report.Training{MegatronElementwise: true, GradAccumCast: true, HostIssueS: 27e-6}},
			"Software: megatron_elementwise, grad_accum_cast, host_issue 27 us"},
		{"layout", report.Report{Layout: report.Layout{AsyncTPAllReduce: true, ZeRO1AllReduce: true}},
			"Software: async_tp_allreduce, zero1_allreduce"},
		{"eager", report.Report{Training: report.Training{EagerElementwise: true}}, "Software: eager_elementwise"},
		{"zero", report.Report{Layout: report.Layout{ZeROFP32Reduce: true, ZeRO3RankLoops: true}},
			"Software: zero_fp32_reduce, zero3_rank_loops"},
		{"flash_kernel", report.Report{Training: report.Training{FlashKernel: "fa2", HostIssueS: 1e-5}},
			"Software: flash_kernel fa2, host_issue 10 us"},
		{"pytorch-fsdp", report.Report{SoftwareStack: "pytorch-fsdp", Training: report.Training{FlashKernel: "fa2"}, Layout: report.Layout{ZeROFP32Reduce: true}},
			"Software: stack pytorch-fsdp, flash_kernel fa2, zero_fp32_reduce"},
		{"stack", report.Report{SoftwareStack: "megatron-lm-2022", Training: report.Training{MegatronElementwise: true}},
			"Software: stack megatron-lm-2022, megatron_elementwise"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			for _, l := range runHeader(&tc.rep) {
				if strings.HasPrefix(l, "Software: ") {
					got = l
				}
			}
			if got != tc.want {
				t.Errorf("software line %q, want %q", got, tc.want)
			}
		})
	}
}
