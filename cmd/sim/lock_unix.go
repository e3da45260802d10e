//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on path (created if missing) for this
// process, without waiting, and records who holds it (holder) in the file
// so that a second taker can name it. It is flock(2) on an open file: the
// kernel releases the lock when the file is closed, which includes the
// process exiting or being killed (SIGKILL, an out-of-memory kill, scancel,
// a deleted pod), so a stale lock file left by a dead process never blocks
// a rerun. The file itself stays (removing it would let a process that
// opened it before the removal and one that opens the new file both hold
// "the" lock); it is a few bytes and is ignored by merge and missing.
//
// When the lock is held by someone else, the error is a *lockedError
// holding what the holder recorded. A file system that does not support
// flock (some Lustre or old NFS mounts: ENOSYS, EOPNOTSUPP, ENOLCK) gives
// errNoLocking wrapped with the cause; the caller decides to go on without
// a lock. On Linux NFS clients flock is emulated with POSIX byte-range
// locks and works across machines.
func lockFile(path, holder string) (release func() error, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who, _ := os.ReadFile(path)
			return nil, &lockedError{path: path, holder: string(who)}
		}
		return nil, fmt.Errorf("%w: %s: %w", errNoLocking, path, err)
	}
	// Ours: replace the previous holder's note with ours.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(holder+"\n"), 0)
	}
	return f.Close, nil // closing the file releases the lock
}
