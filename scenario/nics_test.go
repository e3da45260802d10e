package scenario

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"trainsim/collective"
	"trainsim/parallelism"
	"trainsim/report"
	"trainsim/topology"
	"trainsim/units"
)

// nicScenario is GPT-3 1.3B data-parallel on two DGX A100 80GB nodes
// (8 × 200 Gb/s HDR NICs for 8 GPUs each), small enough to replay in a test.
const nicScenario = `name = "nics"
[model]
preset = "gpt3-1.3b"
[cluster]
system = "dgx-a100-80gb"
nodes = 2
[parallelism]
microbatch = 1
[training]
global_batch = 64
`

func loadNICs(t *testing.T, sets ...string) *Scenario {
	t.Helper()
	sc, err := Load("nics.toml", []byte(nicScenario), sets)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestNICsFollowGPUsPerNode: a scenario that overrides cluster.gpus_per_node
// of a system keeps the system's NICs per GPU (a DGX A100's one 200 Gb/s NIC,
// 25 GB/s, per GPU) unless it states cluster.network.nics_per_node, and the
// report says so. Checked in the job, in the network graph the flow mode
// builds (NIC vertices of node 0 and their links' capacity), in the report's
// cluster line and in its notes. Before the fix, gpus_per_node = 4 kept the
// system's 8 NICs: 50 GB/s per GPU, silently.
func TestNICsFollowGPUsPerNode(t *testing.T) {
	const nic = 200e9 / 8 // one HDR NIC, B/s
	for _, tc := range []struct {
		name   string
		sets   []string
		gpus   int
		nics   int
		perGPU float64 // B/s of NIC bandwidth per GPU, worked by hand
		note   string  // in the report's notes; "" = no NIC note
	}{
		{"system default", nil, 8, 8, 8 * nic / 8, ""},
		{"gpus_per_node 4", []string{"cluster.gpus_per_node=4"}, 4, 4, 4 * nic / 4,
			"cluster.gpus_per_node = 4 overrides dgx-a100-80gb's 8 GPUs per node and cluster.network.nics_per_node is not stated, so the system's 8 NICs are scaled to 4, keeping the system's 1 NIC per GPU (200 Gb/s of NIC bandwidth per GPU)"},
		{"gpus_per_node 2", []string{"cluster.gpus_per_node=2"}, 2, 2, 2 * nic / 2, "scaled to 2"},
		{"gpus_per_node 16", []string{"cluster.gpus_per_node=16"}, 16, 16, 16 * nic / 16, "scaled to 16"},
		{"gpus_per_node 8 stated (the system's)", []string{"cluster.gpus_per_node=8"}, 8, 8, nic, ""},
		{"user-stated NICs win", []string{"cluster.gpus_per_node=4", "cluster.network.nics_per_node=8"}, 4, 8, 8 * nic / 4, ""},
		{"user-stated NICs win, fewer", []string{"cluster.gpus_per_node=4", "cluster.network.nics_per_node=1"}, 4, 1, nic / 4, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := loadNICs(t, tc.sets...)
			c := sc.Job.Cluster
			if c.GPUsPerNode != tc.gpus || c.Network.NICsPerNode != tc.nics {
				t.Fatalf("%d GPUs, %d NICs per node; want %d, %d", c.GPUsPerNode, c.Network.NICsPerNode, tc.gpus, tc.nics)
			}
			if got := float64(c.NICBandwidthPerGPU()); math.Abs(got-tc.perGPU) > 1e-9*tc.perGPU {
				t.Errorf("NICBandwidthPerGPU %g B/s, want %g", got, tc.perGPU)
			}

			// The built topology: node 0's NIC vertices, and the
			// capacity of their links up to the leaf over its GPUs.
			g, err := topology.Build(c)
			if err != nil {
				t.Fatal(err)
			}
			nicVertex := map[int32]bool{}
			for i, v := range g.Vertices {
				if v.Kind == topology.VertexNIC && v.Node == 0 {
					nicVertex[int32(i)] = true
				}
			}
			var up float64
			for _, l := range g.Links {
				if l.Tier == topology.TierNIC && nicVertex[l.From] {
					up += float64(l.Capacity)
				}
			}
			if len(nicVertex) != tc.nics || math.Abs(up/float64(tc.gpus)-tc.perGPU) > 1e-9*tc.perGPU {
				t.Errorf("graph: %d NICs on node 0, %g B/s up per GPU; want %d, %g", len(nicVertex), up/float64(tc.gpus), tc.nics, tc.perGPU)
			}

			// The report: its cluster line and its notes.
			v, err := sc.Validate()
			if err != nil {
				t.Fatal(err)
			}
			res, err := parallelism.Simulate(v)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := report.Build(report.Input{Name: sc.Name, Job: sc.Job}, res)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := report.WriteText(&b, rep, sc.Job); err != nil {
				t.Fatal(err)
			}
			text := b.String()
			if line := fmt.Sprintf(", %d × 200 Gb/s NICs per node,", tc.nics); !strings.Contains(text, line) {
				t.Errorf("report lacks %q:\n%s", line, text)
			}
			var nicNotes []string
			for _, n := range rep.Notes {
				if strings.HasPrefix(n, "NICs:") {
					nicNotes = append(nicNotes, n)
				}
			}
			switch {
			case tc.note == "" && len(nicNotes) > 0:
				t.Errorf("NIC notes %q, want none", nicNotes)
			case tc.note != "" && (len(nicNotes) != 1 || !strings.Contains(nicNotes[0], tc.note) || !strings.Contains(text, "Note: "+nicNotes[0])):
				t.Errorf("NIC notes %q, want one with %q, printed", nicNotes, tc.note)
			}
		})
	}
}

