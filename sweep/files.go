package sweep

import (
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	"trainsim/scenario"
)

// FileKeys are the scenario keys that name files, read relative to the file
// that sets them.
var FileKeys = []string{"calibration.file", "cluster.network.file"}

// namedFile is a file the points of a sweep name, and its contents' hash.
type namedFile struct {
	key, path string
	sum       [sha256.Size]byte
}

// Path resolves value, the file a point's scenario names under key (one of
// FileKeys), the way the file that set it means it: relative to the sweep
// file when the sweep file sets the key (in [grid], or inline and not
// overridden by --set), else relative to the scenario file, scenarioFile
// (the base, as sim run resolves it; the sweep file itself without a base).
// An absolute path is kept.
func (s *Sweep) Path(key, value, scenarioFile string) string {
	if value == "" || filepath.IsAbs(value) {
		return value
	}
	_, inline := s.inlineLines[key]
	if s.axisIndex(key) >= 0 || inline && !s.flagKeys[key] {
		return filepath.Join(filepath.Dir(s.File), value)
	}
	if s.builtinBase && scenarioFile == s.Base {
		return value // the built-in default's files: from the working directory, as sim run reads them
	}
	return filepath.Join(filepath.Dir(scenarioFile), value)
}

// fileValue is the file a scenario names under key.
func fileValue(sc *scenario.Scenario, key string) string {
	switch key {
	case "calibration.file":
		return sc.Job.Calibration.File
	case "cluster.network.file":
		return sc.Job.Cluster.Network.File
	}
	return ""
}

// files reads every file the points name — those of the first point, and
// those of each value of a grid axis that names one — once each: one that
// cannot be read is a problem of the sweep, placed where its key is set,
// and the contents of the others go into the fingerprint.
func (p *parser) files() {
	read := p.in.ReadFile
	if read == nil {
		read = p.in.ReadBase
	}
	if read == nil {
		return
	}
	s := p.s
	seen := map[string]bool{}
	at := make([]int, len(s.Axes))
	var base map[string]any
	if s.baseSrc != nil {
		_, _ = toml.Decode(string(s.baseSrc), &base) // Parse has checked it
	}
	visit := func() {
		sets := s.sets(at)
		sc, _ := s.parsedBase().Load(sets)
		for _, key := range FileKeys {
			// The value, whether or not the point loads (a point whose dp
			// cannot be derived still names the file the others read): the
			// last override that sets it, else the base's.
			v, bySet := "", false
			for i := len(sets) - 1; i >= 0 && !bySet; i-- {
				k, text, _ := strings.Cut(sets[i], "=")
				if strings.TrimSpace(k) != key {
					continue
				}
				var d map[string]any
				if _, err := toml.Decode("v = "+strings.TrimSpace(text), &d); err == nil {
					v, _ = d["v"].(string)
				} else {
					v = strings.TrimSpace(text)
				}
				bySet = true
			}
			if !bySet {
				x, _ := lookup(base, strings.Split(key, "."))
				v, _ = x.(string)
			}
			if v == "" {
				continue
			}
			path := s.Path(key, v, s.scenarioName())
			if seen[path] {
				continue
			}
			seen[path] = true
			src, err := read(path)
			if err != nil {
				e := &scenario.Error{File: scenario.SetFile, Key: key, Msg: err.Error()}
				if !bySet {
					e.File = s.scenarioName()
					if sc != nil {
						e.File, e.Line = sc.Position(key)
					}
				}
				e = s.place(e)
				if ax := s.axisIndex(key); ax >= 0 {
					e.Msg = fmt.Sprintf("value %d (%q): %s", at[ax]+1, v, e.Msg)
				}
				p.addIn(e.File, e.Line, e.Key, e.Msg)
				continue
			}
			s.files = append(s.files, namedFile{key: key, path: path, sum: sha256.Sum256(src)})
		}
	}
	visit()
	for a, ax := range s.Axes {
		if !isFileKey(ax.Key) {
			continue
		}
		for i := 1; i < len(ax.Values); i++ {
			at[a] = i
			visit()
		}
		at[a] = 0
	}
}

func isFileKey(key string) bool {
	for _, k := range FileKeys {
		if k == key {
			return true
		}
	}
	return false
}
