package coder

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"

	"github.com/beamgo-dev/beamgo/internal/window"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
)

// The standard coder vectors are Beam's reference encodings
// (testdata/standard_coders.yaml, copied from Beam with its license). Each
// section names a coder spec and maps encoded bytes to values written as
// YAML; values are converted to this package's dynamic Go values the way
// Beam's own standard coder tests convert them.

type yamlSection struct {
	Coder    yamlCoder `yaml:"coder"`
	Nested   *bool     `yaml:"nested"`
	Examples yaml.Node `yaml:"examples"`
}

type yamlCoder struct {
	URN              string      `yaml:"urn"`
	Payload          string      `yaml:"payload"`
	Components       []yamlCoder `yaml:"components"`
	NonDeterministic bool        `yaml:"non_deterministic"`
}

func (c yamlCoder) spec(t *testing.T) Spec {
	s := Spec{URN: c.URN}
	if c.Payload != "" {
		s.Payload = latin1(t, c.Payload)
	}
	for _, comp := range c.Components {
		s.Components = append(s.Components, comp.spec(t))
	}
	return s
}

// latin1 converts a YAML string whose characters stand for bytes (as the
// vectors write them) to those bytes.
func latin1(t *testing.T, s string) []byte {
	t.Helper()
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			t.Fatalf("character %U in a byte string", r)
		}
		b = append(b, byte(r))
	}
	return b
}

