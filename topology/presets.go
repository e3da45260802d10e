package topology

import (
	"sort"

	"trainsim/units"
)

// HBM capacities: the datasheets print "40GB", "80GB", "141GB", "180GB".
// The HBM stacks are binary-sized (A100 40GB: 5 active stacks × 8 GiB HBM2;
// A100 80GB and H100: 5 × 16 GiB HBM2e/HBM3), so the printed figure is the
// physical capacity in GiB, and HBM holds it as GiB. H200 and B200 are read
// the same way; nvidia-smi reports 143771 MiB (140.4 GiB) on an H200, 0.4%
// under 141 GiB. What the driver, ECC, the CUDA context and the allocator
// keep for themselves is a question for the memory model (a documented
// reserve), not a datasheet figure, so it is not subtracted here. The one
// reserve a measurement gives is held apart, as DriverReserved: the total
// the CUDA driver reports for an 80 GB GPU in the memory-profiling logs of
// vLLM PR #10511 (2024-12; vLLM's total_gpu_memory, torch.cuda.mem_get_info's
// total), 79.22 GiB, 0.78 GiB under the HBM. The PR does not name the GPU;
// the figure is taken for the H100 (and the H800, the same memory), whose
// nvidia-smi total, 81559 MiB = 79.65 GiB (vLLM issue #55169), is already
// under 80 GiB. No reported total was found for the other GPUs (0).
const h100DriverReserved = 80*units.GiB - 79.22*units.GiB

// Modelling estimates shared by the system presets. They are not datasheet
// values and are the same for every system of a generation.
const (
	// nvlinkLatency is the one-way latency of a small NVLink/NVSwitch
	// transfer between two GPUs of a node, end to end as NCCL sees it
	// (kernel launch excluded). An estimate of the same order as the
	// per-step NVLink latencies in NCCL's tuning model; not a datasheet
	// figure.
	nvlinkLatency = 1 * units.Microsecond
	// networkLatency is the end-to-end latency of a small message between
	// two nodes across the InfiniBand fabric: about 0.6–1 us in the two
	// NICs and PCIe, plus about 130–300 ns per switch hop for up to 5 hops
	// in a three-level fat tree, plus cables and software. An estimate,
	// rounded up to 2 us; not a datasheet figure.
	networkLatency = 2 * units.Microsecond
)

// Datasheet citations.
const (
	srcA100 = "NVIDIA A100 Tensor Core GPU datasheet (2021), SXM4 columns: BF16/FP16 tensor 312 TFLOPS dense (624 with sparsity), no FP8, " +
		"HBM2 40GB at 1,555 GB/s / HBM2e 80GB at 2,039 GB/s; 108 SMs from the NVIDIA A100 Tensor Core GPU Architecture whitepaper (2020)"
	srcH100 = "NVIDIA H100 Tensor Core GPU datasheet (2023), H100 SXM column: BF16 1,979 and FP8 3,958 TFLOPS with sparsity, i.e. 989.4 and " +
		"1,978.9 dense as the NVIDIA H100 Tensor Core GPU Architecture whitepaper (2022, Table 'H100 SXM5') lists them; 80GB HBM3 at 3.35 TB/s; 132 SMs (whitepaper)"
	srcH200 = "NVIDIA H200 Tensor Core GPU product brief / datasheet (2024), H200 SXM column: BF16 1,979 and FP8 3,958 TFLOPS with sparsity " +
		"(the H100 SXM figures, same GH100 die and clocks: 989.4 / 1,978.9 dense), 141GB HBM3e at 4.8 TB/s; 132 SMs as H100 SXM"
	srcH800 = "NVIDIA H800 SXM5 (export variant of H100 SXM5; NVIDIA H800 Tensor Core GPU product brief, 2023): the H100 SXM figures for compute " +
		"(989.4 BF16 / 1,978.9 FP8 dense TFLOPS), 80GB HBM3 at 3.35 TB/s and 132 SMs, with NVLink limited to 400 GB/s (bidirectional; 900 on H100); " +
		"DeepSeek-AI 2024, arXiv:2412.19437 §3.1 trains on H800 SXM GPUs and §3.2.2 states 'NVLink offers a bandwidth of 160 GB/s' (measured, per direction)"
	srcH20 = "NVIDIA HGX H20 (export variant of Hopper for China, 2024). NVIDIA publishes no public H20 datasheet; its product-brief figures as " +
		"reproduced by TweakTown (2024-01, 'NVIDIA's tweaked H20 AI GPU enters mass production in Q2 2024'): 96GB HBM3 at 4.0 TB/s, 296 TFLOPS " +
		"(FP8), 400W, 8-way HGX, NVLink 900 GB/s, 7-way MIG, H100 SXM '6.68x faster' in FP16 tensor FLOPS (989.4 / 6.68 = 148); " +
		"148 TFLOPS FP16/BF16 dense, 296 FP8/INT8 dense, FP32 44 TFLOPS (zangshuxian.com H20 summary, willitrunai.com h20-96gb); 78 SMs " +
		"(Geekbench 6 listing reported by Wccftech, reproduced there). PCIe Gen5 x16 as the Hopper SXM parts"
	srcB200 = "PRELIMINARY. NVIDIA HGX B200 / DGX B200 datasheets (2024), per GPU = 8-GPU totals / 8: FP16/BF16 36 PFLOPS and FP8 72 PFLOPS with " +
		"sparsity (2,250 / 4,500 TFLOPS dense), 1,440GB HBM3e (180GB per GPU) at 64 TB/s (8 TB/s per GPU). NVIDIA has revised Blackwell figures " +
		"between announcements; check them against the current datasheet. 148 SMs as the CUDA runtime reports for B200 (not in the datasheet)"
	srcSuperPODA100 = "NVIDIA DGX SuperPOD reference architecture (DGX A100, 2020-2021): scalable unit of 20 DGX A100, compute fabric of HDR " +
		"QM8790 40-port leaves, one leaf per rail with 20 ports down (one per node) and 20 up, non-blocking"
	srcSuperPODH100 = "NVIDIA DGX SuperPOD reference architecture (DGX H100, 2023; DGX H200, 2024): scalable unit of 32 nodes, compute fabric " +
		"of NDR QM9700 64-port leaves, one leaf per rail with 32 ports down and 32 up, non-blocking"
)

