package validation

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestParseCases reads a file of cases kept outside the built-in folder and
// replays it under the same rules; a bad file is refused with its name.
func TestParseCases(t *testing.T) {
	src, err := os.ReadFile("testdata/heldout-example.toml")
	if err != nil {
		t.Fatal(err)
	}
	cases, err := ParseCases("heldout-example.toml", src)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 1 || !cases[0].Scored || cases[0].Knobs.PP != 35 || cases[0].Precision != "bf16" {
		t.Fatalf("cases: %+v", cases)
	}
	rep, err := Build(Options{Workers: 2, Cases: cases})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Groups) != 1 || rep.Groups[0].Group != "Smith2022-MT-NLG" || rep.Memory != nil || len(rep.Results) != 1 {
		t.Fatalf("report: groups %+v, memory %v, %d results", rep.Groups, rep.Memory != nil, len(rep.Results))
	}
	if r := rep.Results[0]; !(r.Predicted > 0) || r.Measured != 60.1 {
		t.Fatalf("result %+v", r)
	}
	if _, err := Build(Options{Workers: 1, Cases: cases, Group: MemoryGroup}); err == nil {
		t.Error("the memory group was accepted for other cases")
	}

	dup := string(src) + "\n" + string(src)[strings.Index(string(src), "[[case]]"):]
	for name, tc := range map[string]struct{ src, want string }{
		"syntax":    {"[[case]\n", "f.toml:2: invalid TOML"},
		"unknown":   {"[[case]]\nid = \"x\"\nmodle = {}\n", `unknown key "case.modle"`},
		"empty":     {"# none\n", "no [[case]]"},
		"duplicate": {dup, `duplicate case id "mt-nlg-530b-2240gpu"`},
		"no id":     {"[[case]]\ngroup = \"g\"\n", "has no id"},
	} {
		_, err := ParseCases("f.toml", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", name, err, tc.want)
		}
	}
}

// FuzzParseCases feeds arbitrary files to the case parser and mapper: an
// error or cases, never a panic.
func FuzzParseCases(f *testing.F) {
	if src, err := os.ReadFile("testdata/heldout-example.toml"); err == nil {
		f.Add(string(src))
	}
	f.Add("[[case]]\nid = \"a\"\n[case.parallelism]\ntp = -1\npp = 0\n[case.hardware]\ngpus = 0\n")
	f.Add("[[case]]\nid = \"b\"\n[case.model]\nlayers = \"unknown\"\nhidden = 1e300\n[case.measured]\niteration_s = -1\n")
	f.Add("[[case]]\nid = \"c\"\n[case.parallelism]\ninterleave = \"yes, 0 chunks\"\nmicrobatch = 2147483648\n")
	f.Fuzz(func(t *testing.T, src string) {
		cases, err := ParseCases("f.toml", []byte(src))
		if err == nil && len(cases) == 0 {
			t.Fatal("no error and no cases")
		}
	})
}

// TestHeldOutFiles keeps the held-out case files in validation/heldout
// readable and fully scored: every case names its layout and a metric.
func TestHeldOutFiles(t *testing.T) {
	for _, tc := range []struct {
		file  string
		cases int
	}{{"heldout/nemo-h100-fp8.toml", 5}, {"heldout/megatron-deepspeed.toml", 2}, {"heldout/mbridge-moe-releases.toml", 12}, {"heldout/mbridge-dense-fp8.toml", 6}} {
		src, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		cases, err := ParseCases(tc.file, src)
		if err != nil {
			t.Fatal(err)
		}
		scored := 0
		for _, c := range cases {
			if c.Scored {
				scored++
			} else {
				t.Errorf("%s: %s not scored: %s", tc.file, c.ID, c.Why)
			}
		}
		if scored != tc.cases {
			t.Errorf("%s: %d scored cases, want %d", tc.file, scored, tc.cases)
		}
	}
}

