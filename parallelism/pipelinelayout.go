package parallelism

import (
	"fmt"
	"strconv"
	"strings"

	"trainsim/field"
)

// A pipeline layout places the model's parts on the virtual pipeline
// stages by hand (parallelism.pipeline_layout), in Megatron-Core's string
// form (--pipeline-model-parallel-layout; megatron/core/transformer/
// pipeline_parallel_layer_layout.py, PipelineParallelLayerLayout.
// parse_str_to_list, NVIDIA/Megatron-LM @ 00caa53a): one letter per part —
// E the embedding, t a transformer (decoder) layer, m a multi-token-
// prediction module, L the loss (the output layer) — stages separated by
// "|", in virtual-stage order (stage s of chunk c is entry c·pp + s), "x*n"
// repeating a letter and "(…)*n" a group (no nesting), commas ignored.
// DeepSeek-V3 on 16 stages in Megatron-Bridge's recipe (src/megatron/
// bridge/recipes/deepseek/deepseek_v3.py @ 5776a6d9): "Etttt|(tttt|)*14tmL".
//
// The replay builds the embedding on the first virtual stage and the
// output layer and the MTP modules on the last, so a layout must keep them
// there: E first in the first stage, L last in the last stage, every m in
// the last stage after its transformer layers (Megatron-Core too requires
// E first, L last, and the MTP modules after every decoder layer; its
// "standalone" MTP stage, m on another rank than the loss, is not
// modelled). A stage may hold no transformer layer, as Megatron-Core
// allows: Megatron-Bridge's H100 DeepSeek-V3 configuration puts only the
// MTP module and the loss on its last ("Et|(tt|)*30mL", scripts/
// performance/configs/deepseek/deepseek_workload_base_configs.py @
// c0b9a000), and an empty stage only passes the activations on.

// pipelineStage is one virtual stage of a pipeline layout.
type pipelineStage struct {
	layers, mtp    int
	embedding, end bool // holds E first; holds L last
}

// maxLayoutLetters bounds an expanded layout, so that "t*999999999" is
// refused instead of allocated.
const maxLayoutLetters = 1 << 16

// parsePipelineLayout parses a layout string into its virtual stages. Its
// error says what is wrong with the text alone; checkPipelineLayout checks
// it against the model and the layout.
func parsePipelineLayout(s string) ([]pipelineStage, error) {
	text := strings.ReplaceAll(s, ",", "")
	expanded, err := expandLayout(text)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(expanded, "|")
	out := make([]pipelineStage, len(parts))
	for i, p := range parts {
		st := &out[i]
		for k, r := range p {
			switch r {
			case 't':
				if st.mtp > 0 {
					return nil, fmt.Errorf("stage %d: a transformer layer (t) after a multi-token-prediction module (m); MTP modules follow every transformer layer", i)
				}
				st.layers++
			case 'm':
				st.mtp++
			case 'E':
				if i != 0 || k != 0 {
					return nil, fmt.Errorf("the embedding (E) must be the first letter of the first stage (stage %d holds one at position %d)", i, k)
				}
				st.embedding = true
			case 'L':
				if i != len(parts)-1 || k != len(p)-1 {
					return nil, fmt.Errorf("the loss (L) must be the last letter of the last stage (stage %d holds one at position %d)", i, k)
				}
				st.end = true
			default:
				return nil, fmt.Errorf("unknown letter %q in stage %d; allowed: E (embedding), t (transformer layer), m (multi-token-prediction module), L (loss), | between stages, x*n and (…)*n to repeat", r, i)
			}
		}
	}
	if !out[0].embedding {
		return nil, fmt.Errorf("the first stage must begin with the embedding (E)")
	}
	if !out[len(out)-1].end {
		return nil, fmt.Errorf("the last stage must end with the loss (L)")
	}
	return out, nil
}

