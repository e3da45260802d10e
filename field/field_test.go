package field

import "testing"

func TestError(t *testing.T) {
	e := Errorf("parallelism.tp", "%d does not divide model.heads (%d)", 5, 96).Using("model.heads")
	if got, want := e.Error(), "parallelism.tp: 5 does not divide model.heads (96)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if len(e.Uses) != 1 || e.Uses[0] != "model.heads" {
		t.Errorf("Uses = %v", e.Uses)
	}
	// Using copies: adding to one problem leaves another built from it alone.
	a := e.Using("model.ffn_hidden")
	b := e.Using("model.kv_heads")
	if a.Uses[1] != "model.ffn_hidden" || b.Uses[1] != "model.kv_heads" || len(e.Uses) != 1 {
		t.Errorf("Using shares storage: %v %v %v", a.Uses, b.Uses, e.Uses)
	}
}

func TestQuote(t *testing.T) {
	type schedule string
	if got, want := Quote([]schedule{"gpipe", "1f1b"}), `"gpipe", "1f1b"`; got != want {
		t.Errorf("Quote = %s, want %s", got, want)
	}
	if got := Quote([]string(nil)); got != "" {
		t.Errorf("Quote(nil) = %q", got)
	}
}
