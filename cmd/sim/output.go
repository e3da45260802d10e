package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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
	target, inPlace := resolveOutput(path)
	if inPlace {
		return nil // /dev/null, /dev/stdout, a FIFO: written in place
	}
	dir := filepath.Dir(target)
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
	path, inPlace := resolveOutput(path)
	if inPlace {
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

// resolveOutput returns the file an output named path is written to, and
// whether it is written in place. A rename replaces what path names itself,
// so path is followed through its symbolic links first:
//   - a link into /proc (/dev/stdout → /proc/self/fd/1, /dev/fd/N) names an
//     open file descriptor: written in place, whatever it is — a pipe, a
//     terminal, or the regular file the shell redirected it to (renaming
//     over /dev/stdout replaced the machine's /dev/stdout link with a
//     regular file holding the report, and the shell's file got nothing);
//   - a file that is not a regular file or a directory — a device
//     (/dev/null), a FIFO, a socket — is written in place: renaming a
//     temporary file over it would replace the node with a regular file
//     (`-o /dev/null` must not destroy /dev/null);
//   - otherwise the file the links lead to (which may not exist yet) is
//     written through a temporary file and a rename, and the links stay.
func resolveOutput(path string) (target string, inPlace bool) {
	p := path
	for range 40 { // the kernel's own bound on links followed
		fi, err := os.Lstat(p)
		if err != nil {
			return p, false // not there yet: created
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return p, !fi.Mode().IsRegular() && !fi.IsDir()
		}
		dest, err := os.Readlink(p)
		if err != nil {
			return p, false
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(p), dest)
		}
		if dest == "/proc" || strings.HasPrefix(dest, "/proc/") {
			return path, true
		}
		p = dest
	}
	return path, special(path)
}

// special reports whether path exists and is not a regular file or a
// directory: a device (/dev/null, /dev/stdout), a FIFO or a socket.
func special(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.Mode().IsRegular() && !fi.IsDir()
}

// writeInPlace writes to an existing special file or open descriptor
// without truncating or replacing it, appending where the file has an end
// (stdout redirected with >> keeps what it held).
func writeInPlace(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
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
