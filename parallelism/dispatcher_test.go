package parallelism

import (
	"testing"
)

// TestDispatcherValidate: moe.dispatcher takes alltoall or flex (empty is
// alltoall); flex needs experts and the analytic network; the SMs are 0..the
// GPU's.
func TestDispatcherValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Job)
		field string // "" = accepted
	}{
		{"default", func(*Job) {}, ""},
		{"alltoall", func(j *Job) { j.Layout.Dispatcher = DispatcherAllToAll }, ""},
		{"flex", func(j *Job) { j.Layout.Dispatcher = DispatcherFlex }, ""},
		{"flex 16 SMs", func(j *Job) { j.Layout.Dispatcher, j.Layout.DispatcherSMs = DispatcherFlex, 16 }, ""},
		{"unknown", func(j *Job) { j.Layout.Dispatcher = "deepep" }, "moe.dispatcher"},
		{"dense", func(j *Job) { j.Layout.Dispatcher = DispatcherFlex; j.Model.Experts, j.Model.TopK = 0, 0 }, "moe.dispatcher"},
		{"flow network", func(j *Job) { j.Layout.Dispatcher = DispatcherFlex; j.Options.Network = NetworkFlow }, "moe.dispatcher"},
		{"negative SMs", func(j *Job) { j.Layout.DispatcherSMs = -1 }, "moe.dispatcher_sms"},
		{"SMs past the GPU", func(j *Job) { j.Layout.DispatcherSMs = 1000 }, "moe.dispatcher_sms"},
	}
	for _, tt := range tests {
		j := moeJob(t, 1, 16, 1)
		tt.edit(&j)
		got := ""
		for _, e := range problems(j) {
			if e.Field == "moe.dispatcher" || e.Field == "moe.dispatcher_sms" {
				got = e.Field
			}
		}
		if got != tt.field {
			t.Errorf("%s: refused field %q, want %q (%v)", tt.name, got, tt.field, problems(j))
		}
	}
}

// TestFlexDispatchCheaperAcrossNodes: EP 16 over two nodes, smallMoE (16
// experts, top-2, no groups): a token reaches 2·(1 − C(8,2)/C(16,2)) =
// 1.533 nodes, so flex sends 1.533/2 of the cross-node copies; the step
// gets faster, and within one node (EP 8) flex changes nothing but the
// SMs of overlapped all-to-alls (none here).
func TestFlexDispatchCheaperAcrossNodes(t *testing.T) {
	step := func(ep int, d Dispatcher) float64 {
		j := moeJob(t, 1, ep, 1)
		j.Layout.Dispatcher = d
		r, err := simulateJob(j)
		if err != nil {
			t.Fatal(err)
		}
		return float64(r.StepTime)
	}
	if a, f := step(16, DispatcherAllToAll), step(16, DispatcherFlex); !(f < a) {
		t.Errorf("EP 16 over 2 nodes: flex %g s, alltoall %g s; want flex faster", f, a)
	}
	if a, f := step(8, DispatcherAllToAll), step(8, DispatcherFlex); a != f {
		t.Errorf("EP 8 in one node: flex %g s, alltoall %g s; want the same", f, a)
	}
}