// expandLayout unrolls the repetitions of a layout string: "(…)*n" first,
// then "x*n", as Megatron-Core's two regular expressions do.
func expandLayout(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == ')' {
			return "", fmt.Errorf("unbalanced ')' at position %d", i)
		}
		if s[i] != '(' {
			b.WriteByte(s[i])
			i++
			continue
		}
		end := strings.IndexByte(s[i+1:], ')')
		if end < 0 {
			return "", fmt.Errorf("unbalanced '(' at position %d", i)
		}
		group := s[i+1 : i+1+end]
		if strings.ContainsRune(group, '(') {
			return "", fmt.Errorf("nested parentheses at position %d are not allowed", i)
		}
		n, next, err := repeatCount(s, i+3+end)
		if err != nil {
			return "", fmt.Errorf("the group %q: %w", "("+group+")", err)
		}
		if b.Len()+len(group)*n > maxLayoutLetters {
			return "", fmt.Errorf("expands to more than %d letters", maxLayoutLetters)
		}
		for range n {
			b.WriteString(group)
		}
		i = next
	}
	s = b.String()
	b.Reset()
	for i := 0; i < len(s); i++ {
		if s[i] == '*' {
			return "", fmt.Errorf("'*' at position %d follows no letter", i)
		}
		if i+1 < len(s) && s[i+1] == '*' {
			n, next, err := repeatCount(s, i+2)
			if err != nil {
				return "", fmt.Errorf("%q: %w", s[i:i+1], err)
			}
			if b.Len()+n > maxLayoutLetters {
				return "", fmt.Errorf("expands to more than %d letters", maxLayoutLetters)
			}
			b.WriteString(strings.Repeat(s[i:i+1], n))
			i = next - 1
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String(), nil
}

// repeatCount reads the count of a repetition whose "*" is at s[at−1]:
// the digits from at, returned with the position after them.
func repeatCount(s string, at int) (int, int, error) {
	if at-1 >= len(s) || s[at-1] != '*' {
		return 0, 0, fmt.Errorf("a group must be followed by *n")
	}
	end := at
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(s[at:end])
	if err != nil || n < 1 || n > maxLayoutLetters {
		return 0, 0, fmt.Errorf("the repeat count after '*' must be a whole number from 1 to %d", maxLayoutLetters)
	}
	return n, end, nil
}

// checkPipelineLayout returns the problem of the job's pipeline layout,
// if any: unreadable, or not matching pp × virtual_stages, model.layers
// and model.mtp_depth.
func (j Job) checkPipelineLayout() []field.Error {
	l := j.Layout
	if l.PipelineLayout == "" {
		return nil
	}
	const key = "parallelism.pipeline_layout"
	stages, err := parsePipelineLayout(l.PipelineLayout)
	if err != nil {
		return []field.Error{field.Errorf(key, "%q: %v", l.PipelineLayout, err)}
	}
	var errs []field.Error
	if n := l.PP * l.VirtualStages; len(stages) != n {
		errs = append(errs, field.Errorf(key, "%q has %d stages; pp × virtual_stages = %d × %d = %d (stages are separated by |)", l.PipelineLayout, len(stages), l.PP, l.VirtualStages, n).
			Using("parallelism.pp", "parallelism.virtual_stages"))
		return errs
	}
	layers, mtp := 0, 0
	for i, st := range stages {
		layers += st.layers
		mtp += st.mtp
		if st.mtp > 0 && i != len(stages)-1 {
			errs = append(errs, field.Errorf(key, "%q: stage %d holds a multi-token-prediction module (m); they go in the last stage, with the loss", l.PipelineLayout, i).Using("model.mtp_depth"))
		}
	}
	if layers != j.Model.Layers {
		errs = append(errs, field.Errorf(key, "%q places %d transformer layers (t); model.layers is %d: the stages' layers must add up to it", l.PipelineLayout, layers, j.Model.Layers).Using("model.layers"))
	}
	if mtp != j.Model.MTPDepth {
		errs = append(errs, field.Errorf(key, "%q places %d multi-token-prediction modules (m); model.mtp_depth is %d", l.PipelineLayout, mtp, j.Model.MTPDepth).Using("model.mtp_depth"))
	}
	return errs
}

// StageLayers returns the transformer layers of each virtual stage, in
// virtual-stage order (chunk c of stage s is entry c·pp + s): the pipeline
// layout's when it is set (and readable), else the remainder rule of
// LayersOf. Each call reads the layout and returns a new slice.
func (j Job) StageLayers() []int {
	n := j.Layout.PP * j.Layout.VirtualStages
	out := make([]int, n)
	if j.Layout.PipelineLayout != "" {
		if st, err := parsePipelineLayout(j.Layout.PipelineLayout); err == nil && len(st) == n {
			for i := range st {
				out[i] = st[i].layers
			}
			return out
		}
	}
	for vs := range out {
		out[vs] = j.evenLayersOf(vs)
	}
	return out
}

// PipelineLayoutStages returns the number of virtual stages a readable
// pipeline layout string describes (as parsePipelineLayout counts them);
// for an expanded layout (ExpandPipelineLayout: no repetition left) it
// only counts the bars, without allocating, which a layout search does for
// every candidate. For an unreadable string it returns 0.
func PipelineLayoutStages(s string) int {
	if !strings.ContainsAny(s, "(*") {
		return strings.Count(s, "|") + 1
	}
	st, err := parsePipelineLayout(s)
	if err != nil {
		return 0
	}
	return len(st)
}

// ExpandPipelineLayout returns a layout string with its repetitions
// unrolled and its commas dropped ("E(tt|)*2L" → "Ett|ttL"): the same
// layout, whose stages PipelineLayoutStages counts without parsing.
func ExpandPipelineLayout(s string) (string, error) {
	return expandLayout(strings.ReplaceAll(s, ",", ""))
}
