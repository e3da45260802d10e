package scenario

import (
	"fmt"
	"slices"
	"strings"

	"trainsim/field"
	"trainsim/model"
	"trainsim/parallelism"
	"trainsim/topology"
)

// resolve builds the job: the presets first, then every key given over what
// they give, then the declared defaults of the keys not given, then the
// defaults that derive from other keys (kv_heads, ffn_hidden, dp,
// virtual_stages). It reports the presets that do not exist and the keys
// that are required and missing.
func (d *decoder) resolve() parallelism.Job {
	for _, k := range d.keys {
		if k.preset {
			k.value.apply()
		}
	}
	s := &d.set
	base, hasBase := d.modelBase()
	d.missing("model")
	sys, clusterOK := d.clusterBase()
	clusterOK = !d.missing("cluster") && clusterOK
	s.job.Model = base
	s.job.Cluster = topology.Cluster{System: sys}
	d.wholeBase()
	d.applyStack()
	for _, k := range d.keys {
		if !k.preset && k.value != nil {
			k.value.apply()
		}
	}
	d.deriveModel(base, hasBase)
	d.deriveAttention()
	d.deriveNICs(sys)
	d.checkCluster()
	d.deriveLayout(clusterOK)
	d.missing("training")
	if d.given("calibration.file") && s.job.Calibration.File == "" {
		d.add("calibration.file", "empty path (want the name of a TOML file holding a [calibration] table)")
	}
	s.job.Options.Seed = s.seed
	return s.job
}

// validated reports the problems validation finds with j after problems in
// decoding and resolving it, so that one run shows them all, each at the
// line of the key it names. A problem with a key already reported is not
// repeated, and a problem that rests on a broken key — its own or one its
// rule read — is left out: it would only be a consequence of the first
// (tp defaulted to 1 after "tp = abc" does not make a GPU-count problem).
//
// A node or GPU count out of range is a root cause (countRoot): its own
// problems are reported first, then the count is taken as broken, so that
// every rule that read it stays silent.
func (d *decoder) validated(j parallelism.Job) {
	_, errs := j.Validate()
	root, rest, keys := countRoot(j.Cluster, errs)
	d.report(root)
	for _, k := range keys {
		d.broken[k] = true
	}
	d.report(rest)
}

// countRoot splits errs when c's node or GPU count is out of range
// (topology.Cluster.CountsOK): root holds the problems of cluster.nodes and
// cluster.gpus_per_node, rest the others, and keys the count keys that have
// a problem, to take as broken for rest: the GPU-count product, the dp
// derived from it and the generation engines only follow from them. With
// the counts in range, rest is errs.
func countRoot(c topology.Cluster, errs []field.Error) (root, rest []field.Error, keys []string) {
	if c.CountsOK() {
		return nil, errs, nil
	}
	for _, e := range errs {
		if e.Field == "cluster.nodes" || e.Field == "cluster.gpus_per_node" {
			root = append(root, e)
			if !slices.Contains(keys, e.Field) {
				keys = append(keys, e.Field)
			}
		} else {
			rest = append(rest, e)
		}
	}
	return root, rest, keys
}

// report adds the problems errs that are not already reported and that do
// not rest on a broken key.
func (d *decoder) report(errs []field.Error) {
	before := make(map[string]bool, len(d.reported))
	for k := range d.reported {
		before[k] = true
	}
	moot := d.brokenKeys()
	for _, e := range errs {
		if before[e.Field] || moot.covers(e) {
			continue
		}
		d.add(e.Field, e.Msg)
	}
}

// brokenSet is every key and table whose value is not what the user meant.
type brokenSet map[string]bool

// covers reports whether the key of e or a key its rule read is broken: e
// would only be a consequence of the problem that broke it.
func (b brokenSet) covers(e field.Error) bool {
	if b[e.Field] {
		return true
	}
	for _, k := range e.Uses {
		if b[k] {
			return true
		}
	}
	return false
}

// brokenKeys lists every declared key isBroken says is broken, and the
// tables and keys marked broken.
func (d *decoder) brokenKeys() brokenSet {
	b := brokenSet{}
	for k := range d.broken {
		b[k] = true
	}
	for _, k := range d.keys {
		if d.isBroken(k.name) {
			b[k.name] = true
		}
	}
	return b
}

