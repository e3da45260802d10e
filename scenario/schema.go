package scenario

import (
	"encoding"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"trainsim/compute"
	"trainsim/units"
)

// rawFile is a scenario as written: a nil pointer is a key that was not set,
// so that presets and defaults fill only what the user left out.
type rawFile struct {
	Name        *string
	Seed        *uint64
	Model       rawModel
	Cluster     rawCluster
	Parallelism rawParallelism
	Training    rawTraining
	Simulation  rawSimulation
	Calibration rawCalibration
}

type rawCalibration struct {
	GEMMPeakFraction, HBMFraction, FlashFraction *float64
	KernelOverhead                               *units.Seconds
	CommSMs                                      *int
	NVLinkBusBW, NICBusBW                        *units.Bandwidth
	GEMMs                                        []compute.MeasuredGEMM
	File                                         *string
}

type rawModel struct {
	Preset                                    *string
	Layers, Hidden, Heads, KVHeads, FFNHidden *int
	SeqLen, Vocab, Experts, TopK              *int
	GatedMLP                                  *bool
}

type rawCluster struct {
	System             *string
	Nodes, GPUsPerNode *int
	GPU                rawGPU
	NVLink             rawLink
	Network            rawNetwork
}

type rawGPU struct {
	Preset        *string
	Family        *string
	Peak, PeakFP8 *units.FLOPRate
	HBM           *units.Bytes
	HBMBandwidth  *units.Bandwidth
	SMs           *int
}

type rawLink struct {
	Bandwidth *units.Bandwidth
	Latency   *units.Seconds
}

type rawNetwork struct {
	Topology         *string
	NICBandwidth     *units.Bandwidth
	NICsPerNode      *int
	Latency          *units.Seconds
	Oversubscription *float64
	NodesPerLeaf     *int
	File             *string
}

type rawParallelism struct {
	TP, PP, DP, CP, EP *int
	Microbatch         *int
	Schedule           *string
	VirtualStages      *int
	SequenceParallel   *bool
	Recompute          *string
	ZeRO               *int
	OverlapGradReduce  *bool
	TPOverlap          *bool
	PPOverlap          *bool
	PPScatterGather    *bool
}

type rawTraining struct {
	GlobalBatch *int
	Precision   *string
	Tokens      *float64
	Steps       *int
	Attention   *string
	// GradAccumFusion is training.grad_accum_fusion.
	GradAccumFusion *bool
	// FP32Grads is training.fp32_grads.
	FP32Grads *bool
}

type rawSimulation struct {
	Network   *string
	Ranks     *string
	AllReduce *string
}

// keyField is one scenario key and how to store a TOML value into rawFile.
type keyField struct {
	key string
	// text marks a plain string key: a --set VALUE that is not a TOML string
	// is taken verbatim for it.
	text bool
	// decode checks v and stores it; its error says what was wanted.
	decode func(v any) error
}

