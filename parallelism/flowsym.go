package parallelism

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"slices"

	"trainsim/flow"
	"trainsim/topology"
)

// The symmetry reduction of the flow-level network (simulation.flow_copies =
// "classes"; docs/network.md, "Symmetry reduction").
//
// The transfers of every collective the replay can start are partitioned,
// together with the links they cross, by colour refinement into classes such
// that
//   - links of one class have the same capacity and tier, and every class of
//     transfers puts the same summed weight on each of them;
//   - transfers of one class belong to the same collective, have the same
//     bytes, and touch the same classes of links.
//
// Such a partition is equitable, and progressive filling keeps it: links of a
// class always have the same capacity left and the same weight of unfrozen
// transfers, so they reach the same fair share together, and the transfers of
// a class are frozen at the same rate by the same class of link (induction on
// the steps of the filling). Transfers of a class start together (one task),
// drain at the same rate and finish together, so every set of active
// transfers is a union of whole classes and the partition holds for all of
// it. The flow network is then solved on one link per link class and one
// flow per transfer class, the flow's weight on a link class being the
// summed weight the class puts on one of its links: the rates, finish times
// and each link's bytes, busy and saturated time are those of the unreduced
// network, up to floating-point rounding.
//
// The partition must hold for every task that can be active, so paths may
// not depend on the task: it applies to spray routing (no ECMP choice) or
// when no transfer crosses a spine, and only to the symmetric replay (a full
// replay's tasks carry one replica's copies each).

// reduction maps the topology onto the reduced network.
type reduction struct {
	// linkClass is, per topology link, its class (a link of the reduced
	// network), or -1 if no transfer crosses it.
	linkClass []int32
	// tier and members are per class.
	tier    []topology.Tier
	members []int32
	// reps are, per flow spec, its representative flows.
	reps [][]repFlow
	// flows counts the representative flows of all specs; transfers the
	// transfers they stand for.
	flows, transfers int
}

// repFlow is one class of a collective's transfers.
type repFlow struct {
	path   []flow.LinkID // link classes, increasing
	weight []float64     // the class's summed weight on one link of each
	bytes  float64
	copies int // transfers in the class
}

// linkUse is one use of a link by a transfer: link (or transfer) index and
// weight.
type linkUse struct {
	at int32
	w  float64
}

// sprayPath returns the links of transfer src→dst and their weights under
// the network's routing with ECMP key key; under ECMP every weight is 1.
func (f *flowNet) sprayPath(src, dst int, key uint64) ([]topology.LinkID, []float64) {
	f.pathT, f.pathW = f.pathT[:0], f.pathW[:0]
	if f.spray {
		var ok bool
		if f.pathT, f.pathW, ok = f.topo.AppendSprayPath(f.pathT, f.pathW, src, dst); ok {
			return f.pathT, f.pathW
		}
	}
	f.pathT = f.topo.AppendPath(f.pathT, src, dst, key)
	for range f.pathT {
		f.pathW = append(f.pathW, 1)
	}
	return f.pathT, f.pathW
}