// gpuTable returns a fresh copy of every built-in GPU.
func gpuTable() []GPU {
	return []GPU{
		{
			Name: "a100-40gb", Family: "ampere",
			PeakDense16: 312 * units.TFLOPs, HBM: 40 * units.GiB, HBMBandwidth: 1555 * units.GBps, SMs: 108,
			Source: srcA100 + " (40GB)",
		},
		{
			Name: "a100-80gb", Family: "ampere",
			PeakDense16: 312 * units.TFLOPs, HBM: 80 * units.GiB, HBMBandwidth: 2039 * units.GBps, SMs: 108,
			Source: srcA100 + " (80GB)",
		},
		{
			Name: "h100-sxm", Family: "hopper",
			PeakDense16: 989.4 * units.TFLOPs, PeakDenseFP8: 1978.9 * units.TFLOPs,
			HBM: 80 * units.GiB, HBMBandwidth: 3350 * units.GBps, SMs: 132, DriverReserved: h100DriverReserved,
			Source: srcH100,
		},
		{
			// The export variant of H100 SXM: the same compute and memory,
			// NVLink cut to 400 GB/s (the hgx-h800 system carries it).
			Name: "h800", Family: "hopper",
			PeakDense16: 989.4 * units.TFLOPs, PeakDenseFP8: 1978.9 * units.TFLOPs,
			HBM: 80 * units.GiB, HBMBandwidth: 3350 * units.GBps, SMs: 132, DriverReserved: h100DriverReserved,
			Source: srcH800,
		},
		{
			Name: "h200", Family: "hopper",
			PeakDense16: 989.4 * units.TFLOPs, PeakDenseFP8: 1978.9 * units.TFLOPs,
			HBM: 141 * units.GiB, HBMBandwidth: 4800 * units.GBps, SMs: 132,
			Source: srcH200,
		},
		{
			// The export variant of Hopper for China: H100-class memory
			// system (96 GB at 4.0 TB/s) and NVLink, tensor cores capped
			// at 148 TFLOPS. Hopper's kernel-efficiency constants apply
			// (Family), as to every GH100 part here.
			Name: "h20", Family: "hopper",
			PeakDense16: 148 * units.TFLOPs, PeakDenseFP8: 296 * units.TFLOPs,
			HBM: 96 * units.GiB, HBMBandwidth: 4000 * units.GBps, SMs: 78,
			Source: srcH20,
		},
		{
			Name: "b200", Family: "blackwell",
			PeakDense16: 2250 * units.TFLOPs, PeakDenseFP8: 4500 * units.TFLOPs,
			HBM: 180 * units.GiB, HBMBandwidth: 8000 * units.GBps, SMs: 148,
			Source: srcB200,
		},
	}
}