// fields lists every scenario key, bound to the place in f that holds it.
func (f *rawFile) fields() []keyField {
	m, c, p, t, s, k := &f.Model, &f.Cluster, &f.Parallelism, &f.Training, &f.Simulation, &f.Calibration
	return []keyField{
		stringField("name", &f.Name),
		uintField("seed", &f.Seed),

		stringField("model.preset", &m.Preset),
		countField("model.layers", &m.Layers),
		countField("model.hidden", &m.Hidden),
		countField("model.heads", &m.Heads),
		countField("model.kv_heads", &m.KVHeads),
		countField("model.ffn_hidden", &m.FFNHidden),
		countField("model.seq_len", &m.SeqLen),
		countField("model.vocab", &m.Vocab),
		countField("model.experts", &m.Experts),
		countField("model.top_k", &m.TopK),
		boolField("model.gated_mlp", &m.GatedMLP),

		stringField("cluster.system", &c.System),
		countField("cluster.nodes", &c.Nodes),
		countField("cluster.gpus_per_node", &c.GPUsPerNode),
		stringField("cluster.gpu.preset", &c.GPU.Preset),
		stringField("cluster.gpu.family", &c.GPU.Family),
		unitField("cluster.gpu.peak", "312TFLOP/s", &c.GPU.Peak),
		unitField("cluster.gpu.peak_fp8", "989TFLOP/s", &c.GPU.PeakFP8),
		unitField("cluster.gpu.hbm", "80GiB", &c.GPU.HBM),
		unitField("cluster.gpu.hbm_bandwidth", "2039GB/s", &c.GPU.HBMBandwidth),
		countField("cluster.gpu.sms", &c.GPU.SMs),
		unitField("cluster.nvlink.bandwidth", "300GB/s", &c.NVLink.Bandwidth),
		unitField("cluster.nvlink.latency", "1us", &c.NVLink.Latency),
		stringField("cluster.network.topology", &c.Network.Topology),
		unitField("cluster.network.nic_bandwidth", "200Gb/s", &c.Network.NICBandwidth),
		countField("cluster.network.nics_per_node", &c.Network.NICsPerNode),
		unitField("cluster.network.latency", "2us", &c.Network.Latency),
		floatField("cluster.network.oversubscription", &c.Network.Oversubscription),
		countField("cluster.network.nodes_per_leaf", &c.Network.NodesPerLeaf),
		stringField("cluster.network.file", &c.Network.File),

		countField("parallelism.tp", &p.TP),
		countField("parallelism.pp", &p.PP),
		countField("parallelism.dp", &p.DP),
		countField("parallelism.cp", &p.CP),
		countField("parallelism.ep", &p.EP),
		countField("parallelism.microbatch", &p.Microbatch),
		stringField("parallelism.schedule", &p.Schedule),
		countField("parallelism.virtual_stages", &p.VirtualStages),
		boolField("parallelism.sequence_parallel", &p.SequenceParallel),
		stringField("parallelism.recompute", &p.Recompute),
		countField("parallelism.zero", &p.ZeRO),
		boolField("parallelism.overlap_grad_reduce", &p.OverlapGradReduce),
		boolField("parallelism.tp_overlap", &p.TPOverlap),
		boolField("parallelism.pp_overlap", &p.PPOverlap),
		boolField("parallelism.pp_scatter_gather", &p.PPScatterGather),

		countField("training.global_batch", &t.GlobalBatch),
		stringField("training.precision", &t.Precision),
		floatField("training.tokens", &t.Tokens),
		countField("training.steps", &t.Steps),
		stringField("training.attention", &t.Attention),
		boolField("training.grad_accum_fusion", &t.GradAccumFusion),
		boolField("training.fp32_grads", &t.FP32Grads),

		stringField("simulation.network", &s.Network),
		stringField("simulation.allreduce", &s.AllReduce),
		stringField("simulation.ranks", &s.Ranks),

		floatField("calibration.gemm_peak_fraction", &k.GEMMPeakFraction),
		floatField("calibration.hbm_fraction", &k.HBMFraction),
		floatField("calibration.flash_fraction", &k.FlashFraction),
		unitField("calibration.kernel_overhead", "4us", &k.KernelOverhead),
		countField("calibration.comm_sms", &k.CommSMs),
		unitField("calibration.nvlink_busbw", "230GB/s", &k.NVLinkBusBW),
		unitField("calibration.nic_busbw", "23GB/s", &k.NICBusBW),
		keyField{key: "calibration.gemm", decode: func(v any) error { return decodeGEMMs(v, &k.GEMMs) }},
		stringField("calibration.file", &k.File),
	}
}

// jobTable is the table that comes with the job-level replay, and jobKeys
// its keys: they are recognised so that they can be refused by name.
const jobTable = "job"

func jobKeys() []string {
	return []string{"gpu_mtbf", "checkpoint_interval", "checkpoint_write", "restart", "runs"}
}

// schema indexes the fields of one rawFile by key and knows which keys are
// tables and what each table holds.
type schema struct {
	fields   map[string]keyField
	children map[string][]string // table ("" for the root) -> its keys and sub-tables
}

func newSchema(f *rawFile) schema {
	s := schema{fields: map[string]keyField{}, children: map[string][]string{}}
	seen := map[string]bool{}
	addChild := func(parent, name string) {
		if full := join(parent, name); !seen[full] {
			seen[full] = true
			s.children[parent] = append(s.children[parent], name)
		}
	}
	for _, fd := range f.fields() {
		s.fields[fd.key] = fd
		parts := strings.Split(fd.key, ".")
		for i := range parts {
			addChild(strings.Join(parts[:i], "."), parts[i])
		}
	}
	addChild("", jobTable)
	for _, k := range jobKeys() {
		addChild(jobTable, k)
	}
	return s
}

// isTable reports whether key names a table of the schema.
func (s schema) isTable(key string) bool {
	_, ok := s.children[key]
	return ok
}

