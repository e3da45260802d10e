// Package compute turns one kernel (a model.Op) into time on one GPU.
//
// A GEMM's time is its FLOPs over the tensor-core peak times an efficiency
// that depends on the shape: tile quantization (the last row and column of
// output tiles is partly empty), wave quantization (the last wave of thread
// blocks leaves SMs idle) and the fixed cost of each tile's prologue and
// epilogue, which small K cannot amortise. A memory-bound kernel's time is
// its HBM traffic over the achievable HBM bandwidth. Every kernel also pays a
// fixed launch-and-tail cost. A GEMM is never faster than its own HBM traffic
// allows (a roofline).
//
// Every constant is per GPU family, named in Params and documented in
// docs/model.md with its source; none is fitted to one training run.
//
// What it leaves out: clock throttling under power limits (folded into the
// sustained-peak fraction), L2-cache reuse between kernels, and kernels
// running concurrently on one GPU.
package compute
