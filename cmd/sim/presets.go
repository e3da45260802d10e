package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"trainsim/model"
	"trainsim/topology"
)

func newPresetsCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "presets",
		Short: "list the built-in models, GPUs and systems with their key numbers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return writePresets(stdout)
		},
	}
}

func writePresets(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODELS\tlayers\thidden\theads\tkv\tffn\tseq\tvocab\tparams\tsource")
	for _, m := range model.Presets() {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.1fB\t%s\n", m.Name, m.Layers, m.Hidden, m.Heads, m.KVHeads, m.FFNHidden, m.SeqLen, m.Vocab, float64(m.Params())/1e9, m.Source)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "GPUS\tfamily\tbf16/fp16\tfp8\tHBM\tHBM bandwidth\tSMs\tsource")
	for _, g := range topology.GPUPresets() {
		fp8 := "-"
		if g.PeakDenseFP8 > 0 {
			fp8 = g.PeakDenseFP8.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", g.Name, g.Family, g.PeakDense16, fp8, g.HBM, g.HBMBandwidth, g.SMs, g.Source)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "SYSTEMS\tGPU\tGPUs/node\tNVLink/GPU\tNICs\tNIC rate\tfabric\tsource")
	for _, s := range topology.SystemPresets() {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%.0f Gb/s\t%s\t%s\n", s.Name, s.GPU.Name, s.GPUsPerNode, s.NVLink.Bandwidth, s.Network.NICsPerNode, float64(s.Network.NICBandwidth)*8/1e9, s.Network.Topology, s.Source)
	}
	return tw.Flush()
}