// reduce builds the reduction for every registered flow spec, or returns nil
// and why where it does not apply (see above).
func (f *flowNet) reduce() (*reduction, string) {
	for _, fs := range f.flowSpecs {
		if fs.replica >= 0 {
			return nil, "the full replay's tasks carry one replica's copies each"
		}
	}
	const ecmp = "under ECMP routing the spine a transfer takes depends on the task, so copies are not alike (simulation.routing = \"spray\", the default on InfiniBand, allows the reduction)"
	// Every transfer of every spec, with its path and weights.
	var (
		fStart []int32
		fCross []linkUse
		fSpec  []int32
		fBytes []float64
	)
	nt, nc := 0, 0
	for i := range f.flowSpecs {
		for _, tr := range f.transfersOf(int32(i)) {
			p, _ := f.sprayPath(tr.Src, tr.Dst, 0)
			nt++
			nc += len(p)
		}
	}
	fStart = make([]int32, 1, nt+1)
	fCross = make([]linkUse, 0, nc)
	fSpec = make([]int32, 0, nt)
	fBytes = make([]float64, 0, nt)
	uniform := true
	for i := range f.flowSpecs {
		for _, tr := range f.transfersOf(int32(i)) {
			// Under ECMP a path that crosses a spine depends on the task's
			// key; the spray path tells whether it does. A graph read from
			// a file is routed by ECMP at every hop, whatever the routing.
			p, w, ok := f.topo.AppendSprayPath(f.pathT[:0], f.pathW[:0], tr.Src, tr.Dst)
			f.pathT, f.pathW = p, w
			if !ok {
				return nil, "paths on a graph read from a file depend on the task (ECMP at every hop)"
			}
			if !f.spray {
				for _, x := range w {
					if x != 1 {
						uniform = false
					}
				}
				if !uniform {
					return nil, ecmp
				}
			}
			// Here the sprayed path is the path (no spine under ECMP).
			for k, l := range p {
				fCross = append(fCross, linkUse{int32(l), w[k]})
			}
			fStart = append(fStart, int32(len(fCross)))
			fSpec = append(fSpec, int32(i))
			fBytes = append(fBytes, float64(tr.Bytes))
		}
	}
	nf := len(fSpec)
	nl := len(f.topo.Links)

	// Links crossed, densely numbered in increasing LinkID order, and their
	// crossings (transfer, weight).
	count := make([]int32, nl+1)
	for _, c := range fCross {
		count[c.at+1]++
	}
	dense := make([]int32, nl)
	var links []int32
	for l := 0; l < nl; l++ {
		dense[l] = -1
		if count[l+1] > 0 {
			dense[l] = int32(len(links))
			links = append(links, int32(l))
		}
	}
	lStart := make([]int32, len(links)+1)
	for i, l := range links {
		lStart[i+1] = lStart[i] + count[l+1]
	}
	lCross := make([]linkUse, len(fCross))
	fill := slices.Clone(lStart[:len(links)])
	for g := 0; g < nf; g++ {
		for _, c := range fCross[fStart[g]:fStart[g+1]] {
			d := dense[c.at]
			lCross[fill[d]] = linkUse{int32(g), c.w}
			fill[d]++
		}
	}

	// Links of the same tier and capacity that carry the same transfers
	// with the same weights (a leaf's uplinks under spray routing, a GPU's
	// PCIe and NIC links when it has a NIC of its own) are interchangeable:
	// refinement would never split them. They are refined as one group.
	grp := make([]int32, len(links))
	var heads []int32 // per group: its first link (dense index)
	{
		byHash := map[uint64]int32{}
		var prev []int32 // per group: the previous group with the same hash, or -1
		for d, l := range links {
			h := fnv64(uint64(f.topo.Links[l].Tier), math.Float64bits(f.caps[l]))
			for _, c := range lCross[lStart[d]:lStart[d+1]] {
				h = fnv64(h^uint64(c.at), math.Float64bits(c.w))
			}
			q, ok := byHash[h]
			for ok && q >= 0 && !sameLink(f, links, lStart, lCross, int(heads[q]), d) {
				q = prev[q]
			}
			if !ok || q < 0 {
				q = int32(len(heads))
				heads = append(heads, int32(d))
				p, had := byHash[h]
				if !had {
					p = -1
				}
				prev = append(prev, p)
				byHash[h] = q
			}
			grp[d] = q
		}
	}
	// Each transfer's crossings of groups, each group once.
	gStart := make([]int32, 1, nf+1)
	mark := make([]int32, len(heads))
	ng := 0
	for g := 0; g < nf; g++ {
		for _, c := range fCross[fStart[g]:fStart[g+1]] {
			if q := grp[dense[c.at]]; mark[q] != int32(g)+1 {
				mark[q] = int32(g) + 1
				ng++
			}
		}
	}
	clear(mark)
	gCross := make([]linkUse, 0, ng)
	for g := 0; g < nf; g++ {
		for _, c := range fCross[fStart[g]:fStart[g+1]] {
			if q := grp[dense[c.at]]; mark[q] != int32(g)+1 {
				mark[q] = int32(g) + 1
				gCross = append(gCross, linkUse{q, 0})
			}
		}
		gStart = append(gStart, int32(len(gCross)))
	}

	// Initial colours: links by tier and capacity, transfers by spec and
	// bytes.
	var ids interner
	var key []byte
	colour := func() int32 { return ids.id(key) }
	lc := make([]int32, len(heads))
	for q, d := range heads {
		l := links[d]
		key = binary.LittleEndian.AppendUint64(append(key[:0], byte(f.topo.Links[l].Tier)), math.Float64bits(f.caps[l]))
		lc[q] = colour()
	}
	nLinkColours := ids.len()
	fc := make([]int32, nf)
	ids.reset()
	for g := range fc {
		key = binary.LittleEndian.AppendUint32(key[:0], uint32(fSpec[g]))
		key = binary.LittleEndian.AppendUint64(key, math.Float64bits(fBytes[g]))
		fc[g] = colour()
	}
	nFlowColours := ids.len()

	// Refine until neither partition splits further. acc sums, per colour,
	// the weights of one link's (or transfer's) crossings; touched lists
	// the colours it holds.
	//
	// After the first round, only items next to a class that just split
	// are given a full signature; the others keep a short one, (their
	// colour, unchanged). The partition is the same as with full
	// signatures everywhere: the neighbours of an unchanged item are in
	// classes that did not split, so its full signature would be its old
	// one with colours renamed, shared by every unchanged item of its
	// colour; and an item next to a split class differs from all of those.
	acc := make([]float64, max(nf, len(heads)))
	var touched []int32
	nlc, nfc := make([]int32, len(lc)), make([]int32, nf)
	var fSplit, lSplit []bool // per current colour: its class just split off
	var sp splitter
	for round := 0; ; round++ {
		// A link's signature: its colour and the summed weight each
		// transfer colour puts on it.
		ids.reset()
		for q, d := range heads {
			key, touched = signature(key[:0], lc[q], lCross[lStart[d]:lStart[d+1]], fc, fSplit, round == 0, true, acc, touched)
			nlc[q] = colour()
		}
		links2 := ids.len()
		lSplit = sp.split(lc, nlc, nLinkColours, links2, lSplit)
		// A transfer's signature: its colour and the link colours it
		// touches.
		ids.reset()
		for g := range fc {
			key, touched = signature(key[:0], fc[g], gCross[gStart[g]:gStart[g+1]], nlc, lSplit, round == 0, false, acc, touched)
			nfc[g] = colour()
		}
		flows2 := ids.len()
		fSplit = sp.split(fc, nfc, nFlowColours, flows2, fSplit)
		lc, nlc = nlc, lc
		fc, nfc = nfc, fc
		if links2 == nLinkColours && flows2 == nFlowColours {
			break
		}
		nLinkColours, nFlowColours = links2, flows2
	}

	// Link classes are numbered by their first link (colours are handed
	// out in order of first appearance, which is increasing LinkID).
	r := &reduction{linkClass: make([]int32, nl), tier: make([]topology.Tier, nLinkColours), members: make([]int32, nLinkColours)}
	for l := range r.linkClass {
		r.linkClass[l] = -1
	}
	first := make([]int32, nLinkColours) // dense index of each class's first link
	for i := range first {
		first[i] = -1
	}
	for i, l := range links {
		c := lc[grp[i]]
		r.linkClass[l] = c
		r.members[c]++
		if first[c] < 0 {
			first[c] = int32(i)
			r.tier[c] = f.topo.Links[l].Tier
		}
	}
	// Transfer classes, per spec in order of first transfer; their weight
	// on a link class is what the class puts on its first link.
	repOf := make([]int32, nFlowColours)
	for i := range repOf {
		repOf[i] = -1
	}
	type rep struct {
		spec int32
		repFlow
	}
	var reps []rep
	for g := 0; g < nf; g++ {
		c := fc[g]
		if repOf[c] < 0 {
			repOf[c] = int32(len(reps))
			reps = append(reps, rep{spec: fSpec[g], repFlow: repFlow{bytes: fBytes[g]}})
		}
		reps[repOf[c]].copies++
	}
	// Size each representative's path first, then carve them from one
	// buffer.
	last := make([]int32, len(reps))
	size := make([]int32, len(reps))
	for i := range last {
		last[i] = -1
	}
	total := 0
	for c, d := range first {
		for _, x := range lCross[lStart[d]:lStart[d+1]] {
			if p := repOf[fc[x.at]]; last[p] != int32(c) {
				last[p] = int32(c)
				size[p]++
				total++
			}
		}
	}
	pathBuf, weightBuf := make([]flow.LinkID, total), make([]float64, total)
	for i := range reps {
		n := size[i]
		reps[i].path, reps[i].weight = pathBuf[:0:n], weightBuf[:0:n]
		pathBuf, weightBuf = pathBuf[n:], weightBuf[n:]
	}
	for c, d := range first {
		for _, x := range lCross[lStart[d]:lStart[d+1]] {
			p := &reps[repOf[fc[x.at]]]
			if k := len(p.path) - 1; k >= 0 && p.path[k] == flow.LinkID(c) {
				p.weight[k] += x.w
				continue
			}
			p.path = append(p.path, flow.LinkID(c))
			p.weight = append(p.weight, x.w)
		}
	}
	r.reps = make([][]repFlow, len(f.flowSpecs))
	for _, p := range reps {
		r.reps[p.spec] = append(r.reps[p.spec], p.repFlow)
		r.flows++
		r.transfers += p.copies
	}
	return r, ""
}