// TestDPAllReduceAfterGPUsPerNode: with gpus_per_node = 4 on DGX A100 nodes
// and tp = 4, the data-parallel group is one GPU on each of the two nodes.
// Its ring all-reduce of S = 1 GiB sends 2 × (2−1)/2 × S = S bytes per GPU
// through that GPU's share of the NICs: 4 NICs × 200 Gb/s ÷ 4 GPUs = 25 GB/s,
// at NCCL's 92% of line rate (collective.DefaultParams), each 512 MiB chunk
// slowed by the protocol's fill, 512 MiB/(512 MiB + 512 KiB) = 1024/1025;
// plus 2 steps × the fabric's 2 µs. With the system's 8 NICs kept (the
// bug), each GPU had 50 GB/s and the all-reduce took half the time.
func TestDPAllReduceAfterGPUsPerNode(t *testing.T) {
	sc := loadNICs(t, "cluster.gpus_per_node=4", "parallelism.tp=4")
	if l := sc.Job.Layout; l.DP != 2 {
		t.Fatalf("dp %d, want 2", l.DP)
	}
	m := collective.Model{Cluster: sc.Job.Cluster, Params: collective.DefaultParams()}
	const size = units.GiB
	cost, err := m.Time(collective.AllReduce, size, collective.Placement{Ranks: 2, PerNode: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := 1073741824.0*1025/1024/(0.92*25e9) + 2*2e-6 // ≈ 46.72 ms
	if got := float64(cost.Time); math.Abs(got-want) > 1e-9*want {
		t.Errorf("all-reduce of 1 GiB over 2 nodes: %.9g s (%s, %s), want %.9g s", got, cost.Algorithm, cost.Bottleneck, want)
	}
	if cost.Bottleneck != collective.NIC || cost.Sent[collective.NIC] != size {
		t.Errorf("bottleneck %s, %v through the NIC; want nic, %v", cost.Bottleneck, cost.Sent[collective.NIC], size)
	}
}

// TestFlowRefusesMoreNICsThanGPUs: the flow-level network attaches each GPU
// to one NIC (topology.Build), so a node with more NICs than GPUs would leave
// NICs idle there while the analytical network spreads every NIC's bandwidth
// over the GPUs; such a node is refused in flow mode, naming the key and the
// counts. Scaled NICs (as many as GPUs) run in flow mode and agree with the
// analytical network.
func TestFlowRefusesMoreNICsThanGPUs(t *testing.T) {
	sc := loadNICs(t, "cluster.gpus_per_node=4", "cluster.network.nics_per_node=8", "simulation.network=flow")
	_, err := sc.Validate()
	if err == nil {
		t.Fatal("8 NICs for 4 GPUs in flow mode: no error")
	}
	for _, want := range []string{"--set: cluster.network.nics_per_node: 8 NICs per node for 4 GPUs (cluster.gpus_per_node)", `simulation.network = "flow"`, "4 of them would carry nothing", "at most 4 NICs per node", `simulation.network = "analytical"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	// The same node in analytical mode is accepted.
	if _, err := loadNICs(t, "cluster.gpus_per_node=4", "cluster.network.nics_per_node=8").Validate(); err != nil {
		t.Errorf("8 NICs for 4 GPUs, analytical: %v", err)
	}

	step := map[string]float64{}
	for _, network := range parallelism.Networks() {
		v, err := loadNICs(t, "cluster.gpus_per_node=4", "simulation.network="+network).Validate()
		if err != nil {
			t.Fatalf("%s, scaled NICs: %v", network, err)
		}
		res, err := parallelism.Simulate(v)
		if err != nil {
			t.Fatal(err)
		}
		step[network] = float64(res.StepTime)
	}
	a, f := step[parallelism.NetworkAnalytical], step[parallelism.NetworkFlow]
	if math.Abs(a-f) > 0.01*a {
		t.Errorf("scaled NICs: analytical step %.6g s, flow %.6g s; want within 1%%", a, f)
	}
}
