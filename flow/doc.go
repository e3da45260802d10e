// Package flow is a flow-level network model: transfers are fluid flows over
// paths of links, and the flows in progress share each link max-min fairly.
// It backs the "flow" fidelity (docs/network.md), in which DP gradient traffic
// from all replicas, PP sends and oversubscribed uplinks contend for bandwidth.
//
// A Network holds links, each with a capacity in bytes per second, and the
// active flows. A flow has a size in bytes, a path (the links it crosses, all
// at the same rate) and an optional cap on its own rate (a protocol or
// endpoint ceiling). A flow may carry a weight on each link it crosses
// (AddWeighted): weight w makes it count as w flows of its rate there, so one
// flow can stand for w identical copies, or (1/S on each of S parallel links)
// for a transfer split evenly over them. Whenever a flow starts or ends, the
// rates are recomputed by progressive filling (water-filling): all rates
// rise together until a link is full or a flow reaches its cap; those flows
// are frozen at that rate and the others keep rising. The result is the max-min fair allocation: no
// flow can go faster without slowing one that is no faster than it. Each flow
// then drains at its rate until the next change.
//
// Only the flows connected (through shared links, transitively) to a flow
// that started or ended are recomputed; the rest keep their rates. Remaining
// bytes are updated lazily, finish times sit in an indexed heap, and buffers
// are reused, so a step costs about the size of the affected component times
// the log of the number of links, and steady state allocates nothing. A link
// whose flows are all frozen leaves the water-filling heap at once.
//
// The Network is a pure state machine in the style of sim: the caller drives
// it with Add, Next and Advance, and gets finished flows back as data. Time is
// an integer number of nanoseconds; finish times are rounded up to a whole
// nanosecond, and a flow within 1e-6 bytes or 1 ns of transfer of its end
// counts as finished. There are no goroutines, clock, randomness or map
// iteration: the same calls always give the same results, to the bit.
//
// What it leaves out: packets, congestion control dynamics (slow start,
// rate oscillations, the time TCP or DCQCN takes to converge to the fair
// share), queueing latency and buffer occupancy, packet loss and
// retransmission, per-hop latency (callers add a fixed latency per
// transfer), routing and adaptive load balancing (a flow's path is fixed when
// it starts), priorities between flows (weights stand for copies, not
// shares a scheduler grants), and the
// direction of a link beyond what the caller encodes by giving each direction
// its own LinkID. Rates change instantly at flow arrivals and departures,
// which is optimistic for short flows on a busy link.
package flow
