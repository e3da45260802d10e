package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// namedPath is a file the command reads or writes, with the flag or key that
// named it, for messages.
type namedPath struct {
	what, path string
}

// checkOutputs refuses, before anything is simulated, an output that is also
// an input or another output — cleaned absolute paths compared, and
// os.SameFile for files that exist (a link, another spelling) — and an
// output whose directory does not exist or cannot be written. Empty paths
// (stdout, no trace) are skipped.
func checkOutputs(inputs, outputs []namedPath) error {
	for i, o := range outputs {
		if o.path == "" {
			continue
		}
		for _, in := range inputs {
			if in.path != "" && samePath(o.path, in.path) {
				return badInput(fmt.Errorf("%s: %s is also the input %s; it would be overwritten (choose another file)", o.what, o.path, in.what))
			}
		}
		for _, other := range outputs[:i] {
			if other.path != "" && samePath(o.path, other.path) {
				return badInput(fmt.Errorf("%s: %s is also the output of %s; one would be lost (choose another file)", o.what, o.path, other.what))
			}
		}
		if err := checkWritable(o.path); err != nil {
			return badInput(fmt.Errorf("%s: %w", o.what, err))
		}
	}
	return nil
}

// samePath reports whether a and b name the same file: the same cleaned
// absolute path, or, when both exist, the same file by os.SameFile.
func samePath(a, b string) bool {
	aa, errA := filepath.Abs(a)
	bb, errB := filepath.Abs(b)
	if errA == nil && errB == nil && aa == bb {
		return true
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// checkWritable checks that path can be written as writeAtomic writes it:
// its directory exists and a file can be created in it, and path itself is
// not a directory.
func checkWritable(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	if special(path) {
		return nil // /dev/null, /dev/stdout, a FIFO: written in place
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("directory of %s: %w", path, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".check-*")
	if err != nil {
		return fmt.Errorf("cannot write in %s: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// writeAtomic writes a file through write into a temporary file beside
// path and renames it over path once complete, so that a failure (a full
// disk) leaves the old file, or none, never a cut-off one.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	if special(path) {
		return writeInPlace(path, write)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriter(f)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	return err
}

// special reports whether path exists and is not a regular file or a
// directory: a device (/dev/null, /dev/stdout), a FIFO or a socket. Such an
// output is written in place: renaming a temporary file over it would
// replace the device node with a regular file (`-o /dev/null` must not
// destroy /dev/null).
func special(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.Mode().IsRegular() && !fi.IsDir()
}

// writeInPlace writes to an existing special file without truncating or
// replacing it.
func writeInPlace(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
