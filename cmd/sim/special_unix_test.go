//go:build unix

package main

import (
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
