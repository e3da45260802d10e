package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// errNoLocking: the file system or the system cannot lock files.
var errNoLocking = errors.New("cannot lock")

// lockedError: another process holds a lock that lockFile tried to take.
type lockedError struct {
	path   string // the lock file
	holder string // what the holder wrote into it, maybe empty
}

func (e *lockedError) Error() string {
	who := strings.TrimSpace(e.holder)
	if who == "" {
		who = "another process (it has not recorded itself yet)"
	}
	return fmt.Sprintf("locked by %s (lock file %s)", who, e.path)
}

// lockHolder describes this process for the lock file: its PID, host and
// start time, and the Slurm job or Kubernetes pod it runs in, if any.
func lockHolder() string {
	host, _ := os.Hostname()
	s := fmt.Sprintf("pid %d on %s since %s", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	switch {
	case os.Getenv("SLURM_ARRAY_JOB_ID") != "" && os.Getenv("SLURM_ARRAY_TASK_ID") != "":
		s += fmt.Sprintf(", Slurm job %s_%s", os.Getenv("SLURM_ARRAY_JOB_ID"), os.Getenv("SLURM_ARRAY_TASK_ID"))
		if id := os.Getenv("SLURM_JOB_ID"); id != "" {
			s += " (job ID " + id + ")"
		}
	case os.Getenv("SLURM_JOB_ID") != "":
		s += ", Slurm job " + os.Getenv("SLURM_JOB_ID")
	case os.Getenv("JOB_COMPLETION_INDEX") != "":
		s += ", Kubernetes completion index " + os.Getenv("JOB_COMPLETION_INDEX")
	}
	return s
}
