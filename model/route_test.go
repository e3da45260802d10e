package model

import (
	"math"
	"testing"
)

// enumerateNodes is the mean number of distinct nodes over every equally
// likely routing of one token: choose the groups (all subsets of m of g
// groups, or every group when g = 0), then every subset of k experts of
// the chosen groups' experts; expert x lives on node x / (e/nodes).
// coveredGroups says whether a routing counts only if every chosen group
// holds one of the k experts (DeepSeek's group choice, see
// DestinationNodes); then the mean is over the group choices alone, each
// chosen group's node counted.
func enumerateNodes(e, k, g, m, nodes int, coveredGroups bool) float64 {
	perNode := e / nodes
	var groupSets [][]int
	if g == 0 {
		g, m = 1, 1
	}
	var pick func(start int, cur []int)
	pick = func(start int, cur []int) {
		if len(cur) == m {
			groupSets = append(groupSets, append([]int(nil), cur...))
			return
		}
		for i := start; i < g; i++ {
			pick(i+1, append(cur, i))
		}
	}
	pick(0, nil)
	perGroup := e / g
	total, count := 0.0, 0.0
	for _, gs := range groupSets {
		if coveredGroups {
			seen := map[int]bool{}
			for _, grp := range gs {
				for x := grp * perGroup; x < (grp+1)*perGroup; x++ {
					seen[x/perNode] = true
				}
			}
			total += float64(len(seen))
			count++
			continue
		}
		var pool []int
		for _, grp := range gs {
			for x := grp * perGroup; x < (grp+1)*perGroup; x++ {
				pool = append(pool, x)
			}
		}
		var walk func(start int, chosen []int)
		walk = func(start int, chosen []int) {
			if len(chosen) == k {
				seen := map[int]bool{}
				for _, x := range chosen {
					seen[x/perNode] = true
				}
				total += float64(len(seen))
				count++
				return
			}
			for i := start; i < len(pool); i++ {
				walk(i+1, append(chosen, pool[i]))
			}
		}
		walk(0, nil)
	}
	return total / count
}

// TestDestinationNodes checks the expected distinct destination nodes per
// token by hand (exact combinatorics) and against an enumeration of every
// routing, for the three cases DestinationNodes distinguishes.
func TestDestinationNodes(t *testing.T) {
	tests := []struct {
		name               string
		e, k, g, m, nodes  int
		hand               float64
		enumerate, covered bool
	}{
		// DeepSeek-V3 on EP 32 over four 8-GPU nodes: 8 groups of 32, 4
		// chosen, two groups a node: 4·(1 − C(6,4)/C(8,4)) = 4·(1 − 15/70).
		{"dsv3 ep32", 256, 8, 8, 4, 4, 4 * (1 - 15.0/70), true, true},
		// EP 64 over eight nodes, a group a node: 8·(1 − C(7,4)/C(8,4)) = 4.
		{"dsv3 ep64", 256, 8, 8, 4, 8, 4, true, true},
		// EP 16 over two nodes: 2·(1 − C(4,4)/C(8,4)) = 2·69/70.
		{"dsv3 ep16", 256, 8, 8, 4, 2, 2 * 69.0 / 70, true, true},
		// Ungrouped, small enough to enumerate: 16 experts, top-4, four
		// nodes: 4·(1 − C(12,4)/C(16,4)) = 4·(1 − 495/1820).
		{"ungrouped 16/4 over 4", 16, 4, 0, 0, 4, 4 * (1 - 495.0/1820), true, false},
		// Qwen3-30B-A3B on EP 16 over two nodes: 2·(1 − C(64,8)/C(128,8)).
		{"qwen3-30b ep16", 128, 8, 0, 0, 2, 2 * (1 - chooseRatioHand(64, 128, 8)), false, false},
		// A group spanning two nodes: 16 experts in 2 groups, 1 chosen,
		// top-2, four nodes: 1·2·(1 − C(4,2)/C(8,2)) = 2·(1 − 6/28).
		{"group over 2 nodes", 16, 2, 2, 1, 4, 2 * (1 - 6.0/28), true, false},
		// Every group chosen is no limit: as ungrouped.
		{"m = g", 16, 4, 4, 4, 4, 4 * (1 - 495.0/1820), true, false},
		{"one node", 256, 8, 8, 4, 1, 1, false, false},
	}
	for _, tt := range tests {
		c := Config{Experts: tt.e, TopK: tt.k, RouterGroups: tt.g, RouterGroupTopK: tt.m}
		got := c.DestinationNodes(tt.nodes)
		if math.Abs(got-tt.hand) > 1e-9 {
			t.Errorf("%s: DestinationNodes = %.9f, hand %.9f", tt.name, got, tt.hand)
		}
		if tt.enumerate {
			g, m := tt.g, tt.m
			if m == g {
				g, m = 0, 0
			}
			if en := enumerateNodes(tt.e, tt.k, g, m, tt.nodes, tt.covered); math.Abs(got-en) > 1e-9 {
				t.Errorf("%s: DestinationNodes = %.9f, enumeration %.9f", tt.name, got, en)
			}
		}
	}
}

// chooseRatioHand is C(a,k)/C(b,k) from factorials' logarithms, a second
// way to the product chooseRatio takes.
func chooseRatioHand(a, b, k int) float64 {
	lc := func(n, r int) float64 {
		x, _ := math.Lgamma(float64(n + 1))
		y, _ := math.Lgamma(float64(r + 1))
		z, _ := math.Lgamma(float64(n - r + 1))
		return x - y - z
	}
	return math.Exp(lc(a, k) - lc(b, k))
}

// TestRouterGroupsValidate refuses group settings that cannot route.
func TestRouterGroupsValidate(t *testing.T) {
	base, ok := Preset("deepseek-v3")
	if !ok {
		t.Fatal("no deepseek-v3 preset")
	}
	tests := []struct {
		name string
		g, m int
		bad  bool
	}{
		{"preset", 8, 4, false},
		{"none", 0, 0, false},
		{"negative", -1, 0, true},
		{"not dividing", 7, 4, true},
		{"topk above groups", 8, 9, true},
		{"topk zero", 8, 0, true},
		{"too few experts", 128, 1, true},
		{"topk without groups", 0, 2, true},
	}
	for _, tt := range tests {
		c := base
		c.RouterGroups, c.RouterGroupTopK = tt.g, tt.m
		if errs := c.Validate(); (len(errs) > 0) != tt.bad {
			t.Errorf("%s: Validate() = %v, want error %v", tt.name, errs, tt.bad)
		}
	}
}