func readStandardCoders(t *testing.T) []yamlSection {
	t.Helper()
	f, err := os.Open("testdata/standard_coders.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sections []yamlSection
	dec := yaml.NewDecoder(f)
	for {
		var s yamlSection
		err := dec.Decode(&s)
		if errors.Is(err, io.EOF) {
			return sections
		}
		if err != nil {
			t.Fatalf("parse standard_coders.yaml section %d: %v", len(sections)+1, err)
		}
		sections = append(sections, s)
	}
}

// standardURNs are the coders the vectors must cover.
var standardURNs = []string{
	URNBytes, URNStringUTF8, URNVarint, URNBool, URNDouble, URNKV, URNIterable,
	URNIntervalWindow, URNGlobalWindow, URNWindowedValue, URNParamWindowedValue,
	URNTimer, URNRow,
}

func TestStandardCoders(t *testing.T) {
	sections := readStandardCoders(t)
	passedURNs := map[string]bool{}
	passed, examples := 0, 0
	for i, sec := range sections {
		spec := sec.Coder.spec(t)
		name := fmt.Sprintf("%02d %s", i+1, strings.TrimPrefix(spec.URN, "beam:coder:"))
		ok := t.Run(name, func(t *testing.T) {
			examples += checkSection(t, sec, spec)
		})
		if ok {
			passed++
			if _, seen := passedURNs[spec.URN]; !seen {
				passedURNs[spec.URN] = true
			}
		} else {
			passedURNs[spec.URN] = false
		}
	}
	var missing []string
	passedCount := 0
	for _, ok := range passedURNs {
		if ok {
			passedCount++
		}
	}
	for _, urn := range standardURNs {
		if !passedURNs[urn] {
			missing = append(missing, urn)
		}
	}
	if len(missing) > 0 {
		t.Errorf("standard coders without a passing section: %v", missing)
	}
	if passed != len(sections) {
		t.Errorf("%d of %d sections passed", passed, len(sections))
	}
	t.Logf("standard_coders.yaml: %d/%d sections, %d examples, %d URNs passed", passed, len(sections), examples, passedCount)
}

// checkSection checks every example of a section and returns how many it
// checked.
func checkSection(t *testing.T, sec yamlSection, spec Spec) int {
	c, err := FromSpec(spec)
	if err != nil {
		t.Fatalf("FromSpec(%v) = %v", spec, err)
	}
	if !c.Spec().Equal(spec) {
		t.Errorf("FromSpec(%v).Spec() = %v", spec, c.Spec())
	}
	contexts := []bool{true, false}
	if sec.Nested != nil {
		contexts = []bool{*sec.Nested}
	}
	ex := sec.Examples
	if ex.Kind != yaml.MappingNode || len(ex.Content) == 0 {
		t.Fatalf("section has no examples")
	}
	for i := 0; i < len(ex.Content); i += 2 {
		encoded := latin1(t, ex.Content[i].Value)
		var raw any
		if err := ex.Content[i+1].Decode(&raw); err != nil {
			t.Fatalf("example %q: %v", ex.Content[i].Value, err)
		}
		want, err := yamlValue(spec, raw)
		if err != nil {
			t.Fatalf("example %q: %v", ex.Content[i].Value, err)
		}
		for _, nested := range contexts {
			checkExample(t, c, nested, !sec.Coder.NonDeterministic, encoded, want)
		}
	}
	return len(ex.Content) / 2
}

func checkExample(t *testing.T, c Any, nested, encode bool, encoded []byte, want any) {
	t.Helper()
	ctx := "outer"
	if nested {
		ctx = "nested"
	}
	var got any
	var err error
	if nested {
		var n int
		got, n, err = c.DecodeAny(encoded)
		if err == nil && n != len(encoded) {
			t.Errorf("%s: DecodeAny(%q) used %d of %d bytes", ctx, encoded, n, len(encoded))
		}
		if n, err := c.Skip(encoded); err != nil || n != len(encoded) {
			t.Errorf("%s: Skip(%q) = %d, %v, want %d", ctx, encoded, n, err, len(encoded))
		}
	} else {
		got, err = c.DecodeOuterAny(encoded)
	}
	if err != nil {
		t.Errorf("%s: decode %q: %v", ctx, encoded, err)
	} else if diff := cmp.Diff(want, got, valueOpts...); diff != "" {
		t.Errorf("%s: decode %q: (-want +got)\n%s", ctx, encoded, diff)
	}
	if !encode {
		return
	}
	var out []byte
	if nested {
		out, err = c.EncodeAny(nil, want)
	} else {
		out, err = c.EncodeOuterAny(nil, want)
	}
	if err != nil {
		t.Errorf("%s: encode %v: %v", ctx, want, err)
	} else if !bytes.Equal(out, encoded) {
		t.Errorf("%s: encode %v = %q, want %q", ctx, want, out, encoded)
	}
}

// valueOpts compare decoded values: windows by value, floats bit for bit
// (so that -0 differs from 0) with all NaNs equal.
var valueOpts = []cmp.Option{
	cmp.Comparer(func(a, b window.Window) bool { return a == b }),
	cmp.Comparer(func(a, b float64) bool {
		return math.Float64bits(a) == math.Float64bits(b) || (a != a && b != b)
	}),
	cmp.Comparer(func(a, b float32) bool {
		return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
	}),
}

// yamlValue converts a YAML value to the Go value FromSpec's coder for spec
// decodes.
func yamlValue(spec Spec, v any) (any, error) {
	switch spec.URN {
	case URNBytes:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("bytes value %v is not a string", v)
		}
		return latin1Bytes(s)
	case URNStringUTF8:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("string value %v is not a string", v)
		}
		return s, nil
	case URNVarint:
		return toInt64(v)
	case URNBool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("bool value %v is %T", v, v)
		}
		return b, nil
	case URNDouble:
		return toFloat(v)
	case URNKV:
		m, err := toMap(v)
		if err != nil {
			return nil, err
		}
		k, err := yamlValue(spec.Components[0], m["key"])
		if err != nil {
			return nil, err
		}
		val, err := yamlValue(spec.Components[1], m["value"])
		if err != nil {
			return nil, err
		}
		return KV[any, any]{Key: k, Value: val}, nil
	case URNIterable:
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("iterable value %v is %T", v, v)
		}
		out := make([]any, len(list))
		for i, e := range list {
			x, err := yamlValue(spec.Components[0], e)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case URNGlobalWindow, URNIntervalWindow:
		return yamlWindow(v)
	case URNWindowedValue, URNParamWindowedValue:
		m, err := toMap(v)
		if err != nil {
			return nil, err
		}
		elem, err := yamlValue(spec.Components[0], m["value"])
		if err != nil {
			return nil, err
		}
		ts, err := toInt64(m["timestamp"])
		if err != nil {
			return nil, err
		}
		ws, err := yamlWindows(m["windows"])
		if err != nil {
			return nil, err
		}
		p, err := yamlPane(m["pane"])
		if err != nil {
			return nil, err
		}
		return window.Value[any]{Elem: elem, Timestamp: window.Time(ts), Windows: ws, Pane: p}, nil
	case URNTimer:
		return yamlTimer(spec, v)
	case URNRow:
		var s pipepb.Schema
		if err := proto.Unmarshal(spec.Payload, &s); err != nil {
			return nil, err
		}
		return yamlRow(&s, v)
	}
	return nil, fmt.Errorf("no YAML conversion for %s", spec.URN)
}

