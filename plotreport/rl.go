package plotreport

import (
	"fmt"

	"trainsim/report"
)

// Colours of an RL step's phases.
const (
	colourGeneration = 2 // blue
	colourScoring    = 1 // green
	colourRLTrain    = 3 // orange
	colourRefit      = 4 // purple
	colourSwap       = 7 // light red
	colourIdle       = 6
)

// rlBlocks shows an RL post-training step: its phases as a stacked bar and
// a table, what bounds it, and the replayed steps as a timeline, lane by
// lane.
func rlBlocks(d *Document, rep *report.Report) {
	r := rep.RL
	if r == nil {
		return
	}
	d.heading("RL step")
	d.para("", "%s, %s placement, off-policy depth %d: %s per step for %d samples (%d prompt + response tokens), %.0f tokens/s per GPU; %d generation GPUs in %d engine replicas, %d training GPUs. The rest of this report is one of the policy's %d optimizer steps.",
		r.Algorithm, r.Placement, r.OffPolicy, secs(r.StepS), r.SamplesPerStep, r.TokensPerStep, r.TokensPerSPerGPU, r.GenGPUs, r.Replicas, r.TrainGPUs, r.OptimizerSteps)
	if !r.Feasible {
		d.para("Infeasible:", "%s", r.Reason)
	}
	parts := []Segment{
		{"generation", r.GenerationS, colourGeneration},
		{"scoring", r.ScoringS, colourScoring},
		{"training", r.TrainingS, colourRLTrain},
		{"refit", r.RefitS, colourRefit},
		{"offload/onload", r.SwapS, colourSwap},
		{"idle", r.IdleS, colourIdle},
	}
	if sumSegments(parts) > 0 {
		d.figure(&Figure{File: "rl-step.png", Caption: fmt.Sprintf("The phases of the %s RL step", secs(r.StepS)),
			Chart: &StackedBar{Title: "Where the RL step goes", XLabel: "seconds", Category: "RL step", Segments: parts}})
	}
	t := &Table{Header: []string{"phase", "time", "share of the step"}, Right: []bool{false, true, true}}
	for _, s := range parts {
		t.Rows = append(t.Rows, []string{s.Label, secs(s.Value), share(s.Value, r.StepS)})
	}
	if r.OverlapS > 0 {
		t.Rows = append(t.Rows, []string{"overlapped (pools at work at once)", secs(r.OverlapS), share(r.OverlapS, r.StepS)})
	}
	d.table(t)
	d.para("Bottleneck:", "%s.", r.Bottleneck)
	g := r.Generation
	d.para("Generation:", "the slowest engine prefilled for %s and decoded %d iterations in %s (%s HBM-bound, %s tensor-bound), with %s of tensor-parallel all-reduces; %s of its decode waited for the longest responses. Bound by %s.",
		secs(g.PrefillS), g.Iterations, secs(g.DecodeS), secs(g.DecodeHBMS), secs(g.DecodeTCS), secs(g.TPS), secs(g.TailS), g.Bound)
	u, m := r.Utilisation, r.Memory
	d.list([]string{
		fmt.Sprintf("utilisation: generation MFU %s (HBM bandwidth %s), scoring MFU %s, training MFU %s", pct(u.GenerationMFU), pct(u.GenerationHBM), pct(u.ScoringMFU), pct(u.TrainingMFU)),
		fmt.Sprintf("memory per GPU: generation %s of weights and %s of KV cache (%d sequences at most per engine); scoring %s of weights; training %s; %s offloaded", bytesStr(m.GenerationWeights), bytesStr(m.KVCache), r.Slots, bytesStr(m.Scoring), bytesStr(m.Training), bytesStr(m.Offloaded)),
		fmt.Sprintf("refit: %s of weights per engine replica", bytesStr(r.RefitBytes)),
	})
	if r.PromptsTimeS > 0 {
		d.para("Prompts:", "%s prompts take %s.", count(r.Prompts), secs(r.PromptsTimeS))
	}
	if len(r.Timeline) > 0 {
		tl := &Table{Header: []string{"step", "lane", "phase", "start", "end"}, Right: []bool{true, false, false, true, true}}
		for _, s := range r.Timeline {
			if s.Lane != "engine 0" && s.Lane != "train" {
				continue
			}
			tl.Rows = append(tl.Rows, []string{fmt.Sprint(s.Step), s.Lane, s.Phase, secs(s.StartS), secs(s.EndS)})
		}
		d.para("Timeline:", "the replayed steps on the first engine and the training pool, in order.")
		d.table(tl)
	}
	if len(r.Notes) > 0 {
		d.list(r.Notes)
	}
}
