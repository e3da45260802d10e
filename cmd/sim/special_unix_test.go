//go:build unix

package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOutputToSpecialFile: -o naming a FIFO (as /dev/null or /dev/stdout
// would be) is written in place. The atomic temp-file-and-rename would
// replace the node with a regular file — with -o /dev/null, destroying the
// machine's /dev/null.
func TestOutputToSpecialFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		args func(fifo string) []string
		want string
	}{
		{"report", func(f string) []string { return []string{"run", "--format", "json", "-o", f} }, `"step_time_s"`},
		{"trace", func(f string) []string {
			return []string{"run", "--trace", f, "--trace-steps", "1", "--trace-stages", "0"}
		}, `"traceEvents"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fifo := filepath.Join(t.TempDir(), "pipe")
			if err := syscall.Mkfifo(fifo, 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			got := make(chan string, 1)
			go func() {
				f, err := os.Open(fifo) // blocks until the writer opens it
				if err != nil {
					got <- "open: " + err.Error()
					return
				}
				defer f.Close()
				b, _ := io.ReadAll(f)
				got <- string(b)
			}()
			if code, _, errs := runCLI(t, tc.args(fifo)...); code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			fi, err := os.Lstat(fifo)
			if err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
				// The reader may stay blocked on the old FIFO: do not wait for it.
				t.Fatalf("%s is no longer a FIFO after the write: %v", fifo, err)
			}
			select {
			case s := <-got:
				if !strings.Contains(s, tc.want) {
					t.Errorf("the FIFO's reader got %d bytes without %s", len(s), tc.want)
				}
			case <-time.After(time.Minute):
				t.Fatal("the FIFO's reader got nothing within a minute")
			}
		})
	}
}

// TestOutputThroughLinks: -o naming a symbolic link writes what the link
// leads to and leaves the link. A link into /proc, as /dev/stdout is
// (→ /proc/self/fd/1), names an open descriptor: with stdout redirected to
// a regular file, renaming a temporary file over /dev/stdout replaced the
// machine's link with a regular file holding the report, and the
// redirected file got nothing. Here the descriptor is a file of the test's
// own, opened for appending as `>>` opens it; the link's file gets the
// report after what it held.
func TestOutputThroughLinks(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	dir := t.TempDir()
	redirected := filepath.Join(dir, "redirected.json")
	fd, err := os.OpenFile(redirected, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	if _, err := fd.WriteString("before\n"); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "target.json")
	if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, link, dest, file, prefix string
	}{
		{"a descriptor, as /dev/stdout", "stdout", fmt.Sprintf("/proc/self/fd/%d", fd.Fd()), redirected, "before\n{"},
		{"a link to a regular file", "link.json", "target.json", target, "{"},
		{"a link to no file yet", "dangling.json", "new.json", filepath.Join(dir, "new.json"), "{"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			link := filepath.Join(dir, tc.link)
			if err := os.Symlink(tc.dest, link); err != nil {
				t.Fatal(err)
			}
			if code, _, errs := runCLI(t, "run", "--format", "json", "-o", link); code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Fatalf("%s is no longer a link after the write: %v", tc.link, err)
			}
			b, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(b), tc.prefix) || !strings.Contains(string(b), `"step_time_s"`) {
				t.Errorf("%s holds %.40q…, want the report after %q", filepath.Base(tc.file), b, strings.TrimSuffix(tc.prefix, "{"))
			}
		})
	}
}
