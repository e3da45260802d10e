package scenario

import (
	"fmt"
	"strings"
)

// suggest returns the candidate closest to word, or "" when none is close
// enough to be what was meant. Case is ignored.
func suggest(word string, candidates []string) string {
	best, bestDist := "", -1
	w := strings.ToLower(word)
	for _, c := range candidates {
		d := editDistance(w, strings.ToLower(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	n := len([]rune(word))
	if bestDist < 0 || bestDist > max(1, n/4) || bestDist >= n {
		return ""
	}
	return best
}

// editDistance is the number of single-rune insertions, deletions,
// substitutions and transpositions of adjacent runes that turn a into b (the
// optimal string alignment distance: Levenshtein's, with "modle" one step
// from "model").
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// d[i][j] is the distance between ra[:i] and rb[:j]; three rows suffice.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// EditDistance is the optimal string alignment distance between a and b
// (see editDistance); other readers of TOML files share it.
func EditDistance(a, b string) int { return editDistance(a, b) }

// megatron maps Megatron-LM's argument names (with - or _) to the scenario
// keys that mean the same, for "did you mean" on an unknown key.
var megatron = map[string]string{
	"tensor_model_parallel_size":   "parallelism.tp",
	"pipeline_model_parallel_size": "parallelism.pp",
	"micro_batch_size":             "parallelism.microbatch",
	"global_batch_size":            "training.global_batch",
	"seq_length":                   "model.seq_len",
	"num_layers":                   "model.layers",
	"hidden_size":                  "model.hidden",
	"num_attention_heads":          "model.heads",
}

// megatronKey returns the scenario key a Megatron-LM argument name means,
// or "".
func megatronKey(name string) string {
	return megatron[strings.ReplaceAll(strings.TrimLeft(strings.ToLower(name), "-"), "-", "_")]
}

// didYouMean returns `did you mean "x"?` for the closest candidate, or
// "allowed: a, b, c" when nothing is close.
func didYouMean(word string, candidates []string) string {
	if s := suggest(word, candidates); s != "" {
		return fmt.Sprintf("did you mean %q?", s)
	}
	// A shortened name ("h100" for "dgx-h100"): the one candidate that
	// holds it whole, if only one does.
	if w := strings.ToLower(word); len(w) >= 3 {
		var holding []string
		for _, c := range candidates {
			if strings.Contains(strings.ToLower(c), w) {
				holding = append(holding, c)
			}
		}
		if len(holding) == 1 {
			return fmt.Sprintf("did you mean %q?", holding[0])
		}
	}
	return "allowed: " + strings.Join(candidates, ", ")
}