// appendSums appends each colour of touched, in increasing order, with its
// sum in acc to key, and clears those sums.
// signature appends to key the signature of an item of colour own whose
// neighbours are cross (their colours in of): the colour alone, unless this
// is the first round or a neighbour's class just split (split, by colour),
// then a 1 and, per neighbour colour in increasing order, the summed weight
// of its crossings (weighted) or 1 (not: only whether it is touched). acc
// must be all zero and is left so; touched is scratch, returned for reuse.
func signature(key []byte, own int32, cross []linkUse, of []int32, split []bool, first, weighted bool, acc []float64, touched []int32) ([]byte, []int32) {
	full := first
	for _, c := range cross {
		if full {
			break
		}
		full = split[of[c.at]]
	}
	key = binary.LittleEndian.AppendUint32(key, uint32(own))
	if !full {
		return key, touched
	}
	key = append(key, 1)
	touched = touched[:0]
	for _, c := range cross {
		k := of[c.at]
		if acc[k] == 0 {
			touched = append(touched, k)
		}
		if weighted {
			acc[k] += c.w
		} else {
			acc[k] = 1
		}
	}
	return appendSums(key, touched, acc)
}

func appendSums(key []byte, touched []int32, acc []float64) ([]byte, []int32) {
	slices.Sort(touched)
	for _, c := range touched {
		key = binary.LittleEndian.AppendUint32(key, uint32(c))
		key = binary.LittleEndian.AppendUint64(key, math.Float64bits(acc[c]))
		acc[c] = 0
	}
	return key, touched
}

