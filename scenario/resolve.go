package scenario

import (
	"fmt"
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
// that are required and missing. modelOK and clusterOK are false when the
// model or the cluster is incomplete (an unknown preset, a missing key).
func (d *decoder) resolve() (j parallelism.Job, modelOK, clusterOK bool) {
	for _, k := range d.keys {
		if k.preset {
			k.value.apply()
		}
	}
	s := &d.set
	base, hasBase, modelOK := d.modelBase()
	modelOK = !d.missing("model") && modelOK
	sys, clusterOK := d.clusterBase()
	clusterOK = !d.missing("cluster") && clusterOK
	s.job.Model = base
	s.job.Cluster = topology.Cluster{System: sys}
	for _, k := range d.keys {
		if !k.preset && k.value != nil {
			k.value.apply()
		}
	}
	d.deriveModel(base, hasBase)
	d.checkCluster()
	d.deriveLayout(clusterOK)
	d.missing("training")
	if d.given("calibration.file") && s.job.Calibration.File == "" {
		d.add("calibration.file", "empty path (want the name of a TOML file holding a [calibration] table)")
	}
	return s.job, modelOK, clusterOK
}

// validated reports the problems validation finds with j after problems in
// resolving it, so that one run shows them all. After an unknown preset or a
// missing key, the values the validations see are partly zero; it reports
// only what they say about keys the user wrote, which are still worth fixing.
func (d *decoder) validated(j parallelism.Job, modelOK, clusterOK bool) {
	_, all := j.Validate()
	m, c := len(j.Model.Validate()), len(j.Cluster.Validate())
	d.validatedStage(all[:m], modelOK)
	d.validatedStage(all[m:m+c], clusterOK)
	d.validatedStage(all[m+c:], modelOK && clusterOK)
}

// validatedStage reports the problems one validator found, each at the line
// of the key it names. A problem with a key already reported is not repeated.
func (d *decoder) validatedStage(errs []field.Error, complete bool) {
	before := make(map[string]bool, len(d.reported))
	for k := range d.reported {
		before[k] = true
	}
	for _, e := range errs {
		if before[e.Field] || (!complete && !d.isSet(e.Field)) {
			continue
		}
		d.add(e.Field, e.Msg)
	}
}

// missing reports each required key of table that is not set and that no
// preset given would give, saying why it is needed. Keys with the same reason
// come together, the reasons in the order they first appear in the table.
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
		if d.anyGiven(g[0].need.unless) {
			continue
		}
		for _, k := range g {
			if !d.isSet(k.name) {
				d.add(k.name, k.need.message())
				any = true
			}
		}
	}
	return any
}

// anyGiven reports whether one of keys was given.
func (d *decoder) anyGiven(keys []string) bool {
	for _, k := range keys {
		if d.given(k) {
			return true
		}
	}
	return false
}

// unknownPreset reports a preset name that is not built in.
func (d *decoder) unknownPreset(key, kind, name string, names []string) {
	d.add(key, fmt.Sprintf("no built-in %s called %q; %s", kind, name, didYouMean(name, names)))
}

// modelBase is the model the [model] keys override: model.preset's, or a
// custom one. ok is false when the preset is unknown.
func (d *decoder) modelBase() (base model.Config, hasBase, ok bool) {
	if !d.given(keyModelPreset) {
		return model.Config{Name: "custom"}, false, true
	}
	name := d.set.modelPreset
	if p, found := model.Preset(name); found {
		return p, true, true
	}
	d.unknownPreset(keyModelPreset, "model", name, model.PresetNames())
	return model.Config{}, false, false
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
	if gpus := j.Cluster.GPUs(); clusterOK && gpus > 0 && l.TP > 0 && l.PP > 0 && l.CP > 0 {
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
			// The product check of Job.Validate would say the same again.
			d.reported["parallelism"] = true
			q = max(q, 1)
		}
		l.DP = q
	}
}