func latin1Bytes(s string) ([]byte, error) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return nil, fmt.Errorf("character %U in bytes", r)
		}
		b = append(b, byte(r))
	}
	return b, nil
}

func toInt64(v any) (int64, error) {
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case uint64:
		return int64(x), nil
	}
	return 0, fmt.Errorf("integer value %v is %T", v, v)
}

func toFloat(v any) (float64, error) {
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("double value %v is %T, want a string", v, v)
	}
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	return strconv.ParseFloat(s, 64)
}

func toMap(v any) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("value %v is %T, want a map", v, v)
	}
	return m, nil
}

func yamlWindow(v any) (window.Window, error) {
	if s, ok := v.(string); ok && (s == "" || s == "global") {
		return window.Global(), nil
	}
	m, err := toMap(v)
	if err != nil {
		return window.Window{}, err
	}
	end, err := toInt64(m["end"])
	if err != nil {
		return window.Window{}, err
	}
	span, err := toInt64(m["span"])
	if err != nil {
		return window.Window{}, err
	}
	return window.Interval(window.Time(end-span), window.Time(end)), nil
}

func yamlWindows(v any) ([]window.Window, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("windows %v is %T", v, v)
	}
	var ws []window.Window
	for _, e := range list {
		w, err := yamlWindow(e)
		if err != nil {
			return nil, err
		}
		ws = append(ws, w)
	}
	return ws, nil
}

var yamlTimings = map[string]window.Timing{
	"EARLY": window.TimingEarly, "ON_TIME": window.TimingOnTime,
	"LATE": window.TimingLate, "UNKNOWN": window.TimingUnknown,
}

func yamlPane(v any) (window.Pane, error) {
	m, err := toMap(v)
	if err != nil {
		return window.Pane{}, err
	}
	timing, ok := yamlTimings[fmt.Sprint(m["timing"])]
	if !ok {
		return window.Pane{}, fmt.Errorf("pane timing %v", m["timing"])
	}
	index, err := toInt64(m["index"])
	if err != nil {
		return window.Pane{}, err
	}
	onTime, err := toInt64(m["on_time_index"])
	if err != nil {
		return window.Pane{}, err
	}
	first, _ := m["is_first"].(bool)
	last, _ := m["is_last"].(bool)
	return window.Pane{IsFirst: first, IsLast: last, Timing: timing, Index: index, NonSpeculativeIndex: onTime}, nil
}

func yamlTimer(spec Spec, v any) (any, error) {
	m, err := toMap(v)
	if err != nil {
		return nil, err
	}
	key, err := yamlValue(spec.Components[0], m["userKey"])
	if err != nil {
		return nil, err
	}
	ws, err := yamlWindows(m["windows"])
	if err != nil {
		return nil, err
	}
	tm := Timer[any]{UserKey: key, DynamicTimerTag: fmt.Sprint(m["dynamicTimerTag"]), Windows: ws}
	tm.ClearBit, _ = m["clearBit"].(bool)
	if tm.ClearBit {
		return tm, nil
	}
	fire, err := toInt64(m["fireTimestamp"])
	if err != nil {
		return nil, err
	}
	hold, err := toInt64(m["holdTimestamp"])
	if err != nil {
		return nil, err
	}
	tm.FireTimestamp, tm.HoldTimestamp = window.Time(fire), window.Time(hold)
	if tm.Pane, err = yamlPane(m["pane"]); err != nil {
		return nil, err
	}
	return tm, nil
}

func yamlRow(s *pipepb.Schema, v any) (any, error) {
	m, err := toMap(v)
	if err != nil {
		return nil, err
	}
	row := Row{}
	for _, f := range s.GetFields() {
		row.Names = append(row.Names, f.GetName())
		x, err := yamlField(f.GetType(), m[f.GetName()])
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.GetName(), err)
		}
		row.Values = append(row.Values, x)
	}
	return row, nil
}

