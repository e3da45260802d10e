// Package validation replays published measurements of large-model training
// runs and compares what trainsim predicts with what was measured.
//
// The measurements are data, embedded from data/published.toml (56 cases: the
// Megatron-LM SC21 paper, Korthikanti et al. 2022, the Megatron-LM README
// tables of 2021 and 2024 and the NeMo 24.07 performance summary),
// data/moe-cp.toml (19 runs with expert or context parallelism:
// Megatron-Bridge 25.11, NeMo's long-sequence runs, DeepSeek-V3) and
// data/memory.toml (the per-GPU memory of the four Korthikanti et al. models),
// each number with its citation. Cases turns every case into a replay plan:
// the model shape, the cluster, the parallel layout, the measured figure and
// the metric it is compared on. Where a source leaves a knob unknown, one
// documented rule — the same for every case, listed by Rules — fills it, and
// the case records which rules it needed. A replay goes through the same path
// as a user's scenario: a TOML scenario text, scenario.Load,
// Scenario.Validate, then parallelism.Simulate (or parallelism.LayerTimes for
// the per-layer table).
//
// Run replays the cases on a bounded pool of workers and returns, per case,
// the prediction, the measurement and the signed error (predicted − measured)
// / measured; per group and overall, the mean absolute error and the bias
// (mean signed error). Cases whose source is marked low confidence are
// listed but not scored. A case whose tp or pp is unknown is replayed on
// the fastest layout the search package finds among those its software
// stack can express that keep what the case states (layoutsearch.go), and
// says which. A prediction that the
// simulator finds infeasible (out of memory) is still scored: the run it is
// compared with did run, so that is a model error, not a reason to skip it.
//
// What it leaves out: no constant of the simulator is tuned here, and no case
// is looked up by name to be treated differently. The package does no I/O
// beyond writing reports to the io.Writer it is given.
package validation
