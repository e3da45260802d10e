package scenario

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"trainsim/field"
	"trainsim/inputfile"
	"trainsim/parallelism"
	"trainsim/rl"
)

// Scenario is a resolved scenario: what to simulate and under which name.
type Scenario struct {
	// Name is the scenario's name as reports show it; the file's base name
	// when the file gives none.
	Name string
	// Seed seeds every random choice of the simulation.
	Seed uint64
	// Job is resolved: presets applied, explicit keys and --set overrides
	// applied over them, defaults filled. It is not validated yet: the files
	// it names (calibration.file, cluster.network.file) may still bring
	// values, so Validate checks it once they are merged in.
	Job parallelism.Job
	// Whole is the [job] table: the whole run's failures, checkpoints and
	// restarts; nil when the scenario has none.
	Whole *Whole
	// RL is the [rl] table: the RL post-training step around the job; nil
	// when the scenario has none.
	RL *rl.Config
	// File is the name of the file the scenario came from.
	File string
	// Stack is the software stack the scenario named (software.stack), ""
	// without one; its keys are already in Job.
	Stack string
	// origins says where each key was set.
	origins origins
	// broken holds the keys whose value is not what the user meant (a
	// default that could not be derived); problems resting on them are not
	// reported.
	broken brokenSet
}

// Place says where key was set, as "FILE:LINE", "FILE" or "--set", the way
// Load's own errors place it, for errors found after Load: a file the key
// names that cannot be read, say.
func (s *Scenario) Place(key string) string {
	file, line := s.origins.place(key)
	if line > 0 {
		return fmt.Sprintf("%s:%d", file, line)
	}
	return file
}

// Position says where key was set, as Place does, in parts: the file (or
// SetFile) and the line, 0 when not known.
func (s *Scenario) Position(key string) (file string, line int) { return s.origins.place(key) }

// Validate checks the job — model, cluster, layout, training, options and
// calibration, with whatever the files it names brought — and returns it as
// a parallelism.Valid, the only form the replay takes. Call it once, after
// merging those files (MergeCalibration, Options.Graph). On a problem it
// returns an ErrorList with every problem, each placed where its key was
// set: a line of the scenario, --set, or the line of the calibration file
// that gave the value. A problem resting on a value no one chose (a dp that
// could not be derived from a GPU count of zero) is left out beside the
// problem that caused it.
func (s *Scenario) Validate() (parallelism.Valid, error) {
	v, errs := s.Job.Validate()
	if s.Whole != nil {
		errs = append(errs, s.Whole.check(s.Job, errs)...)
	}
	if s.RL != nil {
		errs = append(errs, s.RL.Check(s.Job)...)
	}
	if len(errs) == 0 {
		return v, nil
	}
	root, rest, keys := countRoot(s.Job.Cluster, errs)
	broken := s.broken
	if len(keys) > 0 {
		broken = brokenSet{}
		for k := range s.broken {
			broken[k] = true
		}
		for _, k := range keys {
			broken[k] = true
		}
	}
	errs = append(root, rest...)
	var list ErrorList
	for _, drop := range []bool{true, false} {
		for i, e := range errs {
			if drop && i >= len(root) && broken.covers(e) {
				continue
			}
			file, line := s.origins.place(e.Field)
			list = append(list, &Error{File: file, Line: line, Key: e.Field, Msg: e.Msg})
		}
		if len(list) > 0 {
			break // else every problem rested on a broken key: report them all
		}
	}
	return parallelism.Valid{}, list.err(s.File)
}

// Load decodes src, the TOML text of the file called filename, applies the
// --set overrides in sets (each "dotted.key=value", applied in order after the
// file) and fills the presets and defaults. A problem in doing so (an unknown
// key, a value of the wrong kind, an unknown preset, a missing key) makes it
// return an ErrorList holding every problem found, those validation finds
// too, so that one run shows them all. Without such a problem it returns the
// scenario unvalidated: the caller merges the files the scenario names and
// then calls Validate, so that the job is checked once, whole.
func Load(filename string, src []byte, sets []string) (*Scenario, error) {
	return Parse(filename, src).Load(sets)
}

// Parsed is a scenario file read once: its TOML decoded and the line of each
// key found, so that it can be loaded many times with different --set
// overrides (a sweep's points) without parsing it again. Loading only reads
// it, so one Parsed may be loaded from several goroutines at once.
type Parsed struct {
	filename string
	doc      map[string]any
	lines    map[string]int
	// depthErr and syntaxErr are why the file could not be decoded.
	depthErr, syntaxErr error
}

