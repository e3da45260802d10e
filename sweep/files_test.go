package sweep

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"trainsim/scenarios"
)

// fakeFS stands in for the file system: the base scenario at base/b.toml
// (the embedded default, naming base/cal-base.toml when withCal), and the
// files in files; a read of anything else fails, and every read is logged.
type fakeFS struct {
	files   map[string]string
	withCal bool
	reads   []string
}

func (f *fakeFS) read(path string) ([]byte, error) {
	path = filepath.ToSlash(path)
	f.reads = append(f.reads, path)
	if path == "base/b.toml" {
		_, src := scenarios.Default()
		if f.withCal {
			src = append(append([]byte(nil), src...), "\n[calibration]\nfile = \"cal-base.toml\"\n"...)
		}
		return src, nil
	}
	if s, ok := f.files[path]; ok {
		return []byte(s), nil
	}
	return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
}

const cal = "[calibration]\ngemm_peak_fraction = 0.5\n"

// TestSweepFiles: calibration.file and cluster.network.file set in a sweep
// file are read relative to the sweep file, those of the base relative to
// the base; each is read once, before any point runs; an unreadable one is a
// problem of the sweep placed at its line (or at --set); their contents go
// into the fingerprint.
func TestSweepFiles(t *testing.T) {
	parse := func(f *fakeFS, src string, sets ...string) (*Sweep, error) {
		return Parse(Input{File: "sweeps/s.toml", Src: []byte(src), ReadBase: f.read, ReadFile: f.read, Sets: sets})
	}
	inline := "base = \"../base/b.toml\"\n[calibration]\nfile = \"cal.toml\"\n[grid]\n\"parallelism.tp\" = [4, 8]\n"
	f := &fakeFS{files: map[string]string{"sweeps/cal.toml": cal}}
	s, err := parse(f, inline)
	if err != nil {
		t.Fatalf("inline calibration.file beside the sweep: %v", err)
	}
	if got := s.Path("calibration.file", "cal.toml", s.Base); filepath.ToSlash(got) != "sweeps/cal.toml" {
		t.Errorf("Path = %s, want sweeps/cal.toml", got)
	}
	if strings.Join(f.reads, " ") != "base/b.toml sweeps/cal.toml" {
		t.Errorf("reads %v, want the base and sweeps/cal.toml once", f.reads)
	}
	before := s.Fingerprint()
	f2 := &fakeFS{files: map[string]string{"sweeps/cal.toml": "[calibration]\ngemm_peak_fraction = 0.6\n"}}
	s2, err := parse(f2, inline)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Fingerprint() == before {
		t.Error("the fingerprint ignores the calibration file's contents")
	}

	// The base's own calibration.file is relative to the base.
	fb := &fakeFS{withCal: true, files: map[string]string{"base/cal-base.toml": cal}}
	sb, err := parse(fb, "base = \"../base/b.toml\"\n[grid]\n\"parallelism.tp\" = [8]\n")
	if err != nil {
		t.Fatalf("base's calibration.file beside the base: %v", err)
	}
	if got := sb.Path("calibration.file", "cal-base.toml", sb.Base); filepath.ToSlash(got) != "base/cal-base.toml" {
		t.Errorf("Path = %s, want base/cal-base.toml", got)
	}

	// Unreadable: a problem of the sweep at the key's line, the grid value
	// named, or at --set.
	for _, c := range []struct {
		src  string
		sets []string
		want string
	}{
		{strings.Replace(inline, "cal.toml", "missing.toml", 1), nil, "sweeps/s.toml:3: calibration.file: open sweeps/missing.toml"},
		{"base = \"../base/b.toml\"\n[grid]\n\"calibration.file\" = [\"cal.toml\", \"nope.toml\"]\n", nil, "sweeps/s.toml:3: calibration.file: value 2 (\"nope.toml\"): open sweeps/nope.toml"},
		{"base = \"../base/b.toml\"\n[grid]\n\"parallelism.tp\" = [8]\n", []string{"calibration.file=nope.toml"}, "--set: calibration.file: open base/nope.toml"},
	} {
		f := &fakeFS{files: map[string]string{"sweeps/cal.toml": cal}}
		_, err := parse(f, c.src, c.sets...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q %v: %v, want %q", c.src, c.sets, err, c.want)
		}
	}
}

// TestSetUnknownTablePlaced: --set foo.bar=1 is a problem of --set, not of
// the sweep or its base.
func TestSetUnknownTablePlaced(t *testing.T) {
	f := &fakeFS{}
	_, err := Parse(Input{File: "sweeps/s.toml", Src: []byte("base = \"../base/b.toml\"\n[grid]\n\"parallelism.tp\" = [8]\n"), ReadBase: f.read, Sets: []string{"foo.bar=1"}})
	if err == nil || !strings.HasPrefix(err.Error(), "--set: foo: unknown key") {
		t.Fatalf("got %v, want it placed at --set", err)
	}
}
