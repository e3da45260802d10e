// Package sim is a discrete-event engine that runs tasks on resources in
// virtual time. It knows nothing of GPUs or transformers: a caller builds a
// Graph of tasks, each bound to one resource (an in-order stream, like a CUDA
// stream or a NIC queue) with a fixed duration and a caller-defined kind, plus
// dependencies between tasks; Run replays it and reports when every task ran.
//
// Time is an integer number of nanoseconds, so results are exact and the same
// on every machine. Events are ordered by (time, sequence number), the
// sequence number assigned when an event is scheduled, so ties are broken the
// same way on every run. The engine has no goroutines, clock, I/O or
// randomness: the same graph always yields the same result.
//
// Resources run their tasks one at a time, in the order the tasks were added
// to them (stream semantics): a task starts when its predecessor on the same
// resource has finished and all of its dependencies have finished. Run records,
// for each task, which predecessor finished last (the one that "bound" its
// start), so that callers can attribute idle time to its cause.
//
// RunChains gives the same result with one event per chain of back-to-back
// tasks (each edge the only one out of its source and into its target),
// ordering tied completions as Run's sequence numbers would. It also replays
// tasks of several members (Append): a task that stands for a chain of
// back-to-back tasks nothing else depends on or waits for, built without
// the unrolled tasks, replayed as they would be (TestAppendEqualsUnrolled);
// Run refuses such graphs.
//
// Tasks whose durations depend on each other — transfers sharing network
// links — are handed to a Network (RunWith, Share): the engine tells it when
// such a task starts, and it tells the engine when its transfers are done.
//
// What it leaves out: preemption and priorities between ready tasks of
// different streams.
package sim
