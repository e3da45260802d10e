package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"trainsim/collective"
	"trainsim/parallelism"
	"trainsim/report"
	"trainsim/units"
)

// dataTypes are nccl-tests' -d types and their sizes in bytes.
var dataTypes = []struct {
	name string
	size units.Bytes
}{{"int8", 1}, {"uint8", 1}, {"half", 2}, {"bfloat16", 2}, {"float", 4}, {"int32", 4}, {"double", 8}, {"int64", 8}}

func dataType(name string) (units.Bytes, error) {
	var names []string
	for _, t := range dataTypes {
		if t.name == name {
			return t.size, nil
		}
		names = append(names, t.name)
	}
	return 0, fmt.Errorf("--type: %q is not a type (allowed: %s)", name, strings.Join(names, ", "))
}

// parseSize reads a message size as nccl-tests' -b/-e do (8, 128K, 1M, 8G:
// K, M and G are powers of 1024), or as a size with a unit (8GiB, 1MB).
func parseSize(flag, s string) (units.Bytes, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K', 'k':
			mult, t = 1<<10, t[:n-1]
		case 'M', 'm':
			mult, t = 1<<20, t[:n-1]
		case 'G', 'g':
			mult, t = 1<<30, t[:n-1]
		}
	}
	if v, err := strconv.ParseInt(t, 10, 64); err == nil {
		if v < 1 || v > (1<<50)/mult {
			return 0, fmt.Errorf("%s: %q is not between 1 B and 1 PiB", flag, s)
		}
		return units.Bytes(v * mult), nil
	}
	b, err := units.ParseBytes(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a size (8, 128K, 8G as nccl-tests' -b/-e, or 1MiB, 4GB): %v", flag, s, err)
	}
	if b < 1 || b > 1<<50 {
		return 0, fmt.Errorf("%s: %q is not between 1 B and 1 PiB", flag, s)
	}
	return b, nil
}

type collectiveFlags struct {
	sets               []string
	op, group, typ     string
	gpus               int
	minBytes, maxBytes string
	factor             float64
	format, out        string
}

// perfTable is one operation's table, for JSON.
type perfTable struct {
	Scenario  string        `json:"scenario"`
	Op        string        `json:"op"`
	Group     string        `json:"group"`
	Ranks     int           `json:"ranks"`
	PerNode   int           `json:"ranks_per_node"`
	Nodes     int           `json:"nodes"`
	Type      string        `json:"type"`
	Redop     string        `json:"redop"`
	Root      int           `json:"root"`
	BusFactor json.Number   `json:"bus_factor"`
	Rows      []perfRowJSON `json:"rows"`
	AvgBusBW  json.Number   `json:"avg_busbw_gbps"`
}

type perfRowJSON struct {
	Size       int64       `json:"size_bytes"`
	Count      int64       `json:"count"`
	TimeUS     json.Number `json:"time_us"`
	AlgBW      json.Number `json:"algbw_gbps"`
	BusBW      json.Number `json:"busbw_gbps"`
	Algorithm  string      `json:"algorithm"`
	Bottleneck string      `json:"bottleneck"`
}

// fixed writes x with prec decimals: the text table's columns, as
// nccl-tests prints them.
func fixed(x float64, prec int) json.Number {
	return json.Number(strconv.FormatFloat(x, 'f', prec, 64))
}

// reportNumber writes x as every machine-readable report writes a float
// (units.Number), for the JSON and CSV tables: no fixed decimals there, so
// that a small bandwidth (8 B across nodes: 0.0003 GB/s) is not written
// as 0.000.
func reportNumber(x float64, _ int) json.Number { return json.Number(units.Number(x)) }

