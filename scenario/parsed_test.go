package scenario

import (
	"reflect"
	"sync"
	"testing"

	"trainsim/scenarios"
)

// TestParsedLoadsLikeLoad: a file parsed once and loaded with different
// overrides, in turn and from several goroutines, gives each time what a
// fresh Load of the text gives, problems included; loading does not change
// the parsed file.
func TestParsedLoadsLikeLoad(t *testing.T) {
	name, src := scenarios.Default()
	p := Parse(name, src)
	setsList := [][]string{
		nil,
		{"parallelism.tp=4", "parallelism.pp=8", "cluster.nodes=32"},
		{"parallelism.schedule=interleaved", "parallelism.virtual_stages=3", "model.preset=gpt3-13b"},
		{"parallelism.tp=3"},            // a problem
		{"training.nosuchkey=1"},        // an unknown key
		{"model.hidden=1000", "seed=7"}, // overrides of the file's values
	}
	want := make([]*Scenario, len(setsList))
	wantErr := make([]string, len(setsList))
	for i, sets := range setsList {
		sc, err := Load(name, src, sets)
		want[i] = sc
		if err != nil {
			wantErr[i] = err.Error()
		}
	}
	var wg sync.WaitGroup
	for round := 0; round < 4; round++ {
		for i, sets := range setsList {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sc, err := p.Load(sets)
				got := ""
				if err != nil {
					got = err.Error()
				}
				if got != wantErr[i] || !reflect.DeepEqual(sc, want[i]) {
					t.Errorf("round %d, sets %v: parsed once gives %v (%v), Load gives %v (%v)", round, sets, sc, got, want[i], wantErr[i])
				}
			}()
		}
		wg.Wait()
	}
	bad := Parse("bad.toml", []byte("x = [\n"))
	if _, err := bad.Load([]string{"parallelism.tp=3"}); err == nil {
		t.Error("a file that does not parse loads")
	} else if _, err2 := Load("bad.toml", []byte("x = [\n"), []string{"parallelism.tp=3"}); err.Error() != err2.Error() {
		t.Errorf("parsed once: %v; Load: %v", err, err2)
	}
}
