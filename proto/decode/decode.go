// Package decode reads what the runner side needs from Beam model protos:
// coder specs resolved into trees, the function payloads of this SDK's
// transforms, window functions, windowing strategies and triggers (as
// sdk/window's plain values), and TestStream scripts. It holds
// no user code and imports neither the user SDK (package sdk) nor the
// translation of an sdk.Pipeline (proto/translate), so runners, the bundle
// executor and the job server can decode protos without linking either.
//
// Its inputs may come from untrusted pipelines or descriptors: every
// function bounds the work it does and returns an error, prefixed
// "decode: ", for anything it cannot read.
package decode

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/beamgo-dev/beamgo/internal/coder"
	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/proto/validate"
)

// maxSpecDepth and maxSpecSize bound the trees CoderSpec builds: validate's
// limits, with room for the coders planning and descriptors wrap around a
// pipeline's coders (windowed values, length prefixes, KVs of
// restrictions).
const (
	maxSpecDepth = validate.MaxCoderDepth + 16
	maxSpecSize  = 2*validate.MaxCoderSize + 16
)

// CoderSpec returns the coder spec of coder id among coders, with its
// components resolved recursively into a tree. The coders may come from an
// untrusted pipeline or descriptor, so the tree is bounded: components
// nested much deeper than validate.MaxCoderDepth levels (a cycle, or a
// chain of millions of coders) and trees of many more than
// validate.MaxCoderSize coders (components sharing subcoders expand
// exponentially) are errors.
func CoderSpec(coders map[string]*pipepb.Coder, id string) (coder.Spec, error) {
	budget := maxSpecSize
	s, err := coderSpec(coders, id, 0, &budget)
	if budget < 0 {
		return coder.Spec{}, fmt.Errorf("decode: coder %q: components expand to more than %d coders", id, maxSpecSize)
	}
	return s, err
}

// coderSpec resolves coder id at the given depth below the root, taking
// one coder from budget for each node of the tree; CoderSpec reports an
// exhausted budget.
func coderSpec(coders map[string]*pipepb.Coder, id string, depth int, budget *int) (coder.Spec, error) {
	if depth > maxSpecDepth {
		return coder.Spec{}, fmt.Errorf("decode: coder %q: components nest deeper than %d levels (a cycle?)", id, maxSpecDepth)
	}
	if *budget--; *budget < 0 {
		return coder.Spec{}, errors.New("decode: coder budget exhausted")
	}
	c, ok := coders[id]
	if !ok {
		return coder.Spec{}, fmt.Errorf("decode: missing coder %q", id)
	}
	s := coder.Spec{URN: c.GetSpec().GetUrn(), Payload: c.GetSpec().GetPayload()}
	for _, cid := range c.GetComponentCoderIds() {
		cs, err := coderSpec(coders, cid, depth+1, budget)
		if err != nil {
			return coder.Spec{}, err
		}
		s.Components = append(s.Components, cs)
	}
	return s, nil
}

// FnPayload is the JSON payload of beamgo:dofn:v1 and beamgo:combinefn:v1
// specs, which proto/translate writes and Fn reads.
type FnPayload struct {
	// Transform is the unique name of the transform that holds the function.
	Transform string `json:"transform"`
	// Type is the function's Go type.
	Type string `json:"type"`
	// Config is the JSON of a struct DoFn's exported fields.
	Config string `json:"config,omitempty"`
}

// Fn decodes the JSON payload of a beamgo:dofn:v1 or beamgo:combinefn:v1
// spec.
func Fn(b []byte) (FnPayload, error) {
	var fp FnPayload
	if err := json.Unmarshal(b, &fp); err != nil {
		return FnPayload{}, fmt.Errorf("decode: function payload: %w", err)
	}
	if fp.Transform == "" {
		return FnPayload{}, errors.New("decode: function payload names no transform")
	}
	return fp, nil
}

// WindowFn decodes a standard window function spec (global, fixed,
// sliding or session windows).
func WindowFn(s *pipepb.FunctionSpec) (window.Fn, error) {
	switch s.GetUrn() {
	case urns.WindowFnGlobal:
		return window.GlobalFn(), nil
	case urns.WindowFnFixed:
		var p pipepb.FixedWindowsPayload
		if err := proto.Unmarshal(s.GetPayload(), &p); err != nil {
			return window.Fn{}, fmt.Errorf("decode: fixed windows payload: %w", err)
		}
		f := window.FixedFn(p.GetSize().AsDuration())
		f.Offset = offsetOf(p.GetOffset())
		return f, nil
	case urns.WindowFnSliding:
		var p pipepb.SlidingWindowsPayload
		if err := proto.Unmarshal(s.GetPayload(), &p); err != nil {
			return window.Fn{}, fmt.Errorf("decode: sliding windows payload: %w", err)
		}
		f := window.SlidingFn(p.GetSize().AsDuration(), p.GetPeriod().AsDuration())
		f.Offset = offsetOf(p.GetOffset())
		return f, nil
	case urns.WindowFnSession:
		var p pipepb.SessionWindowsPayload
		if err := proto.Unmarshal(s.GetPayload(), &p); err != nil {
			return window.Fn{}, fmt.Errorf("decode: session windows payload: %w", err)
		}
		return window.SessionsFn(p.GetGapSize().AsDuration()), nil
	}
	return window.Fn{}, fmt.Errorf("decode: unsupported window function %q", s.GetUrn())
}

// offsetOf returns a window offset, a timestamp after the epoch, as a
// duration of whole milliseconds.
func offsetOf(ts *timestamppb.Timestamp) time.Duration {
	if ts == nil {
		return 0
	}
	return time.Duration(ts.AsTime().UnixMilli()) * time.Millisecond
}
