// Command sim is trainsim's command line: it simulates distributed LLM
// training scenarios and reports step time, time-to-train, utilisation,
// memory and the bottleneck. See README.md and `sim help` for the verbs and
// flags.
package main

import (
	"os"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}
