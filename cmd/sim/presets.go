package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"trainsim/compute"
	"trainsim/model"
	"trainsim/report"
	"trainsim/topology"
	"trainsim/units"
)

func newPresetsCmd(stdout io.Writer) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "presets",
		Short: "list the built-in models, GPUs and systems with their key numbers and sources, and each GPU family's efficiency defaults",
		Long: "List the built-in models, GPUs and systems: one row of key numbers per preset, then the source of each\n" +
			"preset's figures, wrapped; then each GPU family's kernel-efficiency defaults (what a scenario's\n" +
			"[calibration] keys replace). With --format json, one object with the arrays models, gpus, systems and\n" +
			"families, in SI units (bytes, FLOP/s, bytes/s, seconds).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch format {
			case "text":
				return writePresets(stdout)
			case "json":
				return writePresetsJSON(stdout)
			}
			return badInput(fmt.Errorf("--format: %q is not a format (allowed: text, json)", format))
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// presetWidth is the width the sources of `sim presets` are wrapped at.
const presetWidth = 100

// writePresets writes a table per kind of preset, one row of key numbers
// each, and under it every preset's source wrapped at presetWidth.
func writePresets(w io.Writer) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODELS\tparams\tlayers\thidden\theads\tkv\tffn\tseq\tvocab\texperts")
	var sources [][2]string
	for _, m := range model.Presets() {
		experts := "-"
		if m.Experts > 0 {
			experts = fmt.Sprintf("%d, top %d", m.Experts, m.TopK)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", m.Name, params(m.Params()), m.Layers, m.Hidden, m.Heads, m.KVHeads, m.FFNHidden, m.SeqLen, m.Vocab, experts)
		sources = append(sources, [2]string{m.Name, m.Source})
	}
	tw.Flush()
	writeSources(&b, sources)

	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nGPUS\tfamily\tbf16/fp16\tfp8\tHBM\tHBM bandwidth\tSMs")
	sources = nil
	for _, g := range topology.GPUPresets() {
		fp8 := "-"
		if g.PeakDenseFP8 > 0 {
			fp8 = g.PeakDenseFP8.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", g.Name, g.Family, g.PeakDense16, fp8, g.HBM, g.HBMBandwidth, g.SMs)
		sources = append(sources, [2]string{g.Name, g.Source})
	}
	tw.Flush()
	writeSources(&b, sources)

	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nSYSTEMS\tGPU\tGPUs/node\tNVLink/GPU\tNICs\tNIC rate\tfabric\ttransport")
	sources = nil
	for _, s := range topology.SystemPresets() {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s Gb/s\t%s\t%s\n", s.Name, s.GPU.Name, s.GPUsPerNode, s.NVLink.Bandwidth, s.Network.NICsPerNode, units.Format(float64(s.Network.NICBandwidth)*8/1e9), s.Network.Topology, s.Network.Transport)
		sources = append(sources, [2]string{s.Name, s.Source})
	}
	tw.Flush()
	writeSources(&b, sources)

	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nGPU FAMILIES\tGEMM\tflash\tHBM\tkernel overhead\tcomm SMs\tK½\tFP8 linear\twindow fwd/bwd")
	for _, f := range families() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Name, units.Format(f.GEMMPeakFraction), units.Format(f.FlashFraction),
			units.Format(f.HBMFraction), units.Seconds(f.KernelOverheadS), fmt.Sprint(f.CommSMs), units.Format(f.KHalf), orDash(f.FP8LinearSlowdown), orDash(f.WindowFwd, f.WindowBwd))
	}
	tw.Flush()
	for _, line := range wrap(familiesNote, presetWidth, "  ") {
		b.WriteString(line)
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// familiesNote says what the GPU FAMILIES table of `sim presets` holds.
const familiesNote = "Defaults of calibration.gemm_peak_fraction (GEMM), flash_fraction, hbm_fraction, kernel_overhead " +
	"and comm_sms, which a scenario's [calibration] table replaces, and the kernel model's K½ (a GEMM tile's " +
	"prologue and epilogue in K), FP8 linear-layer slowdown and sliding-window flash factors; every source is in " +
	"docs/model.md, Constants."

// orDash formats the factors as "a / b", or "-" when the first is 0 (the
// family has none).
func orDash(f ...float64) string {
	if len(f) == 0 || f[0] == 0 {
		return "-"
	}
	parts := make([]string, len(f))
	for i, x := range f {
		parts[i] = units.Format(x)
	}
	return strings.Join(parts, " / ")
}

// families returns every GPU family's kernel-efficiency defaults
// (compute.ParamsFor), in topology.Families' order.
func families() []familyJSON {
	var out []familyJSON
	for _, name := range topology.Families() {
		p, err := compute.ParamsFor(name)
		if err != nil {
			continue // every listed family has constants (topology.Families)
		}
		out = append(out, familyJSON{
			Name: name, GEMMPeakFraction: p.GEMMPeakFraction, FlashFraction: p.FlashFraction, HBMFraction: p.HBMFraction,
			KernelOverheadS: float64(p.KernelOverhead), CommSMs: p.CommSMs, KHalf: p.KHalf,
			FP8LinearSlowdown: p.FP8LinearSlowdown, WindowFwd: p.WindowFwd, WindowBwd: p.WindowBwd,
		})
	}
	return out
}

// params formats a parameter count in billions, or millions below one
// billion.
func params(n int64) string {
	if n < 1e9 {
		return fmt.Sprintf("%.0fM", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1fB", float64(n)/1e9)
}

// writeSources writes "Sources:" and each "name: source", wrapped at
// presetWidth with the continuation lines indented.
func writeSources(b *strings.Builder, sources [][2]string) {
	b.WriteString("Sources:\n")
	for _, s := range sources {
		for _, line := range wrap(s[0]+": "+s[1], presetWidth, "      ") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
}

// wrap breaks text at spaces into lines of at most width characters (a word
// longer than that stands alone), the lines after the first starting with
// indent.
func wrap(text string, width int, indent string) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
			if len(lines) == 0 {
				line = "  " + word // keep the first line's indent
			} else {
				line = indent + word
			}
		case len([]rune(line))+1+len([]rune(word)) > width:
			lines = append(lines, line)
			line = indent + word
		default:
			line += " " + word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// presetsJSON is `sim presets --format json`.
type presetsJSON struct {
	Models  []modelJSON  `json:"models"`
	GPUs    []gpuJSON    `json:"gpus"`
	Systems []systemJSON `json:"systems"`
	// Families: each GPU family's kernel-efficiency defaults.
	Families []familyJSON `json:"families"`
}

// familyJSON is one GPU family's defaults: the [calibration] keys'
// (gemm_peak_fraction, flash_fraction, hbm_fraction, kernel_overhead,
// comm_sms) and the kernel model's K½, FP8 linear-layer slowdown and
// sliding-window flash factors (each omitted where the family has none).
type familyJSON struct {
	Name              string  `json:"name"`
	GEMMPeakFraction  float64 `json:"gemm_peak_fraction"`
	FlashFraction     float64 `json:"flash_fraction"`
	HBMFraction       float64 `json:"hbm_fraction"`
	KernelOverheadS   float64 `json:"kernel_overhead_s"`
	CommSMs           int     `json:"comm_sms"`
	KHalf             float64 `json:"k_half"`
	FP8LinearSlowdown float64 `json:"fp8_linear_slowdown,omitempty"`
	WindowFwd         float64 `json:"window_fwd,omitempty"`
	WindowBwd         float64 `json:"window_bwd,omitempty"`
}

type modelJSON struct {
	Name          string `json:"name"`
	Params        int64  `json:"params"`
	Layers        int    `json:"layers"`
	Hidden        int    `json:"hidden"`
	Heads         int    `json:"heads"`
	KVHeads       int    `json:"kv_heads"`
	FFNHidden     int    `json:"ffn_hidden"`
	SeqLen        int    `json:"seq_len"`
	Vocab         int    `json:"vocab"`
	GatedMLP      bool   `json:"gated_mlp"`
	Experts       int    `json:"experts,omitempty"`
	TopK          int    `json:"top_k,omitempty"`
	MoEFFNHidden  int    `json:"moe_ffn_hidden,omitempty"`
	SharedExperts int    `json:"shared_experts,omitempty"`
	DenseLayers   int    `json:"dense_layers,omitempty"`
	Source        string `json:"source"`
}

type gpuJSON struct {
	Name            string  `json:"name"`
	Family          string  `json:"family"`
	PeakDense16     float64 `json:"peak_dense_16bit_flops"`
	PeakDenseFP8    float64 `json:"peak_dense_fp8_flops,omitempty"`
	HBMBytes        float64 `json:"hbm_bytes"`
	HBMBandwidthBpS float64 `json:"hbm_bandwidth_bytes_per_s"`
	SMs             int     `json:"sms"`
	Source          string  `json:"source"`
}

type systemJSON struct {
	Name             string  `json:"name"`
	GPU              string  `json:"gpu"`
	GPUsPerNode      int     `json:"gpus_per_node"`
	NVLinkBpS        float64 `json:"nvlink_bytes_per_s"`
	NVLinkLatencyS   float64 `json:"nvlink_latency_s"`
	NICsPerNode      int     `json:"nics_per_node"`
	NICBpS           float64 `json:"nic_bytes_per_s"`
	NetworkLatencyS  float64 `json:"network_latency_s"`
	Fabric           string  `json:"fabric"`
	Transport        string  `json:"transport"`
	Oversubscription float64 `json:"oversubscription"`
	NodesPerLeaf     int     `json:"nodes_per_leaf,omitempty"`
	Source           string  `json:"source"`
}

func writePresetsJSON(w io.Writer) error {
	var out presetsJSON
	for _, m := range model.Presets() {
		out.Models = append(out.Models, modelJSON{
			Name: m.Name, Params: m.Params(), Layers: m.Layers, Hidden: m.Hidden, Heads: m.Heads, KVHeads: m.KVHeads,
			FFNHidden: m.FFNHidden, SeqLen: m.SeqLen, Vocab: m.Vocab, GatedMLP: m.GatedMLP, Experts: m.Experts, TopK: m.TopK,
			MoEFFNHidden: m.MoEFFNHidden, SharedExperts: m.SharedExperts, DenseLayers: m.DenseLayers, Source: m.Source,
		})
	}
	for _, g := range topology.GPUPresets() {
		out.GPUs = append(out.GPUs, gpuJSON{
			Name: g.Name, Family: g.Family, PeakDense16: float64(g.PeakDense16), PeakDenseFP8: float64(g.PeakDenseFP8),
			HBMBytes: float64(g.HBM), HBMBandwidthBpS: float64(g.HBMBandwidth), SMs: g.SMs, Source: g.Source,
		})
	}
	for _, s := range topology.SystemPresets() {
		n := s.Network
		out.Systems = append(out.Systems, systemJSON{
			Name: s.Name, GPU: s.GPU.Name, GPUsPerNode: s.GPUsPerNode, NVLinkBpS: float64(s.NVLink.Bandwidth), NVLinkLatencyS: float64(s.NVLink.Latency),
			NICsPerNode: n.NICsPerNode, NICBpS: float64(n.NICBandwidth), NetworkLatencyS: float64(n.Latency), Fabric: n.Topology, Transport: n.Transport,
			Oversubscription: n.Oversubscription, NodesPerLeaf: n.NodesPerLeaf, Source: s.Source,
		})
	}
	out.Families = families()
	return report.EncodeJSON(w, out)
}