// File is the name the file was parsed under.
func (p *Parsed) File() string { return p.filename }

// Parse decodes src, the TOML text of the file called filename. Its problems
// are reported by Load, with those of the overrides.
func Parse(filename string, src []byte) *Parsed {
	p := &Parsed{filename: filename}
	if err := inputfile.CheckDepth(src); err != nil {
		p.depthErr = err
		return p
	}
	if _, err := toml.Decode(string(src), &p.doc); err != nil {
		p.syntaxErr = err
		return p
	}
	p.lines = keyLines(src)
	return p
}

// Load applies the --set overrides in sets to the parsed file, as the
// function Load does to its text.
func (p *Parsed) Load(sets []string) (*Scenario, error) {
	filename := p.filename
	d := newDecoder(filename)
	if p.depthErr != nil || p.syntaxErr != nil {
		if p.depthErr != nil {
			d.depthError(p.depthErr)
		} else {
			// Without a parse there is nothing more to say about the file,
			// but the --set overrides can still be checked.
			d.syntaxError(p.syntaxErr)
		}
		for _, set := range sets {
			d.applySet(set)
		}
		return nil, d.errs.err(filename)
	}
	d.lines = p.lines
	d.walk(nil, p.doc, false)
	for _, set := range sets {
		d.applySet(set)
	}
	job := d.resolve()
	var rlc *rl.Config
	if d.hasRL() {
		d.missing("rl")
		rlc = d.rlConfig(job)
	}
	if len(d.errs) > 0 {
		d.validated(job)
		if rlc != nil {
			// The [rl] table's own rules too, so that one run shows every
			// problem; those resting on a missing or broken key left out.
			d.report(rlc.Check(job))
		}
		return nil, d.errs.err(filename)
	}
	sc := &Scenario{Name: d.name(job), Seed: d.set.seed, Job: job, File: filename, Stack: d.set.stack, origins: d.origins, broken: d.brokenKeys()}
	if d.hasWhole() {
		w := d.set.whole
		sc.Whole = &w
	}
	sc.RL = rlc
	return sc, nil
}

// newDecoder returns an empty decoder for the file called filename.
func newDecoder(filename string) *decoder {
	d := &decoder{
		origins:  origins{file: filename, setBySet: map[string]bool{}, setInFile: map[string]bool{}, merged: map[string]position{}},
		reported: map[string]bool{},
		broken:   map[string]bool{},
	}
	d.keys = declarations(&d.set)
	d.schema = newSchema(d.keys)
	return d
}

// origins records where a scenario's keys were set: the file's lines, the
// keys the file and the --set overrides set, and the keys a calibration file
// merged in afterwards gave.
type origins struct {
	file  string
	lines map[string]int
	// setInFile and setBySet record the keys (and tables) the file and the
	// --set overrides set.
	setInFile, setBySet map[string]bool
	// merged records the keys a file the scenario names (calibration.file)
	// gave, where the scenario left them unset, and where.
	merged map[string]position
}

// position is a line of a file; line 0 when it is not known.
type position struct {
	file string
	line int
}

// decoder holds the state of one Load.
type decoder struct {
	origins
	// set is what the keys fill; keys are the declarations bound to it,
	// holding the values decoded so far.
	set    settings
	keys   []key
	schema schema
	// reported records the keys an error was already reported for, so that a
	// later validation does not repeat it.
	reported map[string]bool
	// broken records the keys (and tables) whose value is not what the user
	// meant: one that failed to decode, a preset that does not exist, a
	// required key that is missing, a default that could not be derived.
	// Validation problems that rest on them are not reported (see
	// isBroken).
	broken map[string]bool
	errs   ErrorList
}

// add records a problem with key, placed where the key was set.
func (d *decoder) add(key, msg string) {
	file, line := d.place(key)
	d.addAt(file, line, key, msg)
}

func (d *decoder) addAt(file string, line int, key, msg string) {
	d.reported[key] = true
	d.errs = append(d.errs, &Error{File: file, Line: line, Key: key, Msg: msg})
}

// place says where key was set: by a --set flag, on a line of the file, on a
// line of a file merged in, or, failing those, where its closest enclosing
// table was set.
func (o origins) place(key string) (file string, line int) {
	if p, ok := o.merged[key]; ok {
		return p.file, p.line
	}
	for k := key; k != ""; k = parentKey(k) {
		if o.setBySet[k] {
			return SetFile, 0
		}
		if l, ok := o.lines[k]; ok {
			return o.file, l
		}
	}
	return o.file, 0
}

