package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"trainsim/scenarios"
)

// TestOutputsNeverClobber: an output that is an input (the scenario, by
// name or through a link, or validate's --cases) or another output is
// refused with exit 2 and the input left as it was; an -o whose directory
// does not exist is refused before simulating.
func TestOutputsNeverClobber(t *testing.T) {
	dir := t.TempDir()
	_, src := scenarios.Default()
	sc := filepath.Join(dir, "x.toml")
	if err := os.WriteFile(sc, src, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.toml")
	if err := os.Symlink(sc, link); err != nil {
		t.Fatal(err)
	}
	r := filepath.Join(dir, "r.json")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", sc, "-o", sc}, "is also the input scenario"},
		{[]string{"run", sc, "-o", filepath.Join(dir, ".", "sub", "..", "x.toml")}, "is also the input scenario"},
		{[]string{"run", sc, "-o", link}, "is also the input scenario"},
		{[]string{"run", "--trace", r, "-o", r}, "is also the output of -o"},
		{[]string{"run", "-o", filepath.Join(dir, "missing", "r.json")}, "directory of"},
		{[]string{"validate", "--cases", sc, "-o", sc}, "is also the input --cases"},
	} {
		code, _, errs := runCLI(t, c.args...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, errs, c.want)
		}
		if got, _ := os.ReadFile(sc); string(got) != string(src) {
			t.Fatalf("%v: the scenario was overwritten", c.args)
		}
	}
	if _, err := os.Stat(r); err == nil {
		t.Errorf("r.json written although refused")
	}
}

// TestWriteAtomic: a write that fails half-way (a full disk) leaves the old
// file whole and no temporary file behind; one that succeeds replaces it.
func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.json")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := writeAtomic(p, func(w io.Writer) error {
		if _, err := w.Write([]byte(`{"cut`)); err != nil {
			return err
		}
		return errors.New("no space left on device")
	})
	if err == nil {
		t.Fatal("want the write's error")
	}
	if got, _ := os.ReadFile(p); string(got) != "old" {
		t.Fatalf("after a failed write the file holds %q", got)
	}
	if err := writeAtomic(p, func(w io.Writer) error { _, err := w.Write([]byte("new")); return err }); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != "new" {
		t.Fatalf("file holds %q", got)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("left behind: %v", ents)
	}
}

// TestOutputFormatFromExtension: -o report.json without --format writes
// JSON, report.csv CSV; --format still wins.
func TestOutputFormatFromExtension(t *testing.T) {
	dir := t.TempDir()
	j, c, txt := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.csv"), filepath.Join(dir, "r.JSON")
	for _, args := range [][]string{{"run", "-o", j}, {"run", "-o", c}, {"run", "--format", "text", "-o", txt}} {
		if code, _, errs := runCLI(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
	}
	if b, _ := os.ReadFile(j); !strings.HasPrefix(string(b), "{") {
		t.Errorf("r.json is not JSON: %.80s", b)
	}
	if b, _ := os.ReadFile(c); !strings.Contains(strings.SplitN(string(b), "\n", 2)[0], ",") {
		t.Errorf("r.csv is not CSV: %.80s", b)
	}
	if b, _ := os.ReadFile(txt); strings.HasPrefix(string(b), "{") {
		t.Errorf("--format text was overridden by the extension")
	}
}