// fnv64 mixes x into the FNV-1a hash h, a byte at a time.
func fnv64(h, x uint64) uint64 {
	if h == 0 {
		h = 14695981039346656037
	}
	for i := 0; i < 8; i++ {
		h ^= x & 0xff
		h *= 1099511628211
		x >>= 8
	}
	return h
}

// sameLink says whether dense links a and b have the same tier, capacity
// and crossings.
func sameLink(f *flowNet, links, lStart []int32, lCross []linkUse, a, b int) bool {
	la, lb := links[a], links[b]
	if f.topo.Links[la].Tier != f.topo.Links[lb].Tier || f.caps[la] != f.caps[lb] {
		return false
	}
	return slices.Equal(lCross[lStart[a]:lStart[a+1]], lCross[lStart[b]:lStart[b+1]])
}

// interner numbers byte strings in order of first appearance. It keys a map
// by a 64-bit hash and keeps the strings to tell collisions apart, which is
// faster than a map of strings for millions of short keys. The hash seed is
// random, but the numbers are not: they follow the order of first appearance.
type interner struct {
	seed   maphash.Seed
	byHash map[uint64]int32
	next   []int32 // per id: the previous id with the same hash, or -1
	start  []int32 // per id: where its key starts in buf
	buf    []byte
}

func (n *interner) len() int { return len(n.start) }

func (n *interner) reset() {
	if n.byHash == nil {
		n.byHash, n.seed = map[uint64]int32{}, maphash.MakeSeed()
	}
	clear(n.byHash)
	n.next, n.start, n.buf = n.next[:0], n.start[:0], n.buf[:0]
}

// id returns key's number, giving it the next one if it is new.
func (n *interner) id(key []byte) int32 {
	if n.byHash == nil {
		n.byHash, n.seed = map[uint64]int32{}, maphash.MakeSeed()
	}
	h := maphash.Bytes(n.seed, key)
	first, ok := n.byHash[h]
	if ok {
		for id := first; id >= 0; id = n.next[id] {
			end := int32(len(n.buf))
			if int(id)+1 < len(n.start) {
				end = n.start[id+1]
			}
			if string(n.buf[n.start[id]:end]) == string(key) {
				return id
			}
		}
	} else {
		first = -1
	}
	id := int32(len(n.start))
	n.start = append(n.start, int32(len(n.buf)))
	n.buf = append(n.buf, key...)
	n.next = append(n.next, first)
	n.byHash[h] = id
	return id
}

// splitter finds the classes of a refinement step that split off.
type splitter struct {
	firstNew []int32
	splits   []bool
}

// split returns, per new colour (of nNew), whether the old class it came
// from (old and new colour each item, nOld old colours) now has more than
// one new colour. out is reused.
func (s *splitter) split(old, new []int32, nOld, nNew int, out []bool) []bool {
	s.firstNew = slices.Grow(s.firstNew[:0], nOld)[:nOld]
	s.splits = slices.Grow(s.splits[:0], nOld)[:nOld]
	for i := range s.firstNew {
		s.firstNew[i], s.splits[i] = -1, false
	}
	for i, o := range old {
		switch n := new[i]; {
		case s.firstNew[o] < 0:
			s.firstNew[o] = n
		case s.firstNew[o] != n:
			s.splits[o] = true
		}
	}
	out = slices.Grow(out[:0], nNew)[:nNew]
	for i, o := range old {
		out[new[i]] = s.splits[o]
	}
	return out
}
