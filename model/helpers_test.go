package model

import "testing"

// mustPreset returns the built-in preset name, failing the test when the
// table has none of that name.
func mustPreset(t testing.TB, name string) Config {
	t.Helper()
	c, ok := Preset(name)
	if !ok {
		t.Fatalf("no %s preset", name)
	}
	return c
}
