package validation

import (
	"embed"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"

	"trainsim/inputfile"
)

// data holds the published measurements, with their citations.
//
//go:embed data/*.toml
var data embed.FS

// Names of the embedded files.
const (
	publishedFile = "data/published.toml"
	// moeCPFile holds the runs with expert and context parallelism, in
	// published.toml's format.
	moeCPFile  = "data/moe-cp.toml"
	memoryFile = "data/memory.toml"
)

// rawCase is one [[case]] of published.toml as written. The sections are kept
// as generic tables: a field may be a number in one case and a string such as
// "unknown" or "yes (...)" in another.
type rawCase struct {
	ID         string `toml:"id"`
	Group      string `toml:"group"`
	Confidence string `toml:"confidence"`
	// ConfidenceNote says why a case's confidence is what it is.
	ConfidenceNote string         `toml:"confidence_note"`
	Source         string         `toml:"source"`
	Notes          string         `toml:"notes"`
	Model          map[string]any `toml:"model"`
	Hardware       map[string]any `toml:"hardware"`
	Parallelism    map[string]any `toml:"parallelism"`
	Measured       map[string]any `toml:"measured"`
	Derived        map[string]any `toml:"derived"`
}

// rawMemory is one [[case]] of memory.toml.
type rawMemory struct {
	Model                 string             `toml:"model"`
	ParamsAndOptimizerGiB float64            `toml:"params_and_optimizer_gib"`
	ActivationsGiB        map[string]float64 `toml:"activations_gib"`
	ActivationsPctOfNone  map[string]float64 `toml:"activations_pct_of_none"`
}

type rawMemoryFile struct {
	Case []rawMemory `toml:"case"`
}

// readEmbedded decodes one embedded file in published.toml's format.
func readEmbedded(name string) ([]rawCase, error) {
	src, err := data.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reading embedded %s: %w", name, err)
	}
	return parsePublished(name, src)
}

// parsePublished decodes a file in published.toml's format, naming the file
// and, for a key no case section has, the case and the key.
func parsePublished(name string, src []byte) ([]rawCase, error) {
	return decodeCases[rawCase](name, src, "id, group, confidence, confidence_note, source, notes and the tables model, hardware, parallelism, measured, derived")
}

// decodeCases decodes the [[case]] list of a validation file (published.toml
// and rl.toml share the layout), naming the file and line of a TOML error
// and refusing a case key outside holds (what a [[case]] holds, for the
// message). Keys inside the generic tables are free-form; only a case's own
// keys and top-level keys can be unknown.
func decodeCases[T any](name string, src []byte, holds string) ([]T, error) {
	var f struct {
		Case []T `toml:"case"`
	}
	var de *inputfile.DepthError
	if err := inputfile.CheckDepth(src); errors.As(err, &de) {
		return nil, fmt.Errorf("%s:%d: %w", name, de.Line, err)
	}
	md, err := toml.Decode(string(src), &f)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			// An integer past TOML's 64 bits names its key.
			if num, ok := strings.CutSuffix(pe.Message, " is out of range for int64"); ok && pe.LastKey != "" {
				return nil, fmt.Errorf("%s:%d: %s: %s is past TOML's 64-bit integers (−9223372036854775808 to 9223372036854775807)", name, pe.Position.Line, pe.LastKey, num)
			}
			return nil, fmt.Errorf("%s:%d: invalid TOML: %s", name, pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for _, k := range md.Undecoded() {
		if len(k) <= 2 {
			return nil, fmt.Errorf("%s: unknown key %q (a [[case]] holds %s)", name, k.String(), holds)
		}
	}
	if len(f.Case) == 0 {
		return nil, fmt.Errorf("%s: no [[case]]", name)
	}
	return f.Case, nil
}

// readMemory decodes the embedded memory.toml.
func readMemory() ([]rawMemory, error) {
	src, err := data.ReadFile(memoryFile)
	if err != nil {
		return nil, fmt.Errorf("reading embedded %s: %w", memoryFile, err)
	}
	var f rawMemoryFile
	md, err := toml.Decode(string(src), &f)
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w", memoryFile, err)
	}
	if un := md.Undecoded(); len(un) > 0 {
		return nil, fmt.Errorf("decoding %s: unknown key %s", memoryFile, un[0])
	}
	return f.Case, nil
}

// number returns v as a float when it is a TOML number.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, false
		}
		return x, true
	}
	return 0, false
}

// integer returns v as an int when it is a TOML integer (or a float with no
// fraction).
func integer(v any) (int, bool) {
	switch x := v.(type) {
	case int64:
		if x < math.MinInt32 || x > math.MaxInt32 {
			return 0, false
		}
		return int(x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) <= math.MaxInt32 {
			return int(x), true
		}
	}
	return 0, false
}

// text returns v lower-cased and trimmed when it is a string, else "".
func text(v any) string {
	s, _ := v.(string)
	return strings.ToLower(strings.TrimSpace(s))
}

// maxShown is how many characters of a source's text an assumption quotes.
const maxShown = 32

// show renders a raw value for an assumption note: strings quoted, numbers
// as written.
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "missing"
	case string:
		// Long notes ("yes (interleaved schedule + scatter/gather used
		// for Table 1; …)") are cut: the data file has the whole text.
		if r := []rune(x); len(r) > maxShown {
			x = strings.TrimSpace(string(r[:maxShown])) + "…"
		}
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprint(v)
}

// leadingCount matches "yes, 3 interleaving stages" and captures the count.
var leadingCount = regexp.MustCompile(`^yes[\s,:;-]+(\d+)\b`)

// explicitNo matches an explicit "no" ("no (script predates …)"), not "not stated".
var explicitNo = regexp.MustCompile(`^no\b`)

// zeroStage matches "ZeRO-3 (DeepSpeed library)" and captures the stage.
var zeroStage = regexp.MustCompile(`zero[\s-]*(\d)`)

// alnum keeps only the letters and digits of s, lower-cased: "GPT-3 175B" and
// "gpt3-175b" both become "gpt3175b".
func alnum(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}