// parentKey drops the last part of a dotted key; keys of the schema are bare,
// so splitting at the last dot is exact for them.
func parentKey(k string) string {
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		return k[:i]
	}
	return ""
}

func (d *decoder) syntaxError(err error) {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		// An integer past TOML's 64 bits is the one syntax error that
		// is about a value: name its key (and a whole key's range).
		if num, ok := strings.CutSuffix(pe.Message, " is out of range for int64"); ok && pe.LastKey != "" {
			d.addAt(d.file, pe.Position.Line, pe.LastKey, PastInt64(pe.LastKey, num))
			return
		}
		d.addAt(d.file, pe.Position.Line, "", "invalid TOML: "+pe.Message)
		return
	}
	d.addAt(d.file, 0, "", "invalid TOML: "+err.Error())
}

// PastInt64 is the problem with num, an integer too large for TOML's 64
// bits, given to key: a whole key's range (seed), else TOML's. The sweep
// file reader shares it.
func PastInt64(key, num string) string {
	var set settings
	for _, k := range declarations(&set) {
		if k.name == key && k.value != nil && k.value.kind() == kindWhole {
			return "must be " + wholeRange + ", got " + num
		}
	}
	return num + " is past TOML's 64-bit integers (−9223372036854775808 to 9223372036854775807)"
}

// depthError reports text nested too deep to hand to the TOML decoder.
func (d *decoder) depthError(err error) {
	line := 0
	var de *inputfile.DepthError
	if errors.As(err, &de) {
		line = de.Line
	}
	d.addAt(d.file, line, "", err.Error())
}

// isSet reports whether key was set by the file or by --set.
func (d *decoder) isSet(key string) bool { return d.setBySet[key] || d.setInFile[key] }

// walk keeps the values of the decoded table m, found at path, in the keys,
// reporting unknown keys and values of the wrong kind.
func (d *decoder) walk(path []string, m map[string]any, bySet bool) {
	for _, name := range sortedKeys(m) {
		v := m[name]
		kp := append(append([]string(nil), path...), name)
		key := toml.Key(kp).String()
		parent := toml.Key(path).String()
		// A table given where a value belongs (nodes = {a = 1}) still
		// sets the key: it is reported once, as the wrong kind, not also
		// as missing.
		_, declared := d.schema.keys[key]
		if _, isTable := v.(map[string]any); !isTable || declared {
			if bySet {
				d.setBySet[key] = true
			} else {
				d.setInFile[key] = true
			}
		}
		// A problem found under a --set override is the override's: the
		// table "foo" of --set foo.bar=1 was never in the file.
		add := d.add
		if bySet {
			add = func(key, msg string) { d.addAt(SetFile, 0, key, msg) }
		}
		k := d.schema.keys[key]
		switch {
		case declared && k.refused != "":
			add(key, k.refused)
		case declared:
			if err := k.value.decode(v); err != nil {
				add(key, err.Error())
				d.broken[key] = true
			} else if msg := emptyChoice(k, v); msg != "" {
				add(key, msg)
				d.broken[key] = true
			}
		case d.schema.isTable(key):
			sub, ok := v.(map[string]any)
			if !ok {
				add(key, fmt.Sprintf("want a table ([%s]), got %s", key, describe(v)))
				d.broken[key] = true
				continue
			}
			d.walk(kp, sub, bySet)
		case megatronKey(name) != "":
			add(key, fmt.Sprintf("unknown key; did you mean %q? (Megatron-LM's %s)", megatronKey(name), name))
		case suggest(name, d.schema.children[parent]) == "" && d.schema.elsewhere(name, parent) != "":
			full := d.schema.elsewhere(name, parent)
			table := full[:max(0, strings.LastIndex(full, "."))]
			where := "at the top level"
			if table != "" {
				where = "in [" + table + "]"
			}
			add(key, fmt.Sprintf("unknown key; did you mean %q? (the key %s is %s)", full, name, where))
			if !d.isSet(full) {
				d.broken[full] = true
			}
		default:
			add(key, "unknown key; "+didYouMean(name, d.schema.children[parent]))
			// A misspelt key most likely meant the key suggested, which then
			// stands at its default without the user meaning it.
			if s := suggest(name, d.schema.children[parent]); s != "" && !d.schema.isTable(join(parent, s)) && !d.isSet(join(parent, s)) {
				d.broken[join(parent, s)] = true
			}
		}
	}
}

