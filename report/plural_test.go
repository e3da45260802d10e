package report

import (
	"strings"
	"testing"
)

// TestCountsInWords: the layout line and the replay note put their nouns
// in the number of the count ("1 micro-batch per step", "one pipeline of
// 1 stage", one data-parallel replica), as they do for many.
func TestCountsInWords(t *testing.T) {
	for _, tc := range []struct {
		name           string
		pp, dp, batch  int
		want, wantNote string
	}{
		{"one of each", 1, 1, 1, "micro-batch 1, 1 micro-batch per step;", "one pipeline of 1 stage simulated, one rank per tensor-parallel group; one data-parallel replica"},
		{"many", 2, 2, 32, "micro-batch 1, 16 micro-batches per step;", "one pipeline of 2 stages simulated, one rank per tensor-parallel group; the 2 data-parallel replicas run the same program"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := testJob(t)
			j.Layout.PP, j.Layout.DP, j.Training.GlobalBatch = tc.pp, tc.dp, tc.batch
			j.Cluster.Nodes = tc.pp * tc.dp * j.Layout.TP / j.Cluster.System.GPUsPerNode
			_, text, _ := knobReport(t, j)
			if !strings.Contains(text, tc.want) || !strings.Contains(text, tc.wantNote) {
				t.Errorf("text lacks %q or %q:\n%s", tc.want, tc.wantNote, text)
			}
		})
	}
}
