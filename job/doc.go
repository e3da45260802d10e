// Package job models the whole training run around the replayed step: the
// interruptions a large job suffers (failures of GPUs, nodes and links), the
// checkpoints it writes, the restarts, and the cost of slow GPUs, as a seeded
// Monte Carlo over the run. It answers "when will training be done, and how
// sure are we": the time to train as quantiles with confidence intervals,
// the goodput, where the lost time went, the expected number of
// interruptions and the checkpoint interval that minimises the expected
// wall time.
//
// The model is the one behind Young's (1974) and Daly's (2006) optimum
// checkpoint intervals: interruptions arrive as a Poisson process whose rate
// is the sum of every part's failure rate times the share that kills the job;
// they can strike during training, checkpoint writes and restarts; each
// loses the training since the last completed checkpoint and costs a
// restart. The mean of the Monte Carlo is checked against Daly's closed form
// in the tests, and the best interval against √(2·δ·M).
//
// It knows nothing of GPUs' work: the caller passes the training time of
// the whole run (from the step replay) and what stragglers add to it. Every
// random draw comes from the *rand.Rand the caller passes, so a seed gives
// the same result on every machine.
//
// Left out: failures that only slow the job (degraded links that stay up),
// correlated failures (a switch taking a rack down at once), checkpoints
// written asynchronously while training goes on, and a changing cluster
// size after failures (elastic training).
package job