// TestVendorSystems: a case whose hardware is a vendor or cloud system that
// names its GPU is scored on that GPU's DGX node, and says so; "yes
// (activation checkpointing)" reads as full recomputation.
func TestVendorSystems(t *testing.T) {
	src, err := os.ReadFile("testdata/heldout-example.toml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ gpu, recompute, system, want string }{
		{"NVIDIA DGX H100 (Eos)", "yes (activation checkpointing)", "dgx-h100", "full"},
		{"Azure ND H100 v5", "full", "dgx-h100", "full"},
		{"A100-class GPUs", "selective", "dgx-a100-80gb", "selective"},
		{"A100 80GB (Selene)", "checkpoint-activations", "dgx-a100-80gb", "full"},
	}
	for _, tc := range tests {
		s := strings.Replace(string(src), `gpu = "A100 80GB (Selene)"`, `gpu = "`+tc.gpu+`"`, 1)
		s = strings.Replace(s, `recompute = "full"`, `recompute = "`+tc.recompute+`"`, 1)
		cases, err := ParseCases("v.toml", []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		c := cases[0]
		if !c.Scored || c.System != tc.system || c.Knobs.Recompute != tc.want {
			t.Errorf("%s / %s: scored %v, system %s, recompute %s (%s)", tc.gpu, tc.recompute, c.Scored, c.System, c.Knobs.Recompute, c.Why)
		}
		said := strings.Contains(strings.Join(c.Assumptions, "; "), "DGX node")
		g := strings.ToLower(tc.gpu)
		if named := strings.HasPrefix(g, "a100") || strings.HasPrefix(g, "h100"); said == named {
			t.Errorf("%s: assumption stated %v: %v", tc.gpu, said, c.Assumptions)
		}
	}
}

// TestNetworkAndStack: a stated inter-node bandwidth per node sets the NICs
// per node when it divides into whole NICs of the system's NIC bandwidth
// (200 Gb/s on DGX A100), and the source and date pick the software stack.
func TestNetworkAndStack(t *testing.T) {
	src, err := os.ReadFile("testdata/heldout-example.toml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		extra, source string
		nics          int
		stack         string
	}{
		{"", "Smith et al. 2022", 0, "megatron-lm-2022"},
		{"inter_node_Gbps_per_node = 800\n", "Smith et al. 2022", 4, "megatron-lm-2022"},
		{"inter_node_Gbps_per_node_sim_config = 1600\n", "Smith et al. 2022", 8, "megatron-lm-2022"},
		{"inter_node_Gbps_per_node = 300\n", "Smith et al. 2022", 0, "megatron-lm-2022"}, // 1.5 NICs: kept
		{"inter_node_Gbps_per_node = \"unknown\"\n", "Smith et al. 2022", 0, "megatron-lm-2022"},
		{"", "runs collected using Megatron-DeepSpeed", 0, "megatron-deepspeed"},
		{"", "Using DeepSpeed and Megatron to Train MT-NLG, 2022", 0, "megatron-deepspeed"},
		{"", "Narayanan et al. 2021", 0, "megatron-lm-2021"},
		{"", "Megatron-LM README 2021-01-11", 0, "megatron-lm-2021-01"},
	}
	for _, tc := range tests {
		s := strings.Replace(string(src), "[case.hardware]\n", "[case.hardware]\n"+tc.extra, 1)
		s = regexpSource.ReplaceAllString(s, `source = "`+tc.source+`"`)
		cases, err := ParseCases("n.toml", []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		c := cases[0]
		if c.NICsPerNode != tc.nics || c.Stack != tc.stack {
			t.Errorf("%q / %q: nics %d stack %s, want %d %s", tc.extra, tc.source, c.NICsPerNode, c.Stack, tc.nics, tc.stack)
		}
		sc := string(c.Scenario(c.Knobs))
		if strings.Contains(sc, "nics_per_node") != (tc.nics > 0) || !strings.Contains(sc, `stack = "`+tc.stack+`"`) {
			t.Errorf("%q / %q: scenario\n%s", tc.extra, tc.source, sc)
		}
		if _, _, err := c.load(c.Knobs); err != nil {
			t.Errorf("%q / %q: %v", tc.extra, tc.source, err)
		}
		// DeepSpeed's engine: partitioned pipeline sends (scatter/gather),
		// unfused accumulation, one all-reduce after the backward pass.
		if tc.stack == "megatron-deepspeed" && (!c.Knobs.PPScatterGather || c.GradAccumFusion || c.Knobs.OverlapGradReduce) {
			t.Errorf("megatron-deepspeed knobs not applied: %+v", c.Knobs)
		}
	}
}

var regexpSource = regexp.MustCompile(`(?m)^source = ".*"$`)
