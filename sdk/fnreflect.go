package sdk

// This file holds the sdk's only use of reflection: naming and describing
// user functions for the proto payload, and copying DoFn values so that each
// worker thread gets its own instance. None of it runs per element.

import (
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"strings"

	"github.com/beamgo-dev/beamgo/internal/graph"
)

// fnName returns a transform name derived from a user function: the type
// name of a DoFn struct, or the function's name.
func fnName(fn any) string {
	if fn == nil {
		return "ParDo"
	}
	if a, ok := fn.(interface{ transformName() string }); ok {
		return a.transformName()
	}
	t := reflect.TypeOf(fn)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() != "" {
		return t.Name()
	}
	return t.String()
}

// funcName returns the short name of a function value, e.g. "main.splitWords"
// or "main.main.func1" for a closure.
func funcName(f any) string {
	v := reflect.ValueOf(f)
	if v.Kind() != reflect.Func || v.IsNil() {
		return fmt.Sprintf("%T", f)
	}
	name := runtime.FuncForPC(v.Pointer()).Name()
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// describeFn returns the payload description of a user function: its Go
// type and, for a struct DoFn, the JSON of its exported fields. The worker
// rebuilds the pipeline from the same binary and compares these, so a
// DoFn whose configuration differs between runs is caught.
func describeFn(fn any) (*graph.FnInfo, error) {
	if d, ok := fn.(interface{ describe() *graph.FnInfo }); ok {
		return d.describe(), nil
	}
	t := reflect.TypeOf(fn)
	info := &graph.FnInfo{GoType: typeName(t)}
	v := reflect.ValueOf(fn)
	if t.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, fmt.Errorf("DoFn %v is a nil pointer", t)
		}
		v = v.Elem()
	}
	if v.Kind() == reflect.Struct {
		if b, err := json.Marshal(v.Interface()); err == nil {
			info.Config = string(b)
		} else {
			info.Config = fmt.Sprintf("unencodable: %v", err)
		}
	}
	return info, nil
}

func typeName(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		return "*" + typeName(t.Elem())
	}
	if t.PkgPath() != "" {
		return t.PkgPath() + "." + t.Name()
	}
	return t.String()
}

// cloneFn returns a per-instance copy of a DoFn: a shallow copy of the
// struct a pointer DoFn points to. Values that are not struct pointers
// (struct values, function adapters) are copied by assignment already, or
// are stateless.
func cloneFn(fn any) (any, error) {
	if c, ok := fn.(interface{ clone() any }); ok {
		return c.clone(), nil
	}
	v := reflect.ValueOf(fn)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fn, nil
	}
	cp := reflect.New(v.Elem().Type())
	cp.Elem().Set(v.Elem())
	return cp.Interface(), nil
}

// declareStateful finds the user state and timer fields of a DoFn and
// binds each to its id, the field's name. Only a pointer to a struct can
// be bound (the fields are set in place, before the DoFn is copied per
// worker thread); a struct value with such fields is an error.
func declareStateful(fn any) (states []graph.StateSpec, timers []graph.TimerSpec, err error) {
	v := reflect.ValueOf(fn)
	if v.Kind() == reflect.Struct {
		if hasStatefulFields(v.Type()) {
			return nil, nil, fmt.Errorf("DoFn %v declares state or timers: pass a pointer to it", v.Type())
		}
		return nil, nil, nil
	}
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil, nil, nil
	}
	s := v.Elem()
	for i := range s.NumField() {
		f := s.Type().Field(i)
		if !f.IsExported() {
			if isStatefulField(f.Type) {
				return nil, nil, fmt.Errorf("DoFn field %s declares state or a timer: export it", f.Name)
			}
			continue
		}
		switch d := s.Field(i).Addr().Interface().(type) {
		case stateDecl:
			spec, err := d.declareState(f.Name)
			if err != nil {
				return nil, nil, err
			}
			states = append(states, spec)
		case timerDecl:
			timers = append(timers, d.declareTimer(f.Name))
		}
	}
	return states, timers, nil
}

var (
	stateDeclType = reflect.TypeFor[stateDecl]()
	timerDeclType = reflect.TypeFor[timerDecl]()
)

// isStatefulField reports whether a field of type t declares state or a
// timer.
func isStatefulField(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return p.Implements(stateDeclType) || p.Implements(timerDeclType)
}

func hasStatefulFields(t reflect.Type) bool {
	for i := range t.NumField() {
		if isStatefulField(t.Field(i).Type) {
			return true
		}
	}
	return false
}

var sideInputViewType = reflect.TypeFor[SideInputView]()

// undeclaredSideInputs returns the names of the fields of a struct DoFn
// that hold a side input view which declared (the WithSideInput options)
// lacks: reading one would fail at run time, on every element, so
// construction refuses it. A DoFn that wraps another (TryParDo's) is
// checked through it.
func undeclaredSideInputs(fn any, declared []sideView) []string {
	if w, ok := fn.(interface{ wrapped() any }); ok {
		fn = w.wrapped()
	}
	v := reflect.ValueOf(fn)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	ok := map[uintptr]bool{}
	for _, d := range declared {
		if dv := reflect.ValueOf(d); dv.Kind() == reflect.Pointer {
			ok[dv.Pointer()] = true
		}
	}
	var missing []string
	for i := range v.NumField() {
		f := v.Field(i)
		if f.Kind() != reflect.Pointer || f.IsNil() || !f.Type().Implements(sideInputViewType) {
			continue
		}
		if !ok[f.Pointer()] {
			missing = append(missing, v.Type().Field(i).Name)
		}
	}
	return missing
}
