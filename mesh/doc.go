// Package mesh owns the device mesh of a training job: the arithmetic that
// turns a rank into its coordinate along each parallel dimension and back,
// and the membership of every communication group. Nobody else computes a
// rank; code that needs a tensor-parallel group, a pipeline neighbour or the
// nodes a data-parallel group spans asks a Mesh, so that every part of the
// simulator agrees on which ranks talk to which.
//
// # Dimensions and order
//
// The mesh has five dimensions: tensor (TP), context (CP), expert (EP), data
// (DP) and pipeline (PP) parallelism. Ranks are laid out as in Megatron-Core's
// RankGenerator and PyTorch's DeviceMesh: an order string lists the
// dimensions innermost (fastest-varying) first, and with order d0-d1-d2-...
//
//	rank = c[d0] + S[d0]·(c[d1] + S[d1]·(c[d2] + ...))
//
// where c is the coordinate and S the size of each dimension. The default,
// Megatron-Core's "tp-cp-ep-dp-pp", keeps a tensor-parallel group on
// consecutive ranks, which sit on one node, and puts pipeline stages
// furthest apart; with cp = 1 it is Megatron's rank = tp + TP·(dp + DP·pp).
// Any permutation of the five dimensions is accepted.
//
// # Expert sub-mesh
//
// Mixture-of-experts layers regroup the same ranks differently ("parallel
// folding", as Megatron-Core's expert RankGenerator does): the dense mesh
// (attention and dense layers) is tp × cp × dp × pp with ep = 1, and the
// expert mesh is etp × ep × expert-dp × pp with cp = 1, where
// expert-dp = world/(etp·ep·pp). Both use the same order and must cut the
// ranks into the same pipeline stages, so a stage holds both kinds of layer.
// Mesh.Expert returns the expert mesh.
//
// # Placement
//
// Consecutive ranks fill a node, and consecutive nodes fill a leaf switch.
// Node, Leaf, Span and CrossesNode say where a group sits, which is what a
// collective cost model needs to pick between NVLink and the network.
//
// # What it leaves out
//
// The mesh holds no costs, bandwidths or model shapes: it does not decide
// whether a configuration fits in memory, which collective algorithm runs
// over a group, or how layers are split among pipeline stages. It has no
// encoder/decoder split (Megatron's rank offset), no virtual pipeline
// stages, and no placement other than rank-major filling of nodes. A Mesh is
// immutable once New returns, and the package has no mutable state.
package mesh
