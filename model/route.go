package model

// DestinationNodes is the expected number of distinct nodes one token's
// TopK routed copies reach when the Experts are spread over nodes in equal
// contiguous blocks (expert-parallel rank r holds experts r·E/ep …, ranks
// filling a node before the next), under balanced routing: every set of
// TopK experts (within the chosen groups, under group-limited routing)
// equally likely, as forced load balancing draws them. It counts the
// token's own node when one of its experts lives there. With
// RouterGroups G and RouterGroupTopK M < G (DeepSeek-V3's node-limited
// routing, §2.1.2):
//
//   - G a multiple of nodes (each node holds G/nodes whole groups): the
//     token reaches the nodes of its M groups, each chosen group taken to
//     receive at least one copy (DeepSeek-V3 ranks groups by the sum of
//     their two best affinities, so a chosen group holds high-scoring
//     experts): nodes × (1 − C(G − G/nodes, M)/C(G, M));
//   - nodes a multiple of G (a group spans nodes/G nodes): the copies are
//     spread over the M·E/G experts of the chosen groups:
//     M · nodes/G · (1 − C(M·E/G − E/nodes, K)/C(M·E/G, K));
//   - otherwise, and without groups (or M = G): the TopK copies over all
//     E experts: nodes × (1 − C(E − E/nodes, K)/C(E, K)).
//
// nodes ≤ 1, or a dense model, gives 1.
func (c Config) DestinationNodes(nodes int) float64 {
	e, k := c.Experts, c.TopK
	if nodes <= 1 || e <= 0 || k <= 0 || e%nodes != 0 {
		return 1
	}
	perNode := e / nodes
	g, m := c.RouterGroups, c.RouterGroupTopK
	if g > 0 && m > 0 && m < g && e%g == 0 {
		switch {
		case g%nodes == 0:
			return float64(nodes) * (1 - chooseRatio(g-g/nodes, g, m))
		case nodes%g == 0:
			pool := m * e / g
			return float64(m*nodes/g) * (1 - chooseRatio(pool-perNode, pool, k))
		}
	}
	return float64(nodes) * (1 - chooseRatio(e-perNode, e, k))
}

// chooseRatio is C(a, k)/C(b, k) for 0 ≤ a ≤ b: the chance that k items
// drawn without replacement from b all fall among a given a of them.
func chooseRatio(a, b, k int) float64 {
	if a < k {
		return 0
	}
	r := 1.0
	for i := 0; i < k; i++ {
		r *= float64(a-i) / float64(b-i)
	}
	return r
}
