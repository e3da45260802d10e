package collective

import "trainsim/units"

// Transfer is one point-to-point stream of a collective: Src sends Bytes to
// Dst over the whole operation (NCCL pipelines the chunks, so at the flow
// level a ring step's traffic is one steady stream per edge).
type Transfer struct {
	Src, Dst int
	Bytes    units.Bytes
}

// Transfers returns the streams a ring implementation of op moves between
// members, the global GPU ranks of the group in ring order with perNode
// consecutive members on each node. Like NCCL, it runs one ring (channel)
// per member a node holds, each carrying an equal share of the buffer and
// each entering and leaving a node through a different GPU, hence a different
// NIC. For SendRecv, members is {src, dst}.
func Transfers(op Op, bytes units.Bytes, members []int, perNode int) []Transfer {
	n := len(members)
	if n < 2 || bytes <= 0 {
		return nil
	}
	if op == SendRecv {
		return []Transfer{{Src: members[0], Dst: members[1], Bytes: bytes}}
	}
	if op == AllToAll {
		out := make([]Transfer, 0, n*(n-1))
		share := bytes / units.Bytes(n)
		for _, s := range members {
			for _, d := range members {
				if s != d {
					out = append(out, Transfer{Src: s, Dst: d, Bytes: share})
				}
			}
		}
		return out
	}
	if perNode < 1 || n%perNode != 0 {
		perNode = 1
	}
	passes := 1.0
	if op == AllReduce {
		passes = 2
	}
	nodes := n / perNode
	channels := perNode
	if nodes == 1 {
		// Inside one NVSwitch node every ring loads each GPU's links
		// equally; one ring stands for all channels.
		channels = 1
	}
	per := units.Bytes(passes * float64(n-1) / float64(n) * float64(bytes) / float64(channels))
	out := make([]Transfer, 0, n*channels)
	order := make([]int, n)
	for c := 0; c < channels; c++ {
		// Channel c visits each node's members starting at offset c.
		for node := 0; node < nodes; node++ {
			for i := 0; i < perNode; i++ {
				order[node*perNode+i] = members[node*perNode+(c+i)%perNode]
			}
		}
		for i := 0; i < n; i++ {
			out = append(out, Transfer{Src: order[i], Dst: order[(i+1)%n], Bytes: per})
		}
	}
	return out
}
