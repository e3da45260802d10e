// Package scenario reads a training scenario — the TOML file a user writes to
// describe a model, a cluster, a parallel layout and a training run — and
// resolves it into a parallelism.Job that the simulator can replay.
//
// Load decodes the file, applies the command-line overrides (--set
// KEY=VALUE, each KEY a dotted path such as parallelism.tp), starts from the
// built-in presets the file names (model.preset, cluster.system,
// cluster.gpu.preset) and lets every explicit key override them, fills the
// documented defaults, and validates the result. It never stops at the first
// problem: it returns an ErrorList with every problem it found, sorted by line,
// each printed as "file:line: key: what is wrong" so that an editor can jump to
// it. Problems caused by a --set flag are reported against the file "--set".
//
// Quantities with units are strings with the unit written ("80GiB", "2.5us",
// "312TFLOP/s", "200Gb/s") and are parsed by the units package; bare numbers
// are counts. Unknown keys are errors, reported with the closest known key as
// a suggestion, and keys of the [job] table are rejected as not supported yet
// rather than ignored.
//
// Defaults: seed 1; name the file's base name; tp, pp, cp, ep 1; dp the GPU
// count divided by tp × pp × cp; microbatch 1; schedule "1f1b";
// virtual_stages 1, or 2 with the "interleaved" schedule; recompute "none";
// zero 0; overlap_grad_reduce true; sequence_parallel and tp_overlap false;
// precision "bf16"; attention "flash"; tokens 0 (no time-to-train estimate); steps 1; network
// "analytical"; ranks "symmetric"; oversubscription 1.
//
// Without a model preset, layers, hidden, heads, seq_len and vocab are
// required; kv_heads defaults to heads and ffn_hidden to 4 × hidden. With a
// preset, kv_heads follows an overridden heads and ffn_hidden an overridden
// hidden as long as the preset itself had kv_heads = heads and
// ffn_hidden = 4 × hidden. Without a system preset, gpus_per_node and the
// GPU, NVLink and network figures are required, each reported by name.
//
// The package reads no files and no environment: the caller passes the
// file's name and bytes. It does not decide whether a job fits in memory or
// how fast it runs; it only rejects descriptions that cannot be simulated.
package scenario