// systemTable returns a fresh copy of every built-in node type.
func systemTable() []System {
	gpu := map[string]GPU{}
	for _, g := range gpuTable() {
		gpu[g.Name] = g
	}
	// NVLink per GPU, per direction: NVLink 3 (A100) is 12 links × 25 GB/s
	// = 300 GB/s (600 GB/s both directions, A100 datasheet); NVLink 4
	// (H100/H200) is 18 links × 25 GB/s = 450 GB/s (900 GB/s total, H100
	// datasheet); NVLink 5 (B200) is 18 links × 50 GB/s = 900 GB/s (1.8
	// TB/s total, HGX B200 datasheet).
	nvlink3 := Link{Bandwidth: 300 * units.GBps, Latency: nvlinkLatency}
	nvlink4 := Link{Bandwidth: 450 * units.GBps, Latency: nvlinkLatency}
	nvlink5 := Link{Bandwidth: 900 * units.GBps, Latency: nvlinkLatency}
	// Compute fabrics. Eight single-port NICs per node, one per GPU (the
	// storage/management NICs are not part of the compute fabric). The
	// SuperPOD compute fabric is a rail-optimized, full-bisection fat tree;
	// it is described here as FatTree, as Narayanan et al. 2021 describe
	// Selene ("three-level fat tree"). NodesPerLeaf is the nodes on one rail
	// leaf: rail-aligned traffic (GPU i to GPU i) among them crosses one
	// switch. Transport: the DGX datasheets' compute NICs are InfiniBand
	// (ConnectX-6 HDR, ConnectX-7 NDR), as are the SuperPOD compute
	// fabrics (QM8790, QM9700 InfiniBand switches), and DeepSeek-V3's
	// H800 cluster (hgx-h800, its report §3.1); gb200-nvl72's is assumed
	// InfiniBand like the others.
	hdr := Network{
		Topology: FatTree, NICBandwidth: 200 * units.Gbps, NICsPerNode: 8,
		Latency: networkLatency, Oversubscription: 1, NodesPerLeaf: 20, Transport: TransportInfiniBand,
	}
	ndr := Network{
		Topology: FatTree, NICBandwidth: 400 * units.Gbps, NICsPerNode: 8,
		Latency: networkLatency, Oversubscription: 1, NodesPerLeaf: 32, Transport: TransportInfiniBand,
	}
	const estimates = "; NVLink and fabric latencies are modelling estimates (1 us, 2 us), not datasheet figures"
	return []System{
		{
			Name: "dgx-a100-40gb", GPU: gpu["a100-40gb"], GPUsPerNode: 8, NVLink: nvlink3, Network: hdr,
			Source: "NVIDIA DGX A100 datasheet (2020, 320GB system): 8 × A100 40GB on 6 NVSwitches, 600 GB/s GPU-to-GPU (300 per direction), " +
				"8 × single-port ConnectX-6 200Gb/s HDR InfiniBand for compute; " + srcSuperPODA100 + estimates,
		},
		{
			Name: "dgx-a100-80gb", GPU: gpu["a100-80gb"], GPUsPerNode: 8, NVLink: nvlink3, Network: hdr,
			Source: "NVIDIA DGX A100 datasheet (2021, 640GB system): 8 × A100 80GB on 6 NVSwitches, 600 GB/s GPU-to-GPU (300 per direction), " +
				"8 × single-port ConnectX-6 200Gb/s HDR InfiniBand for compute; " + srcSuperPODA100 + estimates,
		},
		{
			Name: "dgx-h100", GPU: gpu["h100-sxm"], GPUsPerNode: 8, NVLink: nvlink4, Network: ndr,
			Source: "NVIDIA DGX H100 datasheet (2023): 8 × H100 SXM on 4 NVSwitches, 900 GB/s GPU-to-GPU (450 per direction), " +
				"8 × single-port ConnectX-7 400Gb/s NDR InfiniBand for compute; " + srcSuperPODH100 + estimates,
		},
		{
			Name: "dgx-h200", GPU: gpu["h200"], GPUsPerNode: 8, NVLink: nvlink4, Network: ndr,
			Source: "NVIDIA DGX H200 datasheet (2024): 8 × H200 on 4 NVSwitches, 900 GB/s GPU-to-GPU (450 per direction), " +
				"8 × single-port ConnectX-7 400Gb/s NDR InfiniBand for compute; " + srcSuperPODH100 + estimates,
		},
		{
			// NVLink 400 GB/s bidirectional = 200 GB/s per direction.
			Name: "hgx-h800", GPU: gpu["h800"], GPUsPerNode: 8, NVLink: Link{Bandwidth: 200 * units.GBps, Latency: nvlinkLatency}, Network: ndr,
			Source: "DeepSeek-AI 2024 'DeepSeek-V3 Technical Report' arXiv:2412.19437 §3.1: nodes of 8 H800 GPUs joined by NVLink and NVSwitch, " +
				"InfiniBand across nodes; §3.2.2: NVLink 160 GB/s, IB 50 GB/s (= one 400 Gb/s NIC per GPU, as ndr). The NVLink rate is the " +
				"H800's 400 GB/s bidirectional (200 per direction; the paper's 160 is what it measures, 80% of it); " + srcSuperPODH100 + estimates,
		},
		{
			// NVIDIA sells the H20 as an HGX board only (no DGX H20); the
			// compute fabric of the servers built on it is not in any
			// NVIDIA document found, so the HGX H100 design's one
			// 400 Gb/s NIC per GPU (ndr) is assumed.
			Name: "hgx-h20", GPU: gpu["h20"], GPUsPerNode: 8, NVLink: nvlink4, Network: ndr,
			Source: srcH20 + "; HGX H20 board: 8 × H20 on NVSwitch, NVLink 900 GB/s GPU-to-GPU (450 per direction, NVLink 4 as H100); " +
				"compute fabric ASSUMED: one single-port 400Gb/s NDR InfiniBand NIC per GPU, as the HGX/DGX H100 design (no H20 server " +
				"datasheet found); " + srcSuperPODH100 + estimates,
		},
		{
			Name: "dgx-b200", GPU: gpu["b200"], GPUsPerNode: 8, NVLink: nvlink5, Network: ndr,
			Source: "PRELIMINARY. NVIDIA DGX B200 datasheet (2024): 8 × B200 on 2 NVSwitch chips, 1.8 TB/s GPU-to-GPU (900 per direction), " +
				"8 × single-port ConnectX-7 400Gb/s InfiniBand for compute; NodesPerLeaf 32 assumes the DGX SuperPOD (B200) reference " +
				"architecture's 32-node scalable unit with NDR rail leaves" + estimates,
		},
		{
			// One NVL72 rack is one "node": its 72 GPUs share one NVLink
			// switch domain, so tensor (or expert) parallel groups of up to
			// 72 stay on NVLink.
			Name: "gb200-nvl72", GPU: gpu["b200"], GPUsPerNode: 72, NVLink: nvlink5, Network: Network{
				Topology: FatTree, NICBandwidth: ndr.NICBandwidth, NICsPerNode: 72, Latency: ndr.Latency,
				Oversubscription: 1, NodesPerLeaf: 4, Transport: TransportInfiniBand,
			},
			Source: "PRELIMINARY. NVIDIA GB200 NVL72 product page (2024): 72 Blackwell GPUs in one NVLink domain, 1.8 TB/s " +
				"per GPU (900 GB/s per direction); the GPU figures are those of the B200 preset (the GB200's own are " +
				"slightly higher); one 400 Gb/s NIC per GPU and 4 racks per leaf are assumptions, not datasheet figures" + estimates,
		},
	}
}

