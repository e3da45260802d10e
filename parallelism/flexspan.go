package parallelism

import (
	"trainsim/collective"
	"trainsim/mesh"
)

// FlexSpan is where a flex dispatcher's expert all-to-all reaches at one
// pipeline stage: Nodes the nodes its expert-parallel group spans on the
// device mesh and Destinations the expected distinct nodes of those that
// one token's routed copies reach (model.Config.DestinationNodes).
type FlexSpan struct {
	Nodes        int
	Destinations float64
}

// flexSpan is the one computation of a FlexSpan from the placement of the
// expert-parallel group: the pricer prices the node-level all-to-all with it
// and the report shows it, so the two cannot disagree.
func (j Job) flexSpan(pl collective.Placement) FlexSpan {
	n := max(pl.Nodes(), 1)
	return FlexSpan{Nodes: n, Destinations: j.Model.DestinationNodes(n)}
}

// FlexSpan returns the flex dispatch's span as the pricer prices it: that of
// the representative expert-parallel group of each pipeline stage, placed by
// the device mesh; where stages differ (nodes that do not split evenly into
// groups), the widest stage's. It is the zero FlexSpan when the layout does
// not run the flex dispatcher or has no experts.
func (j Job) FlexSpan() (FlexSpan, error) {
	if !j.Layout.Flex() || !j.Model.MoE() {
		return FlexSpan{}, nil
	}
	m, err := j.mesh()
	if err != nil {
		return FlexSpan{}, err
	}
	var widest FlexSpan
	for s := range max(m.Size(mesh.PP), 1) {
		if sp := j.flexSpan(placement(m, groupEP, s, s)); sp.Nodes > widest.Nodes {
			widest = sp
		}
	}
	return widest, nil
}
