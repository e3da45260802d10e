//go:build !unix

package main

import "fmt"

// lockFile on systems without flock(2) (Windows, Plan 9) takes no lock: it
// returns errNoLocking, and the caller goes on without one.
func lockFile(path, holder string) (release func() error, err error) {
	return nil, fmt.Errorf("%w: %s: not supported on this system", errNoLocking, path)
}
