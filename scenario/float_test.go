package scenario

import (
	"strings"
	"testing"
)

// TestFloatForInteger: a float for an integer key is refused, as
// BurntSushi/toml refuses one for an integer field (decode.go unifyInt,
// v1.6.0), and the message shows it as TOML writes a float, 8.0 and not 8, with the
// integer to write when it is a whole number. A float where a string is
// wanted is shown the same way.
func TestFloatForInteger(t *testing.T) {
	tests := []struct {
		name string
		src  string
		sets []string
		want string
	}{
		{"whole float in the file", replace("tp = 8", "tp = 8.0"), nil,
			`x.toml:11: parallelism.tp: want an integer, got the number 8.0 (write 8)`},
		{"whole float by --set", base, []string{"parallelism.tp=8.0"},
			`--set: parallelism.tp: want an integer, got the number 8.0 (write 8)`},
		{"exponent", base, []string{"cluster.nodes=1e2"},
			`--set: cluster.nodes: want an integer, got the number 100.0 (write 100)`},
		{"fraction", base, []string{"parallelism.tp=8.5"},
			`--set: parallelism.tp: want an integer, got the number 8.5`},
		{"too large to be a count", base, []string{"parallelism.tp=1e300"},
			`--set: parallelism.tp: want an integer, got the number 1e+300`},
		{"infinity", base, []string{"parallelism.tp=inf"},
			`--set: parallelism.tp: want an integer, got the number inf`},
		{"a float for a string", replace(`name = "test"`, "name = 2.0"), nil,
			`x.toml:1: name: want a string, got the number 2.0`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := Load("scenarios/x.toml", []byte(tc.src), tc.sets)
			if err == nil {
				_, err = sc.Validate()
			}
			if err == nil {
				t.Fatalf("no error, want %s", tc.want)
			}
			if got := strings.TrimPrefix(err.Error(), "scenarios/"); got != tc.want {
				t.Errorf("error:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}
