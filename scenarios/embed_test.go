package scenarios_test

import (
	"bytes"
	"io/fs"
	"path"
	"slices"
	"testing"

	"trainsim/scenario"
	"trainsim/scenarios"
)

func TestDefault(t *testing.T) {
	name, src := scenarios.Default()
	if name != "scenarios/gpt3-175b.toml" {
		t.Errorf("Default name = %q", name)
	}
	b, err := fs.ReadFile(scenarios.FS(), path.Base(name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, src) || len(src) == 0 {
		t.Errorf("Default bytes differ from the embedded file %s", path.Base(name))
	}
	src[0] = 'X' // the caller owns the bytes
	if _, again := scenarios.Default(); again[0] == 'X' {
		t.Errorf("Default shares its bytes with the caller")
	}
}

// TestAllLoad checks that every embedded scenario loads and is valid.
func TestAllLoad(t *testing.T) {
	names := scenarios.Names()
	if !slices.Contains(names, "gpt3-175b.toml") {
		t.Errorf("Names() = %v, want gpt3-175b.toml among them", names)
	}
	for _, n := range names {
		src, err := fs.ReadFile(scenarios.FS(), n)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := scenario.Load("scenarios/"+n, src, nil)
		if err == nil {
			_, err = sc.Validate()
		}
		if err != nil {
			t.Errorf("%s does not load:\n%v", n, err)
		}
	}
}
