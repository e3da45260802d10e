// Package scenarios holds the scenario files built into the binary: the
// default scenario that `sim run` replays when no file is given, and any other
// example scenarios kept next to it.
package scenarios

import (
	"bytes"
	"embed"
	"io/fs"
	"path"
	"strings"
)

// DefaultFile is the path, relative to the module root, under which the
// default scenario is reported in messages ("scenarios/gpt3-175b.toml:12: ...").
const DefaultFile = "scenarios/gpt3-175b.toml"

// files holds every scenario of this directory. It is only ever read.
//
//go:embed *.toml
var files embed.FS

// defaultSrc is the default scenario; embedding it by name makes its absence a
// build error rather than a run-time one. It is only ever read.
//
//go:embed gpt3-175b.toml
var defaultSrc []byte

// Default returns the default scenario — GPT-3 175B on 1024 A100-80GB GPUs,
// as Megatron-LM trained it in 2021 — as a file name for messages and its
// TOML text. The caller owns the returned bytes.
func Default() (name string, src []byte) {
	return DefaultFile, bytes.Clone(defaultSrc)
}

// FS returns the embedded scenario files, each at the root under its base
// name ("gpt3-175b.toml").
func FS() fs.FS { return files }

// Names lists the embedded scenario files in sorted order.
func Names() []string {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// DefaultName is the name under which `sim scenario` and a sweep's base
// key know the default scenario.
const DefaultName = "default"

// Lookup returns an embedded scenario by name: DefaultName for the default,
// or an embedded file's base name with or without ".toml"
// ("gpt3-13b-dp-heavy"). file is its path for messages, as Default's; ok is
// false for no such scenario. The caller owns the returned bytes.
func Lookup(name string) (file string, src []byte, ok bool) {
	if name == DefaultName {
		file, src = Default()
		return file, src, true
	}
	base := strings.TrimSuffix(name, ".toml") + ".toml"
	if strings.ContainsAny(base, `/\`) {
		return "", nil, false
	}
	b, err := fs.ReadFile(files, base)
	if err != nil {
		return "", nil, false
	}
	return path.Join(path.Dir(DefaultFile), base), b, true
}

// LookupNames lists the names Lookup knows: DefaultName, then every
// embedded file's base name without ".toml".
func LookupNames() []string {
	out := []string{DefaultName}
	for _, n := range Names() {
		out = append(out, strings.TrimSuffix(n, ".toml"))
	}
	return out
}