func yamlField(ft *pipepb.FieldType, v any) (any, error) {
	if v == nil {
		if !ft.GetNullable() {
			return nil, fmt.Errorf("null for a non-nullable field")
		}
		return nil, nil
	}
	switch ti := ft.GetTypeInfo().(type) {
	case *pipepb.FieldType_AtomicType:
		switch ti.AtomicType {
		case pipepb.AtomicType_STRING:
			return yamlValue(Spec{URN: URNStringUTF8}, v)
		case pipepb.AtomicType_BYTES:
			return yamlValue(Spec{URN: URNBytes}, v)
		case pipepb.AtomicType_BOOLEAN:
			return yamlValue(Spec{URN: URNBool}, v)
		case pipepb.AtomicType_DOUBLE:
			return toFloat(v)
		case pipepb.AtomicType_INT32:
			i, err := toInt64(v)
			return int32(i), err
		case pipepb.AtomicType_INT64:
			return toInt64(v)
		}
	case *pipepb.FieldType_ArrayType:
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("array value %v is %T", v, v)
		}
		out := make([]any, len(list))
		for i, e := range list {
			x, err := yamlField(ti.ArrayType.GetElementType(), e)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	}
	return nil, fmt.Errorf("no YAML conversion for field type %v", ft)
}

// The row vectors' schemas, as Go structs: the struct coders must produce
// the reference bytes too.
type (
	vectorRow1 struct {
		Str string   `beam:"str"`
		I32 int32    `beam:"i32"`
		F64 float64  `beam:"f64"`
		Arr []string `beam:"arr"`
	}
	vectorRow2 struct {
		Str *string  `beam:"str"`
		I32 *int32   `beam:"i32"`
		F64 *float64 `beam:"f64"`
	}
	vectorRow3 struct {
		FBool  bool    `beam:"f_bool"`
		FBytes *[]byte `beam:"f_bytes"`
	}
)

func TestStandardRowVectorsWithStructs(t *testing.T) {
	sections := readStandardCoders(t)
	structCoders := []Any{mustErase[vectorRow1](t), mustErase[vectorRow2](t), mustErase[vectorRow3](t)}
	rows := 0
	for _, sec := range sections {
		if sec.Coder.URN != URNRow {
			continue
		}
		if rows >= len(structCoders) {
			t.Fatalf("more row sections than test structs")
		}
		sc := structCoders[rows]
		rows++
		dyn, err := FromSpec(sec.Coder.spec(t))
		if err != nil {
			t.Fatal(err)
		}
		if !sameSchemaFields(t, dyn.Spec().Payload, sc.Spec().Payload) {
			t.Errorf("%v: schema of the struct differs from the vector's", sc.GoType())
		}
		for i := 0; i < len(sec.Examples.Content); i += 2 {
			encoded := latin1(t, sec.Examples.Content[i].Value)
			v, err := sc.DecodeOuterAny(encoded)
			if err != nil {
				t.Errorf("%v: decode %q: %v", sc.GoType(), encoded, err)
				continue
			}
			out, err := sc.EncodeOuterAny(nil, v)
			if err != nil || !bytes.Equal(out, encoded) {
				t.Errorf("%v: encode %+v = %q, %v, want %q", sc.GoType(), v, out, err, encoded)
			}
			// The dynamic decoding of the struct's bytes matches the vector's.
			want, _ := dyn.DecodeOuterAny(encoded)
			got, err := dyn.DecodeOuterAny(out)
			if diff := cmp.Diff(want, got, valueOpts...); err != nil || diff != "" {
				t.Errorf("%v: dynamic decode of struct bytes: %v (-want +got)\n%s", sc.GoType(), err, diff)
			}
		}
	}
	if rows != len(structCoders) {
		t.Errorf("found %d row sections, want %d", rows, len(structCoders))
	}
}

func mustErase[T any](t testing.TB) Any {
	t.Helper()
	c, err := Of[T]()
	if err != nil {
		t.Fatalf("Of[%T]() = %v", *new(T), err)
	}
	return Erase(c)
}

// sameSchemaFields reports whether two serialized schemas have the same
// fields, ignoring ids.
func sameSchemaFields(t *testing.T, a, b []byte) bool {
	t.Helper()
	var sa, sb pipepb.Schema
	if err := proto.Unmarshal(a, &sa); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(b, &sb); err != nil {
		t.Fatal(err)
	}
	return slices.EqualFunc(sa.Fields, sb.Fields, func(x, y *pipepb.Field) bool {
		return x.GetName() == y.GetName() && proto.Equal(x.GetType(), y.GetType())
	})
}
