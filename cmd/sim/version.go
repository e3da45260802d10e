package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version says which build this is: the module's version (as `go install
// trainsim/cmd/sim@vX` records it, "(devel)" for a build from a checkout),
// the VCS revision and commit time the go command stamps into a build from
// a Git checkout, "+dirty" when that checkout had uncommitted changes, and
// the Go version.
func version(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		return "unknown (no build information in the binary)"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	var parts []string
	if rev := settings["vcs.revision"]; rev != "" {
		r := rev
		if len(r) > 12 {
			r = r[:12]
		}
		if settings["vcs.modified"] == "true" {
			r += "+dirty"
		}
		if t := settings["vcs.time"]; t != "" {
			r += " of " + t
		}
		parts = append(parts, "revision "+r)
	}
	if info.GoVersion != "" {
		parts = append(parts, info.GoVersion)
	}
	if len(parts) == 0 {
		return v
	}
	return v + " (" + strings.Join(parts, ", ") + ")"
}

// buildVersion is version of the running binary.
func buildVersion() string { return version(debug.ReadBuildInfo()) }

// newVersionCmd is `sim version`, the same line as `sim --version`.
func newVersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the build's version, VCS revision and Go version (as sim --version)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(stdout, "sim %s\n", buildVersion())
			return err
		},
	}
}
