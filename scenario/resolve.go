package scenario

import (
	"fmt"

	"trainsim/field"
	"trainsim/model"
	"trainsim/parallelism"
	"trainsim/topology"
	"trainsim/units"
)

// resolve builds the job from presets, explicit keys and defaults. modelOK
// and clusterOK are false when the model or the cluster is incomplete (an
// unknown preset, a missing key).
func (d *decoder) resolve() (j parallelism.Job, modelOK, clusterOK bool) {
	m, modelOK := d.resolveModel()
	c, clusterOK := d.resolveCluster()
	j = parallelism.Job{Model: m, Cluster: c}
	d.resolveLayout(&j, clusterOK)
	d.resolveTraining(&j)
	j.Calibration = d.raw.Calibration.calibration()
	if f := d.raw.Calibration.File; f != nil && *f == "" {
		d.add("calibration.file", "empty path (want the name of a TOML file holding a [calibration] table)")
	}
	return j, modelOK, clusterOK
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

// required reports each key of keys that is not set, saying why it is needed.
func (d *decoder) required(why string, keys ...string) (missing bool) {
	for _, k := range keys {
		if !d.isSet(k) {
			d.add(k, "required "+why)
			missing = true
		}
	}
	return missing
}

// unknownPreset reports a preset name that is not built in.
func (d *decoder) unknownPreset(key, kind, name string, names []string) {
	d.add(key, fmt.Sprintf("no built-in %s called %q; %s", kind, name, didYouMean(name, names)))
}

func setInt(dst *int, v *int) {
	if v != nil {
		*dst = *v
	}
}

func setBool(dst *bool, v *bool) {
	if v != nil {
		*dst = *v
	}
}

func setString[T ~string](dst *T, v *string) {
	if v != nil {
		*dst = T(*v)
	}
}

func setUnit[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// resolveModel starts from model.preset, or from nothing, and applies the
// [model] keys. ok is false when the shape is incomplete.
func (d *decoder) resolveModel() (c model.Config, ok bool) {
	r := d.raw.Model
	var base model.Config
	hasBase := false
	ok = true
	if r.Preset != nil {
		if p, found := model.Preset(*r.Preset); found {
			base, hasBase = p, true
		} else {
			d.unknownPreset("model.preset", "model", *r.Preset, model.PresetNames())
			ok = false
		}
	} else {
		base.Name = "custom"
		if d.required("when model.preset is not given",
			"model.layers", "model.hidden", "model.heads", "model.seq_len", "model.vocab") {
			ok = false
		}
	}

	c = base
	setInt(&c.Layers, r.Layers)
	setInt(&c.Hidden, r.Hidden)
	setInt(&c.Heads, r.Heads)
	setInt(&c.SeqLen, r.SeqLen)
	setInt(&c.Vocab, r.Vocab)
	setInt(&c.Experts, r.Experts)
	setInt(&c.TopK, r.TopK)
	setBool(&c.GatedMLP, r.GatedMLP)
	// kv_heads follows heads, and ffn_hidden 4 × hidden, unless given or the
	// preset departs from those rules (grouped-query attention, a SwiGLU MLP).
	switch {
	case r.KVHeads != nil:
		c.KVHeads = *r.KVHeads
	case !hasBase || base.KVHeads == base.Heads:
		c.KVHeads = c.Heads
	}
	switch {
	case r.FFNHidden != nil:
		c.FFNHidden = *r.FFNHidden
	case !hasBase || base.FFNHidden == 4*base.Hidden:
		c.FFNHidden = 4 * c.Hidden
	}
	return c, ok
}

// resolveCluster starts from cluster.system and cluster.gpu.preset, or from
// nothing, and applies the [cluster] keys. ok is false when the description
// is incomplete.
func (d *decoder) resolveCluster() (c topology.Cluster, ok bool) {
	r := d.raw.Cluster
	ok = true
	var sys topology.System
	if r.System != nil {
		if s, found := topology.SystemPreset(*r.System); found {
			sys = s
		} else {
			d.unknownPreset("cluster.system", "system", *r.System, topology.SystemPresetNames())
			ok = false
		}
	} else {
		sys.Name = "custom"
		sys.Network.Oversubscription = 1
	}
	if r.GPU.Preset != nil {
		if g, found := topology.GPUPreset(*r.GPU.Preset); found {
			sys.GPU = g
		} else {
			d.unknownPreset("cluster.gpu.preset", "GPU", *r.GPU.Preset, topology.GPUPresetNames())
			ok = false
		}
	}
	if d.required("(the number of nodes)", "cluster.nodes") {
		ok = false
	}
	if r.System == nil && d.required("when cluster.system is not given",
		"cluster.gpus_per_node",
		"cluster.nvlink.bandwidth", "cluster.nvlink.latency",
		"cluster.network.topology", "cluster.network.nic_bandwidth", "cluster.network.nics_per_node",
		"cluster.network.latency", "cluster.network.nodes_per_leaf") {
		ok = false
	}
	if r.System == nil && r.GPU.Preset == nil && d.required("when neither cluster.system nor cluster.gpu.preset is given",
		"cluster.gpu.family", "cluster.gpu.peak", "cluster.gpu.hbm", "cluster.gpu.hbm_bandwidth", "cluster.gpu.sms") {
		ok = false
	}
	if sys.GPU.Name == "" {
		sys.GPU.Name = "custom"
	}

	setInt(&sys.GPUsPerNode, r.GPUsPerNode)
	g := r.GPU
	setUnit(&sys.GPU.PeakDense16, g.Peak)
	setUnit(&sys.GPU.PeakDenseFP8, g.PeakFP8)
	setUnit(&sys.GPU.HBM, g.HBM)
	setUnit(&sys.GPU.HBMBandwidth, g.HBMBandwidth)
	setInt(&sys.GPU.SMs, g.SMs)
	setString(&sys.GPU.Family, g.Family)
	setUnit(&sys.NVLink.Bandwidth, r.NVLink.Bandwidth)
	setUnit(&sys.NVLink.Latency, r.NVLink.Latency)
	n := r.Network
	setString(&sys.Network.Topology, n.Topology)
	setUnit(&sys.Network.NICBandwidth, n.NICBandwidth)
	setInt(&sys.Network.NICsPerNode, n.NICsPerNode)
	setUnit(&sys.Network.Latency, n.Latency)
	setUnit(&sys.Network.Oversubscription, n.Oversubscription)
	setInt(&sys.Network.NodesPerLeaf, n.NodesPerLeaf)
	setString(&sys.Network.File, n.File)

	c = topology.Cluster{System: sys}
	setInt(&c.Nodes, r.Nodes)

	// Rules topology.Cluster.Validate leaves out.
	if g.SMs != nil && *g.SMs <= 0 {
		d.add("cluster.gpu.sms", fmt.Sprintf("must be a positive integer, got %d", *g.SMs))
	}
	if n.NodesPerLeaf != nil && *n.NodesPerLeaf <= 0 {
		d.add("cluster.network.nodes_per_leaf", fmt.Sprintf("must be a positive integer, got %d", *n.NodesPerLeaf))
	}
	return c, ok
}

// resolveLayout fills the [parallelism] table with its defaults; dp defaults
// to what the GPU count leaves over.
func (d *decoder) resolveLayout(j *parallelism.Job, clusterOK bool) {
	r := d.raw.Parallelism
	l := parallelism.Layout{
		TP: 1, PP: 1, CP: 1, EP: 1, Microbatch: 1,
		Schedule: parallelism.OneFOneB, VirtualStages: 1,
		Recompute: parallelism.RecomputeNone, OverlapGradReduce: true, PPOverlap: true,
	}
	setInt(&l.TP, r.TP)
	setInt(&l.PP, r.PP)
	setInt(&l.CP, r.CP)
	setInt(&l.EP, r.EP)
	setInt(&l.Microbatch, r.Microbatch)
	setString(&l.Schedule, r.Schedule)
	if l.Schedule == parallelism.Interleaved {
		l.VirtualStages = 2
	}
	setInt(&l.VirtualStages, r.VirtualStages)
	setBool(&l.SequenceParallel, r.SequenceParallel)
	setString(&l.Recompute, r.Recompute)
	setInt(&l.ZeRO, r.ZeRO)
	setBool(&l.OverlapGradReduce, r.OverlapGradReduce)
	setBool(&l.TPOverlap, r.TPOverlap)
	setBool(&l.PPOverlap, r.PPOverlap)
	if r.PPScatterGather != nil {
		l.NoPPScatterGather = !*r.PPScatterGather
	}

	l.DP = 1
	if r.DP != nil {
		l.DP = *r.DP
	} else if gpus := j.Cluster.GPUs(); clusterOK && gpus > 0 && l.TP > 0 && l.PP > 0 && l.CP > 0 {
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
	j.Layout = l
}

// resolveTraining fills the [training] and [simulation] tables with their
// defaults.
func (d *decoder) resolveTraining(j *parallelism.Job) {
	r := d.raw.Training
	d.required("(sequences per step)", "training.global_batch")
	t := parallelism.Training{Precision: units.BF16, Steps: 1, Attention: model.AttentionFlash}
	setInt(&t.GlobalBatch, r.GlobalBatch)
	setString(&t.Precision, r.Precision)
	setUnit(&t.Tokens, r.Tokens)
	setInt(&t.Steps, r.Steps)
	setString(&t.Attention, r.Attention)
	if r.GradAccumFusion != nil {
		t.UnfusedGradAccum = !*r.GradAccumFusion
	}
	if r.FP32Grads != nil {
		t.Grads16 = !*r.FP32Grads
	}
	j.Training = t

	o := parallelism.Options{Network: parallelism.NetworkAnalytical, Ranks: parallelism.RanksSymmetric, AllReduce: "auto"}
	setString(&o.Network, d.raw.Simulation.Network)
	setString(&o.Ranks, d.raw.Simulation.Ranks)
	setString(&o.AllReduce, d.raw.Simulation.AllReduce)
	j.Options = o
}