func newCollectiveCmd(stdout, stderr io.Writer) *cobra.Command {
	var f collectiveFlags
	cmd := &cobra.Command{
		Use:   "collective [SCENARIO.toml]",
		Short: "the nccl-tests view: time, algbw and busbw of each collective over message sizes on the scenario's cluster",
		Long: `Prices collectives as the replay does, on the scenario's cluster (the embedded default
without a file), over message sizes, and prints them in nccl-tests' column layout
(size, count, type, redop, root, time, algbw, busbw) so that they can be held against
an all_reduce_perf run. busbw = algbw × nccl-tests' factor: 2(n-1)/n for all_reduce,
(n-1)/n for all_gather, reduce_scatter and alltoall, 1 for sendrecv. The group is
--gpus N consecutive ranks (mpirun -np N), or --group tp|dp|pp|cp|ep: the layout's
group of pipeline stage 0. Measured busbw feeds back as calibration.nvlink_busbw (a
large all_reduce inside one node) and calibration.nic_busbw (across nodes, per NIC).
See docs/outputs.md.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch f.format {
			case "text", "json", "csv":
			default:
				return badInput(fmt.Errorf("--format: %q is not a format (allowed: text, json, csv)", f.format))
			}
			var ops []collective.Op
			if f.op == "all" {
				ops = collective.PerfOps()
			} else {
				for _, name := range strings.Split(f.op, ",") {
					op, err := collective.ParseOp(name)
					if err != nil {
						return badInput(fmt.Errorf("--op: %w (or all)", err))
					}
					ops = append(ops, op)
				}
			}
			elem, err := dataType(f.typ)
			if err != nil {
				return badInput(err)
			}
			lo, err := parseSize("--min-bytes", f.minBytes)
			if err != nil {
				return badInput(err)
			}
			hi, err := parseSize("--max-bytes", f.maxBytes)
			if err != nil {
				return badInput(err)
			}
			if hi < lo {
				return badInput(fmt.Errorf("--max-bytes %s is below --min-bytes %s", f.maxBytes, f.minBytes))
			}
			if !(f.factor > 1) || f.factor > 1024 {
				return badInput(fmt.Errorf("--factor: %v is not above 1 (and at most 1024)", f.factor))
			}
			sizes, err := collective.Sizes(lo, hi, f.factor)
			if err != nil {
				return badInput(err)
			}
			if cmd.Flags().Changed("gpus") && cmd.Flags().Changed("group") {
				return badInput(fmt.Errorf("--gpus and --group: give one"))
			}
			sc, err := loadScenario(args, f.sets)
			if err != nil {
				return err
			}
			if err := checkOutputs(runInputs(sc, len(args) == 1), []namedPath{{"-o", f.out}}); err != nil {
				return err
			}
			valid, err := prepareJob(sc, len(args) == 1)
			if err != nil {
				return badInput(err)
			}
			m, err := parallelism.CollectiveModel(valid)
			if err != nil {
				return err
			}
			group := f.group
			var place collective.Placement
			if group != "" {
				place, err = parallelism.GroupPlacement(valid, group)
				group += " group"
			} else {
				place, err = parallelism.ContiguousPlacement(valid, f.gpus)
				group = fmt.Sprintf("%d consecutive ranks", f.gpus)
			}
			if err != nil {
				return badInput(fmt.Errorf("%s: %w", sc.File, err))
			}
			num := fixed
			if f.format != "text" {
				num = reportNumber
			}
			var tables []perfTable
			for _, op := range ops {
				rows, err := m.Perf(op, place, sizes, elem)
				if err != nil {
					return err
				}
				tables = append(tables, makeTable(sc.Name, op, group, f.typ, place, rows, num))
			}
			var buf bytes.Buffer
			switch f.format {
			case "json":
				err = report.EncodeJSON(&buf, tables)
			case "csv":
				err = writePerfCSV(&buf, tables)
			default:
				writePerfText(&buf, tables, m)
			}
			if err != nil {
				return err
			}
			return writeOut(f.out, stdout, buf.Bytes())
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.sets, "set", nil, "override a scenario key by its dotted path, e.g. --set calibration.nvlink_busbw=220GB/s (repeatable)")
	fl.StringVar(&f.op, "op", "all_reduce", "operations, comma-separated: all_reduce, all_gather, reduce_scatter, alltoall, sendrecv, or all")
	fl.IntVar(&f.gpus, "gpus", 8, "the group: this many consecutive ranks, filling nodes in order (as mpirun -np N)")
	fl.StringVar(&f.group, "group", "", "the group instead: the layout's tp, dp, pp (stage 0 to 1), cp or ep group of pipeline stage 0")
	fl.StringVarP(&f.minBytes, "min-bytes", "b", "8", "smallest message (nccl-tests -b): 8, 128K, 1M, 8G (powers of 1024) or a size such as 1MiB")
	fl.StringVarP(&f.maxBytes, "max-bytes", "e", "8G", "largest message (nccl-tests -e)")
	fl.Float64VarP(&f.factor, "factor", "f", 2, "size multiplier between lines (nccl-tests -f)")
	fl.StringVarP(&f.typ, "type", "d", "float", "data type (nccl-tests -d): sets count = size / its bytes")
	fl.StringVar(&f.format, "format", "text", "output format: text (nccl-tests' columns), json or csv")
	fl.StringVarP(&f.out, "output", "o", "", "write to FILE instead of stdout")
	return cmd
}

// makeTable builds one operation's table, its figures written by num
// (fixed for the text columns, reportNumber for JSON and CSV).
func makeTable(scenario string, op collective.Op, group, typ string, p collective.Placement, rows []collective.PerfRow, num func(float64, int) json.Number) perfTable {
	redop := "none"
	if op.Reduces() {
		redop = "sum"
	}
	t := perfTable{Scenario: scenario, Op: op.TestName(), Group: group, Ranks: p.Ranks, PerNode: min(p.PerNode, p.Ranks), Nodes: p.Nodes(),
		Type: typ, Redop: redop, Root: -1, BusFactor: num(collective.BusFactor(op, p.Ranks), 6), Rows: []perfRowJSON{}}
	sum := 0.0
	for _, r := range rows {
		t.Rows = append(t.Rows, perfRowJSON{Size: int64(r.Bytes), Count: r.Count, TimeUS: num(float64(r.Time)*1e6, 3),
			AlgBW: num(float64(r.AlgBW)/1e9, 3), BusBW: num(float64(r.BusBW)/1e9, 3), Algorithm: r.Algorithm, Bottleneck: r.Bottleneck})
		sum += float64(r.BusBW) / 1e9
	}
	if len(rows) > 0 {
		sum /= float64(len(rows))
	}
	t.AvgBusBW = num(sum, 3)
	return t
}

// writePerfText prints nccl-tests' layout: a commented header, one line per
// size, the average bus bandwidth.
func writePerfText(w io.Writer, tables []perfTable, m collective.Model) {
	for i, t := range tables {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "# sim collective: %s_perf, modelled (not measured), on %s\n", t.Op, t.Scenario)
		fmt.Fprintf(w, "# group: %s, %d ranks on %d node(s), %d per node; busbw = algbw × %s\n", t.Group, t.Ranks, t.Nodes, t.PerNode, t.BusFactor)
		fmt.Fprintf(w, "# NVLink %s per GPU × %.2f achievable; NIC %s per GPU × %.2f achievable\n",
			m.Cluster.NVLink.Bandwidth, m.Params.NVLinkFraction, m.Cluster.NICBandwidthPerGPU(), m.Params.NICFraction)
		if c := m.Params.NVLinkAllReduce; c.Covers(t.Ranks) && t.Nodes == 1 && t.Op != "alltoall" && t.Op != "sendrecv" {
			fmt.Fprintf(w, "# inside the node: measured, not the formula: %s\n", c.Source)
		}
		if c := m.Params.NVLinkAllToAll; c.Covers(t.Ranks) && t.Nodes == 1 && t.Op == "alltoall" {
			fmt.Fprintf(w, "# inside the node: measured, not the formula: %s\n", c.Source)
		}
		fmt.Fprintln(w, "# the model has no in-place/out-of-place difference: one set of columns")
		fmt.Fprintln(w, "#")
		fmt.Fprintf(w, "# %10s  %12s  %8s  %6s  %6s  %10s  %8s  %8s  %-9s %s\n", "size", "count", "type", "redop", "root", "time", "algbw", "busbw", "algorithm", "bottleneck")
		fmt.Fprintf(w, "# %10s  %12s  %8s  %6s  %6s  %10s  %8s  %8s\n", "(B)", "(elements)", "", "", "", "(us)", "(GB/s)", "(GB/s)")
		for _, r := range t.Rows {
			fmt.Fprintf(w, "  %10d  %12d  %8s  %6s  %6d  %10s  %8s  %8s  %-9s %s\n", r.Size, r.Count, t.Type, t.Redop, t.Root, r.TimeUS, r.AlgBW, r.BusBW, r.Algorithm, r.Bottleneck)
		}
		fmt.Fprintf(w, "# Avg bus bandwidth    : %s\n", t.AvgBusBW)
	}
}

func writePerfCSV(w io.Writer, tables []perfTable) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"op", "group", "ranks", "nodes", "size_bytes", "count", "type", "redop", "root", "time_us", "algbw_gbps", "busbw_gbps", "algorithm", "bottleneck"})
	for _, t := range tables {
		for _, r := range t.Rows {
			_ = cw.Write([]string{t.Op, t.Group, strconv.Itoa(t.Ranks), strconv.Itoa(t.Nodes), strconv.FormatInt(r.Size, 10), strconv.FormatInt(r.Count, 10),
				t.Type, t.Redop, strconv.Itoa(t.Root), string(r.TimeUS), string(r.AlgBW), string(r.BusBW), r.Algorithm, r.Bottleneck})
		}
	}
	cw.Flush()
	return cw.Error()
}
