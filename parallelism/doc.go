// Package parallelism turns a training job — a model, a cluster and a parallel
// layout — into a task graph for the sim engine, replays it, and accounts for
// the result: step time, where the time went, communication per kind, link
// load, memory per GPU and feasibility.
//
// Ranks are placed in Megatron-LM's order (tensor-parallel innermost, then
// data-parallel, pipeline outermost). One training step is unrolled stage by
// stage from the pipeline schedule (GPipe, 1F1B or interleaved 1F1B, as
// Megatron-LM orders the passes), each pass into per-layer blocks separated by
// their tensor-parallel collectives; pipeline sends, data-parallel gradient
// reductions (blocking or overlapped in buckets), ZeRO sharding and activation
// recomputation add their tasks and dependencies. The bubble, the exposed
// communication and the in-flight micro-batches that size activation memory
// all come out of the replay rather than from closed forms.
//
// The replay is symmetric: it simulates one pipeline with one rank per
// tensor-parallel group and takes every data-parallel replica to run the same
// program at the same time. What it leaves out: context and expert
// parallelism, a replay of every rank, and communication slowing the
// computation it overlaps.
package parallelism