func join(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// maxCount bounds every count, so that products of a few of them (tp × pp ×
// dp × cp, nodes × gpus_per_node) cannot overflow.
const maxCount = math.MaxInt32

func countField(key string, p **int) keyField {
	return keyField{key: key, decode: func(v any) error {
		n, ok := v.(int64)
		if !ok {
			return fmt.Errorf("want an integer, got %s", describe(v))
		}
		if n < -maxCount || n > maxCount {
			return fmt.Errorf("%d is out of range (at most %d)", n, maxCount)
		}
		i := int(n)
		*p = &i
		return nil
	}}
}

func uintField(key string, p **uint64) keyField {
	return keyField{key: key, decode: func(v any) error {
		n, ok := v.(int64)
		if !ok {
			return fmt.Errorf("want a non-negative integer, got %s", describe(v))
		}
		if n < 0 {
			return fmt.Errorf("must not be negative, got %d", n)
		}
		u := uint64(n)
		*p = &u
		return nil
	}}
}

func floatField(key string, p **float64) keyField {
	return keyField{key: key, decode: func(v any) error {
		var x float64
		switch n := v.(type) {
		case int64:
			x = float64(n)
		case float64:
			x = n
		default:
			return fmt.Errorf("want a number, got %s", describe(v))
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("want a finite number, got %v", x)
		}
		*p = &x
		return nil
	}}
}

func stringField(key string, p **string) keyField {
	return keyField{key: key, text: true, decode: func(v any) error {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a string, got %s", describe(v))
		}
		*p = &s
		return nil
	}}
}

func boolField(key string, p **bool) keyField {
	return keyField{key: key, decode: func(v any) error {
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("want true or false, got %s", describe(v))
		}
		*p = &b
		return nil
	}}
}

// unitField decodes a quantity written with its unit through the type's
// UnmarshalText, whose error names the units allowed.
func unitField[T any, PT interface {
	*T
	encoding.TextUnmarshaler
}](key, example string, p **T) keyField {
	return keyField{key: key, decode: func(v any) error {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a string with a unit such as %q, got %s", example, describe(v))
		}
		x := new(T)
		if err := PT(x).UnmarshalText([]byte(s)); err != nil {
			return err
		}
		*p = x
		return nil
	}}
}

// describe names a decoded TOML value and shows it, for messages.
func describe(v any) string { return DescribeValue(v) }

// DescribeValue names a decoded TOML value and shows it, for error messages
// ("the integer 8", "a table"); the sweep file reader shares it.
func DescribeValue(v any) string {
	switch x := v.(type) {
	case int64:
		return fmt.Sprintf("the integer %d", x)
	case float64:
		return fmt.Sprintf("the number %v", x)
	case string:
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprintf("%v", x)
	case time.Time:
		return "a date-time"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("a value of type %T", v)
}

// sortedKeys returns the keys of m in sorted order, for a deterministic walk.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// decodeGEMMs reads calibration.gemm: an array of tables
// {batch = 1, m = …, n = …, k = …, tflops = "250TFLOP/s"}.
func decodeGEMMs(v any, out *[]compute.MeasuredGEMM) error {
	var rows []map[string]any
	switch x := v.(type) {
	case []map[string]any:
		rows = x
	case []any:
		for _, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				return fmt.Errorf("want an array of tables {m, n, k, tflops}, got %s", describe(e))
			}
			rows = append(rows, m)
		}
	default:
		return fmt.Errorf("want an array of tables ([[calibration.gemm]] with m, n, k, tflops), got %s", describe(v))
	}
	for i, r := range rows {
		g := compute.MeasuredGEMM{Batch: 1}
		for _, key := range sortedKeys(r) {
			val := r[key]
			n, isInt := val.(int64)
			switch key {
			case "batch", "m", "n", "k":
				if !isInt || n < 1 || n > math.MaxInt32 {
					return fmt.Errorf("entry %d: %s: want a positive integer, got %s", i+1, key, describe(val))
				}
				switch key {
				case "batch":
					g.Batch = int(n)
				case "m":
					g.M = int(n)
				case "n":
					g.N = int(n)
				case "k":
					g.K = int(n)
				}
			case "tflops":
				s, ok := val.(string)
				if !ok {
					return fmt.Errorf("entry %d: tflops: want a string with a unit such as \"250TFLOP/s\", got %s", i+1, describe(val))
				}
				rate, err := units.ParseFLOPRate(s)
				if err != nil {
					return fmt.Errorf("entry %d: tflops: %w", i+1, err)
				}
				g.Rate = rate
			default:
				return fmt.Errorf("entry %d: unknown key %q (allowed: batch, m, n, k, tflops)", i+1, key)
			}
		}
		if g.M == 0 || g.N == 0 || g.K == 0 || g.Rate == 0 {
			return fmt.Errorf("entry %d: needs m, n, k and tflops", i+1)
		}
		*out = append(*out, g)
	}
	return nil
}
