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

// TestInputFileNamedOnce: a file that cannot be read (too large, missing, a
// directory) is named once in the message, by scenario and sweep alike.
func TestInputFileNamedOnce(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.toml")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", 1<<20)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.toml")
	out := filepath.Join(dir, "out")
	for _, c := range []struct {
		args []string
		file string
		want string
	}{
		{[]string{"run", big}, big, "larger than 1 MiB"},
		{[]string{"search", big}, big, "larger than 1 MiB"},
		{[]string{"collective", big}, big, "larger than 1 MiB"},
		{[]string{"sweep", big, "--out", out}, big, "larger than 1 MiB"},
		{[]string{"run", missing}, missing, "no such file"},
		{[]string{"sweep", missing, "--out", out}, missing, "no such file"},
		{[]string{"run", dir}, dir, "is a directory"},
	} {
		code, _, errs := runCLI(t, c.args...)
		if code != 2 || !strings.Contains(errs, c.want) || strings.Count(errs, c.file) != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2, %q and the file named once", c.args, code, errs, c.want)
		}
	}
}
