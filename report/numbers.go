package report

import (
	"bytes"
	"encoding"
	"encoding/json"
	"io"
	"reflect"

	"trainsim/units"
)

// EncodeJSON writes v as indented JSON (two spaces, a final newline), every
// float in it as units.Number writes it: rounded to units.ReportDigits
// significant digits, in the shortest form that reads back as that value.
// Every JSON file trainsim writes with computed figures goes through here
// or Marshal, so none carries floating-point noise (30.775627418, not
// 30.775627418000003). NaN and ±Inf stay an encoding error, as before.
func EncodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // link names such as "node0->leaf0" stay readable
	return enc.Encode(RoundFloats(v))
}

// Marshal is EncodeJSON's compact form, without the final newline: the
// form of a sweep's results lines.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(RoundFloats(v)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// RoundFloats returns a deep copy of v in which every float reachable
// through exported fields, pointers, slices, arrays, maps and interfaces is
// units.Clean of the original; v itself is not changed. encoding/json writes
// a float64 in the shortest form that reads back exactly, so the copy's
// JSON holds units.Number's text for every float. A value whose type writes
// itself (json.Marshaler, encoding.TextMarshaler) is kept as it is.
func RoundFloats[T any](v T) T {
	in := reflect.ValueOf(&v).Elem()
	out := reflect.New(in.Type()).Elem()
	out.Set(roundValue(in))
	return out.Interface().(T)
}

// writesItself reports whether encoding/json lets values of type t, or
// pointers to them, write themselves.
func writesItself(t reflect.Type) bool {
	if t.Kind() == reflect.Interface {
		return false // the dynamic value decides
	}
	for _, m := range []reflect.Type{reflect.TypeFor[json.Marshaler](), reflect.TypeFor[encoding.TextMarshaler]()} {
		if t.Implements(m) || t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(m) {
			return true
		}
	}
	return false
}

// roundValue returns v, or a copy of it with its floats cleaned.
func roundValue(v reflect.Value) reflect.Value {
	t := v.Type()
	if writesItself(t) {
		return v
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		out := reflect.New(t).Elem()
		out.SetFloat(units.Clean(v.Float()))
		return out
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		out := reflect.New(t.Elem())
		out.Elem().Set(roundValue(v.Elem()))
		return out
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		out := reflect.New(t).Elem()
		out.Set(roundValue(v.Elem()))
		return out
	case reflect.Struct:
		out := reflect.New(t).Elem()
		out.Set(v) // unexported fields as they are: encoding/json skips them
		for i := range t.NumField() {
			if f := out.Field(i); f.CanSet() {
				f.Set(roundValue(v.Field(i)))
			}
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(t, v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(roundValue(v.Index(i)))
		}
		return out
	case reflect.Array:
		out := reflect.New(t).Elem()
		for i := range v.Len() {
			out.Index(i).Set(roundValue(v.Index(i)))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(t, v.Len())
		iter := v.MapRange()
		for iter.Next() {
			out.SetMapIndex(iter.Key(), roundValue(iter.Value()))
		}
		return out
	}
	return v
}
