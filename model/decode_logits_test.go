package model

import (
	"testing"

	"trainsim/units"
)

// TestDecodeLogitsGather checks the output layer of a decode iteration by
// hand: at TP 2, Llama 3 8B's batch of 16 computes its 128256/2 logits, all-
// gathers the 16 × 128256 × 2 B = 4,104,192 B of them over the group, and
// samples over the whole vocabulary (16 × 128256 × (2 + 16) B =
// 36,937,728 B); at TP 1 there is nothing to gather.
func TestDecodeLogitsGather(t *testing.T) {
	c := mustPreset(t, "llama3-8b")
	for _, tc := range []struct {
		tp     int
		gather units.Bytes
	}{{2, 16 * 128256 * 2}, {1, 0}} {
		progs := c.DecodePrograms(DecodeShard{TP: tc.tp, Batch: 16, Context: 1024, Precision: units.BF16})
		var gather, sampling units.Bytes
		for _, st := range progs[LogitsLayer].Forward {
			if st.Kind == Collective {
				if st.Comm != AllGather {
					t.Errorf("TP %d: logits collective %v, want an all-gather", tc.tp, st.Comm)
				}
				gather += st.Bytes
			}
			for _, op := range st.Ops {
				if op.Name == "sampling" {
					sampling += op.Bytes
				}
			}
		}
		if gather != tc.gather {
			t.Errorf("TP %d: logits all-gather of %.0f B, want %.0f B", tc.tp, float64(gather), float64(tc.gather))
		}
		if want := units.Bytes(16 * 128256 * 18); sampling != want {
			t.Errorf("TP %d: sampling reads and writes %.0f B, want %.0f B", tc.tp, float64(sampling), float64(want))
		}
	}
}
