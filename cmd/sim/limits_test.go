package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestInputLimits: a 40 KB file of nested inline tables, /dev/zero and a
// file over 1 MiB are refused at once with exit 2 and a message that says
// why, as scenario, calibration and sweep files alike.
func TestInputLimits(t *testing.T) {
	dir := t.TempDir()
	deep := filepath.Join(dir, "deep.toml")
	nest := "a = " + strings.Repeat("{b = ", 8000) + "1" + strings.Repeat("}", 8000) + "\n"
	if err := os.WriteFile(deep, []byte(nest), 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.toml")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", 1<<20)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	calib := filepath.Join(dir, "calib.toml")
	if err := os.WriteFile(calib, []byte("[calibration]\n"+nest), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", deep}, "deep.toml:1: arrays and inline tables nested more than 16 deep"},
		{[]string{"run", big}, "larger than 1 MiB"},
		{[]string{"run", "--set", "calibration.file=" + calib}, "nested more than 16 deep"},
		{[]string{"sweep", deep, "--out", filepath.Join(dir, "out")}, "nested more than 16 deep"},
		{[]string{"run", "--set", "model.layers=" + strings.Repeat("[", 40) + strings.Repeat("]", 40)}, "nested more than 16 deep"},
	}
	if runtime.GOOS != "windows" {
		cases = append(cases, struct {
			args []string
			want string
		}{[]string{"run", "/dev/zero"}, "larger than 1 MiB"})
	}
	for _, c := range cases {
		start := time.Now()
		code, _, errs := runCLI(t, c.args...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args[:2], code, errs, c.want)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%v took %v", c.args[:2], d)
		}
	}
}