// GPUPreset returns the built-in GPU called name.
func GPUPreset(name string) (GPU, bool) {
	for _, g := range gpuTable() {
		if g.Name == name {
			return g, true
		}
	}
	return GPU{}, false
}

// SystemPreset returns the built-in node type called name, with Name filled in.
func SystemPreset(name string) (System, bool) {
	for _, s := range systemTable() {
		if s.Name == name {
			return s, true
		}
	}
	return System{}, false
}

// GPUPresets returns every built-in GPU, sorted by name. The slice and its
// elements are fresh copies.
func GPUPresets() []GPU {
	gs := gpuTable()
	sort.Slice(gs, func(i, j int) bool { return gs[i].Name < gs[j].Name })
	return gs
}

// SystemPresets returns every built-in node type, sorted by name. The slice
// and its elements are fresh copies.
func SystemPresets() []System {
	ss := systemTable()
	sort.Slice(ss, func(i, j int) bool { return ss[i].Name < ss[j].Name })
	return ss
}

// GPUPresetNames lists the built-in GPUs in sorted order.
func GPUPresetNames() []string {
	gs := GPUPresets()
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.Name
	}
	return out
}

// SystemPresetNames lists the built-in node types in sorted order.
func SystemPresetNames() []string {
	ss := SystemPresets()
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name
	}
	return out
}