// isBroken reports whether key's value is not what the user meant: the key
// is broken itself, or it was not given and a table holding it is broken, or
// it was not given and its value derives from a broken key (a preset that
// does not exist, the keys its default follows; key.sources).
func (d *decoder) isBroken(key string) bool {
	if d.broken[key] {
		return true
	}
	if d.given(key) {
		return false
	}
	for t := parentKey(key); t != ""; t = parentKey(t) {
		if d.broken[t] {
			return true
		}
	}
	if k, ok := d.schema.keys[key]; ok {
		for _, src := range k.sources() {
			if d.isBroken(src) {
				return true
			}
		}
	}
	return false
}

// missing reports each required key of table that is not set and that no
// preset named would give, saying why it is needed; such a key is broken.
// Keys with the same reason come together, the reasons in the order they
// first appear in the table. A preset named with a value of the wrong kind
// counts as named: its keys are not also reported missing.
func (d *decoder) missing(table string) (any bool) {
	var groups [][]key
	at := map[string]int{}
	for _, k := range d.keys {
		if !k.need.required || !strings.HasPrefix(k.name, table+".") {
			continue
		}
		msg := k.need.message()
		if _, ok := at[msg]; !ok {
			at[msg] = len(groups)
			groups = append(groups, nil)
		}
		groups[at[msg]] = append(groups[at[msg]], k)
	}
	for _, g := range groups {
		if d.anySet(g[0].need.unless) {
			continue
		}
		for _, k := range g {
			if !d.isSet(k.name) {
				d.add(k.name, k.need.message())
				d.broken[k.name] = true
				any = true
			}
		}
	}
	return any
}

// anySet reports whether one of keys was set.
func (d *decoder) anySet(keys []string) bool {
	for _, k := range keys {
		if d.isSet(k) {
			return true
		}
	}
	return false
}

// unknownPreset reports a preset name that is not built in; the preset key is
// broken, and with it every key it would have given.
func (d *decoder) unknownPreset(key, kind, name string, names []string) {
	d.add(key, fmt.Sprintf("no built-in %s called %q; %s", kind, name, didYouMean(name, names)))
	d.broken[key] = true
}

// modelBase is the model the [model] keys override: model.preset's, or a
// custom one.
func (d *decoder) modelBase() (base model.Config, hasBase bool) {
	if !d.given(keyModelPreset) {
		return model.Config{Name: "custom"}, false
	}
	name := d.set.modelPreset
	if p, found := model.Preset(name); found {
		return p, true
	}
	d.unknownPreset(keyModelPreset, "model", name, model.PresetNames())
	return model.Config{}, false
}

// deriveModel fills the model keys whose defaults follow others: kv_heads
// follows heads, and ffn_hidden 4 × hidden, unless given or the preset
// departs from those rules (grouped-query attention, a SwiGLU MLP).
func (d *decoder) deriveModel(base model.Config, hasBase bool) {
	m := &d.set.job.Model
	if !d.given("model.kv_heads") && (!hasBase || base.KVHeads == base.Heads) {
		m.KVHeads = m.Heads
	}
	if !d.given("model.ffn_hidden") && (!hasBase || base.FFNHidden == 4*base.Hidden) {
		m.FFNHidden = 4 * m.Hidden
	}
}

// clusterBase is the node type the [cluster] keys override: cluster.system's
// with cluster.gpu.preset's GPU, or a custom one. ok is false when a preset
// is unknown.
func (d *decoder) clusterBase() (sys topology.System, ok bool) {
	ok = true
	if d.given(keySystem) {
		if p, found := topology.SystemPreset(d.set.system); found {
			sys = p
		} else {
			d.unknownPreset(keySystem, "system", d.set.system, topology.SystemPresetNames())
			ok = false
		}
	} else {
		sys.Name = "custom"
		sys.Network.Oversubscription = 1
	}
	if d.given(keyGPUPreset) {
		if g, found := topology.GPUPreset(d.set.gpuPreset); found {
			sys.GPU = g
		} else {
			d.unknownPreset(keyGPUPreset, "GPU", d.set.gpuPreset, topology.GPUPresetNames())
			ok = false
		}
	}
	if sys.GPU.Name == "" {
		sys.GPU.Name = "custom"
	}
	return sys, ok
}

