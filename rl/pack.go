package rl

import "sort"

// Packing: how a framework that packs variable-length samples into
// micro-batches of a token budget forms them, and what a padded
// micro-batch costs.
//
// NeMo-RL (nemo_rl/data/packing/algorithms.py at r0.6.0,
// ModifiedFirstFitDecreasingPacker, its default "modified_first_fit_decreasing")
// packs each chunk of samples (an optimizer step's train_global_batch for
// training, the whole step's samples for the log-probabilities) into bins
// of at most the micro-batch's tokens (train_mb_tokens = the longest total
// sequence × train_micro_batch_size; logprob_mb_tokens likewise with
// logprob_batch_size), then makes the bin count at least and a multiple of
// the data-parallel ranks (SequencePacker._adjust_bin_count with
// min_bin_count = bin_count_multiple = shards, distributed/batched_data_dict.py
// shard_by_batch_size) and deals the bins to the ranks in turn. Under
// pipeline parallelism every micro-batch must have one shape, so each is
// padded to the longest bin (models/megatron/data.py
// _get_pack_sequence_parameters_for_megatron: pad_packed_seq_to =
// max_seq_len_in_batch when pipeline_model_parallel_size > 1).

// PackBins packs sequences of the given lengths into bins of at most
// capacity tokens with the modified first-fit-decreasing heuristic of
// Johnson & Garey (1985) in the phases NeMo-RL runs it, then raises the bin
// count to a multiple of multiple (at least multiple), moving one sequence
// at a time out of the bins holding most (SequencePacker._adjust_bin_count).
// It returns the bins' token counts. A length above capacity is clamped to
// it (the caller's lengths never exceed the pack length).
func PackBins(lengths []int, capacity, multiple int) []int {
	if capacity < 1 {
		capacity = 1
	}
	c := float64(capacity)
	var large, medium, small, tiny []int
	for _, l := range lengths {
		s := min(max(l, 1), capacity)
		switch f := float64(s); {
		case f > c/2:
			large = append(large, s)
		case f > c/3:
			medium = append(medium, s)
		case f > c/6:
			small = append(small, s)
		default:
			tiny = append(tiny, s)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(large)))
	sort.Sort(sort.Reverse(sort.IntSlice(medium)))
	sort.Ints(small)
	sort.Ints(tiny)
	// Each bin: its sequences' sizes.
	bins := make([][]int, len(large))
	sums := make([]int, len(large))
	for i, s := range large {
		bins[i], sums[i] = []int{s}, s
	}
	hasMedium := make([]bool, len(bins))
	// Phase 2: one medium item into each large bin, forward.
	for i := range bins {
		rem := capacity - sums[i]
		for k, s := range medium {
			if s <= rem {
				bins[i] = append(bins[i], s)
				sums[i] += s
				hasMedium[i] = true
				medium = append(medium[:k], medium[k+1:]...)
				break
			}
		}
	}
	// Phase 3: two small items into bins without a medium one, backward.
	for i := len(bins) - 1; i >= 0; i-- {
		if hasMedium[i] || len(small) < 2 {
			continue
		}
		rem := capacity - sums[i]
		if small[0]+small[1] > rem {
			continue
		}
		first := small[0]
		small = small[1:]
		for k := len(small) - 1; k >= 0; k-- {
			if small[k] <= rem-first {
				second := small[k]
				small = append(small[:k], small[k+1:]...)
				bins[i] = append(bins[i], first, second)
				sums[i] += first + second
				break
			}
		}
	}
	// Phase 4: the remaining items, largest first, greedily into the bins.
	rest := append(append(append([]int(nil), medium...), small...), tiny...)
	sort.Sort(sort.Reverse(sort.IntSlice(rest)))
	for i := range bins {
		for len(rest) > 0 {
			rem := capacity - sums[i]
			if rem < rest[len(rest)-1] {
				break
			}
			k := sort.Search(len(rest), func(k int) bool { return rest[k] <= rem })
			bins[i] = append(bins[i], rest[k])
			sums[i] += rest[k]
			rest = append(rest[:k], rest[k+1:]...)
		}
	}
	// Phase 5: first-fit decreasing on the leftovers, the open bins kept
	// ordered by fill so that only the emptiest is tried (NeMo-RL's
	// O(n log n) form).
	var open [][]int
	var fill []int
	for _, s := range rest {
		var b []int
		f := 0
		if len(open) > 0 && s <= capacity-fill[0] {
			b, f = open[0], fill[0]
			open, fill = open[1:], fill[1:]
		}
		b = append(b, s)
		f += s
		k := sort.SearchInts(fill, f+1) // bisect_right
		open = append(open, nil)
		fill = append(fill, 0)
		copy(open[k+1:], open[k:])
		copy(fill[k+1:], fill[k:])
		open[k], fill[k] = b, f
	}
	bins = append(bins, open...)
	// The bin count: at least multiple and a multiple of it.
	if multiple > 1 {
		target := max(len(bins), multiple)
		if r := target % multiple; r != 0 {
			target += multiple - r
		}
		n := 0
		for _, b := range bins {
			n += len(b)
		}
		target = min(target, n)
		order := make([]int, len(bins))
		for i := range order {
			order[i] = i
		}
		// Largest bins (by sequence count) first, ties by index, as
		// Python's sort of (len, i) pairs in reverse.
		sort.SliceStable(order, func(a, b int) bool {
			la, lb := len(bins[order[a]]), len(bins[order[b]])
			if la != lb {
				return la > lb
			}
			return order[a] > order[b]
		})
		src := 0
		for len(bins) < target {
			for src < len(order) && len(bins[order[src]]) < 2 {
				src++
			}
			if src == len(order) {
				break
			}
			b := bins[order[src]]
			last := b[len(b)-1]
			bins[order[src]] = b[:len(b)-1]
			bins = append(bins, []int{last})
		}
	}
	out := make([]int, len(bins))
	for i, b := range bins {
		for _, s := range b {
			out[i] += s
		}
	}
	return out
}

// padded is the micro-batches of a packed chunk under pipeline parallelism:
// the bin count and the longest bin's tokens, the length every micro-batch
// is padded to.
func padded(lengths []int, capacity, multiple int) (bins, longest int) {
	sums := PackBins(lengths, capacity, multiple)
	for _, s := range sums {
		longest = max(longest, s)
	}
	return len(sums), longest
}

// sampleLengths is the prompt + response lengths of n samples of the step's
// response distribution (ResponseLengths).
func (c Config) sampleLengths(n int) []int {
	out := ResponseLengths(n, c.ResponseMean, c.ResponseMax)
	for i := range out {
		out[i] += c.PromptLen
	}
	return out
}
