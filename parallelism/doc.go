// Package parallelism turns a training job — a model, a cluster and a parallel
// layout — into a task graph for the sim engine, replays it, and accounts for
// the result: step time, where the time went, communication per kind, link
// load, memory per GPU and feasibility.
//
// The step is data. Package model describes each kind of layer, per pass, as
// a program of compute and collective steps (model.Config.Programs); this
// package compiles those programs with the collectives the layout adds around
// them, prices everything once, and emits it with one builder whatever the
// layer. The replay runs in stages, each handing the next a plain value:
//
//   - layout.go: the Job (model, cluster, layout, training, options,
//     calibration), its validation and the split of the layers over the
//     pipeline's virtual stages.
//   - groups.go: the job's device mesh (package mesh, Megatron-Core's rank
//     order) and where the representative group of a stage sits; no rank is
//     computed here.
//   - price.go: the pricer. Every step of the layer programs and every
//     collective gets an index, and its duration on this hardware is computed
//     once (a collective once per pipeline stage).
//   - plan.go: newPlan compiles the layer programs and the layout's
//     collectives — pipeline sends, gradient buckets and reductions, ZeRO
//     reduce-scatters and gathers, the tied-embedding all-reduce — and the
//     optimizer step, into a plan.
//   - schedule.go: the order of a stage's passes under GPipe, 1F1B or
//     interleaved 1F1B, as Megatron-LM orders them.
//   - emit.go: the builder. It unrolls the steps × lanes (a lane is one
//     simulated GPU: a pipeline stage of one replica) × schedule, walking any
//     layer program (emit), on five streams per lane, with the cross-stage
//     edges and the optimizer barrier.
//   - strategy.go: what shapes a replay without changing what is emitted —
//     the timing of communication (analytical, or the flow network), the
//     replicas replayed (symmetric: one pipeline stands for all; full: every
//     data-parallel replica, one rank per tensor-parallel group, whose
//     data-parallel collectives start when the last replica reaches them) and
//     the duration of each step on each GPU.
//   - flownet.go: the flow-level network adapter (simulation.network =
//     "flow"): each communication task becomes transfers sharing links
//     max-min fairly (package flow).
//   - account.go: the accounting, a pure function of the task graph, what
//     emission recorded of each task and the engine's result.
//   - memory.go: memory per GPU (weights, gradients, optimizer state,
//     activations of the in-flight micro-batches the schedule reaches).
//   - simulate.go: Simulate, replay, runPlan, the result, LayerTimes.
//
// The bubble, the exposed communication and the in-flight micro-batches that
// size activation memory come out of the replay rather than from closed
// forms. Communication that overlaps computation slows it by the SMs its
// kernels take (compute.Model.CommSlowdown).
//
// What it leaves out: context parallelism and expert parallelism (MoE), which
// Validate rejects although the mesh has their dimensions; a replay of every
// tensor-parallel rank (one rank stands for its group, in both replica
// modes); slow links (slow GPUs are modelled, variation.go); the HBM traffic of
// overlapped communication; contention between concurrent transfers in
// analytical mode beyond the NIC share and the oversubscription of groups
// spanning leaves; and job-level events (failures, checkpoints, restarts).
// Activation memory and recomputation FLOPs are closed forms, not derived
// from the layer programs.
package parallelism