// deriveNICs scales the system's NIC count to the GPUs per node the
// scenario gives when it overrides cluster.gpus_per_node and does not state
// cluster.network.nics_per_node: the node keeps the system's NICs per GPU
// (a DGX's 8 NICs for 8 GPUs become 4 for 4, not 8 NICs for 4 GPUs, which
// would double each GPU's fabric bandwidth), rounded up to a whole NIC, at
// least 1 (topology.ScaleNICs). The report's notes say so
// (topology.System.NICNote). A stated nics_per_node wins; a custom node
// (no cluster.system) states its NICs itself.
func (d *decoder) deriveNICs(sys topology.System) {
	if !d.given(keySystem) || !d.given("cluster.gpus_per_node") || d.given("cluster.network.nics_per_node") || sys.GPUsPerNode <= 0 {
		return
	}
	c := &d.set.job.Cluster
	scaled := sys.WithGPUsPerNode(c.GPUsPerNode)
	c.Network.NICsPerNode, c.Network.Scaling = scaled.Network.NICsPerNode, scaled.Network.Scaling
}

// checkCluster reports a non-positive count given for gpu.sms or
// nodes_per_leaf here, before validation, where it has always been reported;
// Cluster.Validate says the same and is not repeated.
func (d *decoder) checkCluster() {
	c := d.set.job.Cluster
	if d.given("cluster.gpu.sms") && c.GPU.SMs <= 0 {
		d.add("cluster.gpu.sms", fmt.Sprintf("must be a positive integer, got %d", c.GPU.SMs))
	}
	if d.given("cluster.network.nodes_per_leaf") && c.Network.NodesPerLeaf <= 0 {
		d.add("cluster.network.nodes_per_leaf", fmt.Sprintf("must be a positive integer, got %d", c.Network.NodesPerLeaf))
	}
}

// deriveLayout fills the [parallelism] keys whose defaults follow others:
// virtual_stages is 2 with the interleaved schedule, and dp what the GPU
// count leaves over.
func (d *decoder) deriveLayout(clusterOK bool) {
	j := &d.set.job
	l := &j.Layout
	if !d.given("parallelism.virtual_stages") && l.Schedule == parallelism.Interleaved {
		l.VirtualStages = 2
	}
	if d.given("parallelism.dp") {
		return
	}
	l.DP = 1
	gpus := j.Cluster.GPUs()
	if !clusterOK || !j.Cluster.CountsOK() {
		// Without a valid GPU count (nodes or gpus_per_node missing or out
		// of range, a problem of their own) there is no dp to derive; the 1
		// that stands in is no one's choice.
		d.broken["parallelism.dp"] = true
	} else if l.TP > 0 && l.PP > 0 && l.CP > 0 {
		// Divide step by step: tp × pp × cp may not fit in an int.
		q, rem := gpus, 0
		for _, f := range []int{l.TP, l.PP, l.CP} {
			rem |= q % f
			q /= f
		}
		if rem != 0 || q == 0 {
			d.add("parallelism.dp", fmt.Sprintf(
				"defaults to GPUs / (tp × pp × cp), but the %d GPUs (cluster.nodes × gpus_per_node) are not divisible by tp(%d) × pp(%d) × cp(%d); change them or set dp",
				gpus, l.TP, l.PP, l.CP))
			// The dp that stands in is no one's choice: the product check of
			// Job.Validate, and every rule that reads dp, would only repeat
			// this problem.
			d.broken["parallelism.dp"] = true
			q = max(q, 1)
		}
		l.DP = q
	}
}

// attentionAuto is the training.attention value that picks the kernel by
// the GPU family (deriveAttention).
const attentionAuto = "auto"

// deriveAttention resolves training.attention = "auto" by the GPU family:
// unfused attention on ampere, the A100s Megatron-LM ran on in 2021 before
// FlashAttention (Dao et al. 2022, arXiv:2205.14135); flash on hopper and
// blackwell, whose frameworks run fused attention by default (Megatron-Core
// with Transformer Engine, NeMo). A value that is none of these is reported
// here with auto among the allowed values.
func (d *decoder) deriveAttention() {
	t := &d.set.job.Training
	switch {
	case t.Attention == attentionAuto:
		t.Attention = AutoAttention(d.set.job.Cluster.GPU.Family)
	case d.given("training.attention") && !d.broken["training.attention"] && !slices.Contains(model.Attentions(), t.Attention):
		allowed := append(names(model.Attentions()), attentionAuto)
		d.add("training.attention", fmt.Sprintf("%q is not an implementation (allowed: %s)", t.Attention, field.Quote(allowed)))
		d.broken["training.attention"] = true
	}
}

// AutoAttention is the attention kernel training.attention = "auto" picks
// on a GPU of the family: unfused on ampere, flash on the later families.
func AutoAttention(family string) model.Attention {
	if family == "ampere" {
		return model.AttentionUnfused
	}
	return model.AttentionFlash
}