// emptyChoice says why v, an empty string given for an enumeration (a
// key with allowed values that names no preset), is refused: "" would
// otherwise stand for the key's default in some validators and not in
// others. "" for any other value.
func emptyChoice(k key, v any) string {
	if s, ok := v.(string); !ok || s != "" || k.preset || len(k.allowed) == 0 || slices.Contains(k.allowed, "") {
		return ""
	}
	return fmt.Sprintf("an empty string is not a value of this key (allowed: %s; leave the key out for its default)", field.Quote(k.allowed))
}

// applySet applies one --set KEY=VALUE override.
func (d *decoder) applySet(set string) {
	k, value, ok := strings.Cut(set, "=")
	key := strings.TrimSpace(k)
	if !ok || key == "" {
		d.addAt(SetFile, 0, "", fmt.Sprintf("%q: want KEY=VALUE, e.g. parallelism.tp=8", set))
		return
	}
	parts := strings.Split(key, ".")
	for _, p := range parts {
		if p == "" || strings.IndexFunc(p, func(r rune) bool { return r > 127 || !isBare(byte(r)) }) >= 0 {
			d.addAt(SetFile, 0, key, "not a dotted key path (want e.g. parallelism.tp)")
			return
		}
	}
	v, err := parseSetValue(value, d.isText(key))
	if err != nil {
		d.addAt(SetFile, 0, key, err.Error())
		d.broken[key] = true
		return
	}
	// Nest the value under its path, so that the walk sees what a file
	// setting the key would give.
	d.setBySet[key] = true
	var tree any = v
	for i := len(parts) - 1; i >= 0; i-- {
		tree = map[string]any{parts[i]: tree}
	}
	d.walk(nil, tree.(map[string]any), true)
}

// isText reports whether key is a declared string key, whose --set value is
// taken verbatim when it is not a TOML string.
func (d *decoder) isText(key string) bool {
	k, ok := d.schema.keys[key]
	return ok && k.value != nil && k.value.kind() == kindString
}

// given reports whether the declared key was given a value that decoded.
func (d *decoder) given(key string) bool {
	k, ok := d.schema.keys[key]
	return ok && k.value != nil && k.value.given()
}

// parseSetValue reads VALUE as a TOML value. Text that is not one is taken
// as a string, so that --set parallelism.schedule=gpipe works; so is any
// value given for a plain string key (--set name=2024).
func parseSetValue(value string, text bool) (any, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil, errors.New("empty value (want KEY=VALUE)")
	}
	if err := inputfile.CheckDepth([]byte(value)); err != nil {
		return nil, err
	}
	var doc map[string]any
	_, err := toml.Decode("v = "+value, &doc)
	if err == nil && len(doc) == 1 {
		if _, isString := doc["v"].(string); isString || !text {
			return doc["v"], nil
		}
	}
	doc = nil
	if _, err := toml.Decode("v = "+strconv.Quote(value), &doc); err != nil || len(doc) != 1 {
		return nil, fmt.Errorf("%q is not a value", value)
	}
	return doc["v"], nil
}

// name is the scenario's name, which says what was replayed:
//   - a name given with --set name=... (a sweep's inline name is one) always;
//   - else, when a --set override changes a [model] or [cluster] key (the
//     model or the hardware), a name generated from what is replayed,
//     GeneratedName's "MODEL, N x GPU": the file's name described another
//     model or cluster;
//   - else the file's name key, or without one the file's base name.
func (d *decoder) name(j parallelism.Job) string {
	if d.setBySet["name"] && d.set.name != "" {
		return d.set.name
	}
	if d.overridesHardware() {
		return GeneratedName(j)
	}
	if d.set.name != "" {
		return d.set.name
	}
	base := filepath.Base(d.file)
	if name := strings.TrimSuffix(base, filepath.Ext(base)); name != "" && name != "." && name != string(filepath.Separator) {
		return name
	}
	return "scenario"
}

// overridesHardware reports whether a --set override changed a key of the
// model or of the cluster.
func (d *decoder) overridesHardware() bool {
	for k := range d.setBySet {
		if strings.HasPrefix(k, "model.") || strings.HasPrefix(k, "cluster.") {
			return true
		}
	}
	return false
}

// GeneratedName is the name of a scenario whose model or cluster a --set
// override changed: the model's name and the GPU count and type actually
// replayed, e.g. "llama3-405b, 1024 x h100-sxm" ("custom" for a model or GPU
// given key by key).
func GeneratedName(j parallelism.Job) string {
	m, g := j.Model.Name, j.Cluster.GPU.Name
	if m == "" {
		m = "custom"
	}
	if g == "" {
		g = "custom"
	}
	return fmt.Sprintf("%s, %d x %s", m, j.Cluster.GPUs(), g)
}
