package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"testing"

	"trainsim/units"
)

// TestRoundFloats: every float reachable through exported fields, pointers,
// slices, arrays, maps and interfaces is written as units.Number writes it;
// a type that writes itself and an unexported field are left alone, and the
// value passed in is not changed. The JSON below is written by hand.
func TestRoundFloats(t *testing.T) {
	type inner struct {
		X float64 `json:"x"`
	}
	type outer struct {
		A      float64            `json:"a"`
		Neg0   float64            `json:"neg0"`
		Tiny   float64            `json:"tiny"`
		Count  int64              `json:"count"`
		P      *inner             `json:"p"`
		Nil    *inner             `json:"nil"`
		S      []float64          `json:"s"`
		Arr    [2]float64         `json:"arr"`
		M      map[string]inner   `json:"m"`
		Any    any                `json:"any"`
		Self   usec               `json:"self"`
		Num    json.Number        `json:"num"`
		F32    float32            `json:"f32"`
		PM     map[string]*inner  `json:"pm"`
		hidden float64            // not written; copied as it is
		Skip   map[string]float64 `json:"-"`
	}
	in := outer{
		A: 30.775627418000003, Neg0: math.Copysign(0, -1), Tiny: 1e-9, Count: 1<<62 + 1,
		P: &inner{0.1 + 0.2}, S: []float64{5.896484352000001, 107449726864375.05}, Arr: [2]float64{1.9365142300000002, 3.229328867328e+23},
		M: map[string]inner{"k": {0.3443901502063303}}, Any: []any{0.30000000000000004, "s"},
		Self: usec(1.0000000000000002), Num: "1.00000000000000002", F32: 0.1, PM: map[string]*inner{"q": {2934992.5439834595}},
		hidden: 0.30000000000000004, Skip: map[string]float64{"z": 0.30000000000000004},
	}
	got, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":30.775627418,"neg0":0,"tiny":1e-9,"count":4611686018427387905,"p":{"x":0.3},"nil":null,` +
		`"s":[5.896484352,107449726864000],"arr":[1.93651423,3.22932886733e+23],"m":{"k":{"x":0.344390150206}},` +
		`"any":[0.3,"s"],"self":1.000,"num":1.00000000000000002,"f32":0.1,"pm":{"q":{"x":2934992.54398}}}`
	if string(got) != want {
		t.Errorf("Marshal:\n got %s\nwant %s", got, want)
	}
	if in.A != 30.775627418000003 || in.P.X != 0.1+0.2 || in.S[0] != 5.896484352000001 || in.M["k"].X != 0.3443901502063303 ||
		in.PM["q"].X != 2934992.5439834595 || in.Any.([]any)[0] != 0.30000000000000004 || !math.Signbit(in.Neg0) {
		t.Errorf("RoundFloats changed the value passed in: %+v", in)
	}
	if r := RoundFloats(in); r.hidden != in.hidden {
		t.Errorf("unexported field: %v, want %v", r.hidden, in.hidden)
	}
	var buf bytes.Buffer
	if err := EncodeJSON(&buf, map[string]float64{"x": 0.1 + 0.2}); err != nil || buf.String() != "{\n  \"x\": 0.3\n}\n" {
		t.Errorf("EncodeJSON: %q, %v", buf.String(), err)
	}
	// NaN stays impossible to write, as with encoding/json.
	var ue *json.UnsupportedValueError
	if _, err := Marshal(struct{ X float64 }{math.NaN()}); !errors.As(err, &ue) {
		t.Errorf("NaN: err %v, want an unsupported value", err)
	}
}

// TestReportNumbers: a built report's JSON is the unrounded report's JSON
// token for token, except that each number is units.Number of the original
// (the integers unchanged); its CSV cells are the same text; writing leaves
// the report as it was.
func TestReportNumbers(t *testing.T) {
	j := testJob(t)
	rep, err := Build(Input{Name: "t", Seed: 1, Job: j}, replayed(t, j))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if again, _ := json.Marshal(rep); !bytes.Equal(again, raw) {
		t.Fatal("WriteJSON changed the report")
	}
	tokens := func(b []byte) []json.Token {
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var out []json.Token
		for {
			tok, err := d.Token()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, tok)
		}
	}
	a, b := tokens(raw), tokens(buf.Bytes())
	if len(a) != len(b) {
		t.Fatalf("%d tokens written, %d in the report", len(b), len(a))
	}
	changed := 0
	for i := range a {
		n, isNum := a[i].(json.Number)
		if !isNum {
			if a[i] != b[i] {
				t.Fatalf("token %d: %v, want %v", i, b[i], a[i])
			}
			continue
		}
		x, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			t.Fatal(err)
		}
		want := units.Number(x)
		if _, err := strconv.ParseInt(string(n), 10, 64); err == nil && len(n) <= units.ReportDigits {
			want = string(n) // a short integer is written as it was
		}
		if got := string(b[i].(json.Number)); got != want {
			t.Errorf("token %d: %s written as %s, want %s", i, n, got, want)
		}
		if string(n) != want {
			changed++
		}
	}
	if changed == 0 {
		t.Error("no number was rounded: the test report has no noise to remove")
	}

	var cb bytes.Buffer
	if err := WriteCSV(&cb, rep); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&cb).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]string{}
	for i, h := range rows[0] {
		col[h] = rows[1][i]
	}
	for _, c := range []struct {
		name string
		v    float64
	}{{"step_time_s", rep.StepTimeS}, {"tokens_per_s", rep.TokensPerS}, {"mfu", rep.MFU}, {"memory_peak_bytes", rep.Memory.Peak}, {"gpu_hours", rep.GPUHours}} {
		if col[c.name] != units.Number(c.v) {
			t.Errorf("CSV %s = %q, want %q", c.name, col[c.name], units.Number(c.v))
		}
	}
}
