package scenario

import (
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"

	"trainsim/inputfile"
	"trainsim/parallelism"
)

// calibrationTable is the one table a calibration file may hold.
const calibrationTable = "calibration"

// LoadCalibration decodes src, the TOML text of the calibration file called
// filename: a [calibration] table with the keys a scenario's [calibration]
// table takes (docs/scenario.md), and nothing else. It is how a site keeps
// its measured kernel rates and bus bandwidths in one file that many
// scenarios name with calibration.file. The values are checked for their
// kind here; their ranges depend on the cluster, so Job.Validate checks them
// once they are merged into a job (Scenario.MergeCalibration). On any problem it
// returns an ErrorList naming this file, the line and the key.
func LoadCalibration(filename string, src []byte) (parallelism.Calibration, error) {
	d, err := decodeCalibration(filename, src)
	if err != nil {
		return parallelism.Calibration{}, err
	}
	return d.calibration(), nil
}

// MergeCalibration merges the calibration file called filename, whose TOML
// text is src (what calibration.file names), under the scenario's own
// [calibration] keys: each value the scenario leaves unset is taken from the
// file (parallelism.Calibration.Over). A problem with the file is returned
// as LoadCalibration returns it. The values the file gives are placed at
// its lines, so that Validate reports one that does not fit the cluster
// there.
func (s *Scenario) MergeCalibration(filename string, src []byte) error {
	d, err := decodeCalibration(filename, src)
	if err != nil {
		return err
	}
	for key := range d.setInFile {
		if !s.origins.setInFile[key] && !s.origins.setBySet[key] {
			s.origins.merged[key] = position{file: filename, line: d.lines[key]}
		}
	}
	s.Job.Calibration = s.Job.Calibration.Over(d.calibration())
	return nil
}

// decodeCalibration decodes a calibration file, returning the decoder that
// holds its values and their lines.
func decodeCalibration(filename string, src []byte) (*decoder, error) {
	d := newDecoder(filename)
	var doc map[string]any
	if err := inputfile.CheckDepth(src); err != nil {
		d.depthError(err)
		return nil, d.errs.err(filename)
	}
	if _, err := toml.Decode(string(src), &doc); err != nil {
		d.syntaxError(err)
		return nil, d.errs.err(filename)
	}
	d.lines = keyLines(src)
	for _, name := range sortedKeys(doc) {
		key := toml.Key{name}.String()
		if name != calibrationTable {
			d.add(key, "a calibration file holds only a [calibration] table")
			continue
		}
		if _, ok := doc[name].(map[string]any); !ok {
			d.add(key, fmt.Sprintf("want a table ([calibration]), got %s", describe(doc[name])))
			continue
		}
		d.walk(nil, map[string]any{name: doc[name]}, false)
	}
	if len(doc) == 0 {
		d.addAt(filename, 0, "", "no [calibration] table")
	}
	if d.given("calibration.file") {
		d.add("calibration.file", "a calibration file cannot name another one")
	}
	if len(d.errs) > 0 {
		return nil, d.errs.err(filename)
	}
	return d, nil
}

// calibration is the job's form of the [calibration] keys the decoder read.
func (d *decoder) calibration() parallelism.Calibration {
	for _, k := range d.keys {
		if k.value != nil && strings.HasPrefix(k.name, calibrationTable+".") {
			k.value.apply()
		}
	}
	return d.set.job.Calibration
}
