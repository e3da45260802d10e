package parallelism

import (
	"math"
	"testing"

	"trainsim/model"
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

// flexSyncGap is what the flex dispatcher's host sync saves on j's step
// against the all-to-all dispatcher's (model.Config.DispatchSync, docs/
// model.md §7.47): one sync per MoE layer and micro-batch, all of them on
// the critical path without pipelining or overlap. With EP > 1 at the
// default 10 µs per host call: (4·6 + 2·10) − (6 + 10) = 28 µs each.
func flexSyncGap(t *testing.T, j Job) float64 {
	t.Helper()
	cm, err := kernelModel(j)
	if err != nil {
		t.Fatal(err)
	}
	sh := j.Shard()
	sh.FlexDispatch = false
	a, _, _ := cm.Sum([]model.Op{j.Model.DispatchSync(sh)})
	sh.FlexDispatch = true
	f, _, _ := cm.Sum([]model.Op{j.Model.DispatchSync(sh)})
	if math.Abs(float64(a-f)-28e-6) > 1e-12 {
		t.Errorf("sync gap %v, want 28 µs", a-f)
	}
	return float64(j.Model.MoELayers()*j.Microbatches()) * float64(a-f)
}

// TestFlexDispatchCheaperAcrossNodes: EP 16 over two nodes, smallMoE (16
// experts, top-2, no groups): a token reaches 2·(1 − C(8,2)/C(16,2)) =
// 1.533 nodes, so flex sends 1.533/2 of the cross-node copies; the step
// gets faster, and within one node (EP 8) flex changes nothing but the
// SMs of overlapped all-to-alls (none here) and the host's dispatch sync
// (DeepEP's one transfer and launch against Megatron-Core's four copies
// and two all-to-all calls: 3 MoE layers × 2 micro-batches × 28 µs).
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
	gap := flexSyncGap(t, moeJob(t, 1, 8, 1))
	if a, f := step(8, DispatcherAllToAll), step(8, DispatcherFlex); math.Abs(a-f-gap) > 1e-9 {
		t.Errorf("EP 8 in one node: flex %g s, alltoall %g s; want them %g s apart (the host syncs)", f, a, gap)
	}
}
