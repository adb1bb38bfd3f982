// Package translate turns a pipeline built with package sdk into Beam
// Runner API protos (pipepb.Pipeline) and back.
//
// # Identifiers
//
// Transform and PCollection ids are the construction graph's ("t3", "c5"),
// so they are stable for a deterministic pipeline; coder and windowing
// strategy ids are derived from their content order of first use.
//
// # Payloads
//
// User functions are not serialized. A ParDo's DoFn spec has URN
// beamgo:dofn:v1 and a JSON payload (decode.FnPayload) naming the transform's
// unique name and describing the function; a CombinePerKey's CombineFn spec
// has URN beamgo:combinefn:v1 with the same payload for the composite. A
// worker looks the function up by unique name in the pipeline it holds (see
// package sdk's doc).
package translate

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/sdkaccess"
	"github.com/beamgo-dev/beamgo/proto/decode"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/coder"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// DefaultEnvironmentID is the id of the environment our transforms run in.
const DefaultEnvironmentID = "beamgo"

// Options configure translation. The zero value is usable.
type Options struct {
	// Environment is the environment of our transforms; nil means
	// beam:env:default:v1 with this SDK's capabilities.
	Environment *pipepb.Environment
}

// ToProto translates p into a Beam pipeline proto. It fails with the
// pipeline's construction errors, if any.
func ToProto(p *sdk.Pipeline, opts *Options) (*pipepb.Pipeline, error) {
	if err := p.Err(); err != nil {
		return nil, err
	}
	return GraphToProto(sdkaccess.Graph(p), opts)
}

// GraphToProto translates a construction graph into a Beam pipeline proto.
func GraphToProto(g *graph.Graph, opts *Options) (*pipepb.Pipeline, error) {
	if opts == nil {
		opts = &Options{}
	}
	t := &toProto{
		comps: &pipepb.Components{
			Transforms:          map[string]*pipepb.PTransform{},
			Pcollections:        map[string]*pipepb.PCollection{},
			WindowingStrategies: map[string]*pipepb.WindowingStrategy{},
			Coders:              map[string]*pipepb.Coder{},
			Environments:        map[string]*pipepb.Environment{},
		},
		coderIDs: map[string]string{},
		wsIDs:    map[string]string{},
	}
	env := opts.Environment
	if env == nil {
		env = DefaultEnvironment()
	}
	t.comps.Environments[DefaultEnvironmentID] = env
	// Walk in id order, so that a graph rebuilt by FromProto gives the same
	// coder and windowing strategy ids.
	for _, c := range byID(g.Collections, func(c *graph.Collection) string { return c.ID }) {
		if err := t.collection(c); err != nil {
			return nil, err
		}
	}
	var roots []string
	for _, tr := range byID(g.Transforms, func(t *graph.Transform) string { return t.ID }) {
		pt, err := t.transform(tr)
		if err != nil {
			return nil, fmt.Errorf("translate: transform %q: %w", tr.UniqueName, err)
		}
		t.comps.Transforms[tr.ID] = pt
		if tr.Parent == nil {
			roots = append(roots, tr.ID)
		}
	}
	return &pipepb.Pipeline{Components: t.comps, RootTransformIds: roots, Requirements: slices.Sorted(maps.Keys(t.requirements))}, nil
}

// DefaultEnvironment returns the environment of our SDK's transforms when
// no runner-specific one is given.
func DefaultEnvironment() *pipepb.Environment {
	return &pipepb.Environment{
		Urn:          urns.EnvDefault,
		Capabilities: Capabilities(),
	}
}

// Capabilities lists the coders and protocols our SDK harness supports.
func Capabilities() []string {
	return []string{
		urns.CoderBytes, urns.CoderStringUTF8, urns.CoderKV, urns.CoderBool, urns.CoderVarInt,
		urns.CoderDouble, urns.CoderIterable, urns.CoderTimer, urns.CoderIntervalWindow,
		urns.CoderLengthPrefix, urns.CoderGlobalWindow, urns.CoderWindowedValue,
		urns.CoderParamWindowedValue, urns.CoderRow, urns.CoderNullable, urns.CoderCustom,
		urns.ProtocolProgressReporting, urns.ProtocolMultiCoreBundleProcessing,
		urns.ProtocolHarnessMonitoringInfos,
	}
}

type toProto struct {
	comps    *pipepb.Components
	coderIDs map[string]string // spec string -> id
	wsIDs    map[string]string // windowing key -> id
	// requirements are the pipeline requirements the transforms need.
	requirements map[string]bool
}

// coder adds the coder of spec (and its components) and returns its id.
func (t *toProto) coder(s coder.Spec) string {
	key := s.String() + "|" + strconv.Quote(string(s.Payload))
	if id, ok := t.coderIDs[key]; ok {
		return id
	}
	comps := make([]string, len(s.Components))
	for i, c := range s.Components {
		comps[i] = t.coder(c)
	}
	id := "coder" + strconv.Itoa(len(t.coderIDs))
	t.coderIDs[key] = id
	t.comps.Coders[id] = &pipepb.Coder{
		Spec:              &pipepb.FunctionSpec{Urn: s.URN, Payload: s.Payload},
		ComponentCoderIds: comps,
	}
	return id
}

func (t *toProto) windowing(w graph.Windowing) (string, error) {
	key := w.Key()
	if id, ok := t.wsIDs[key]; ok {
		return id, nil
	}
	ws, err := WindowingStrategy(w.Strategy)
	if err != nil {
		return "", err
	}
	wc := coder.GlobalWindow().Spec()
	if w.Fn.Kind != window.KindGlobal {
		wc = coder.IntervalWindow().Spec()
	}
	ws.WindowCoderId = t.coder(wc)
	id := "ws" + strconv.Itoa(len(t.wsIDs))
	t.wsIDs[key] = id
	t.comps.WindowingStrategies[id] = ws
	return id, nil
}

func (t *toProto) collection(c *graph.Collection) error {
	ws, err := t.windowing(c.Windowing)
	if err != nil {
		return fmt.Errorf("translate: PCollection %q: %w", c.Name, err)
	}
	bounded := pipepb.IsBounded_BOUNDED
	if !c.Bounded {
		bounded = pipepb.IsBounded_UNBOUNDED
	}
	t.comps.Pcollections[c.ID] = &pipepb.PCollection{
		UniqueName:          c.Name,
		CoderId:             t.coder(c.Coder.Spec()),
		IsBounded:           bounded,
		WindowingStrategyId: ws,
	}
	return nil
}

func (t *toProto) transform(tr *graph.Transform) (*pipepb.PTransform, error) {
	pt := &pipepb.PTransform{
		UniqueName: tr.UniqueName,
		Inputs:     map[string]string{},
		Outputs:    map[string]string{},
	}
	for _, in := range tr.Inputs {
		pt.Inputs[in.Local] = in.Coll.ID
	}
	for _, out := range tr.Outputs {
		pt.Outputs[out.Local] = out.Coll.ID
	}
	for _, c := range tr.Children {
		pt.Subtransforms = append(pt.Subtransforms, c.ID)
	}
	var err error
	switch tr.Kind {
	case graph.KindImpulse:
		pt.Spec = &pipepb.FunctionSpec{Urn: urns.TransformImpulse}
	case graph.KindGroupByKey:
		pt.Spec = &pipepb.FunctionSpec{Urn: urns.TransformGroupByKey}
	case graph.KindFlatten:
		pt.Spec = &pipepb.FunctionSpec{Urn: urns.TransformFlatten}
	case graph.KindWindowInto:
		pt.Spec, err = windowIntoSpec(tr)
		pt.EnvironmentId = DefaultEnvironmentID
	case graph.KindParDo:
		pt.Spec, err = t.parDoSpec(tr)
		pt.EnvironmentId = DefaultEnvironmentID
	case graph.KindCombinePerKey:
		if tr.Combine != nil {
			pt.Spec, err = t.combineSpec(tr)
			pt.EnvironmentId = DefaultEnvironmentID
		}
	case graph.KindReshuffle:
		pt.Spec = &pipepb.FunctionSpec{Urn: urns.TransformReshuffle}
	case graph.KindTestStream:
		pt.Spec, err = t.testStreamSpec(tr)
	case graph.KindComposite:
	default:
		err = fmt.Errorf("unknown transform kind %d", tr.Kind)
	}
	return pt, err
}

func fnPayload(tr *graph.Transform) ([]byte, error) {
	fp := decode.FnPayload{Transform: tr.UniqueName}
	if tr.Fn != nil {
		fp.Type, fp.Config = tr.Fn.GoType, tr.Fn.Config
	}
	return json.Marshal(fp)
}

func (t *toProto) parDoSpec(tr *graph.Transform) (*pipepb.FunctionSpec, error) {
	payload, err := fnPayload(tr)
	if err != nil {
		return nil, err
	}
	pd := &pipepb.ParDoPayload{
		DoFn: &pipepb.FunctionSpec{Urn: urns.PayloadDoFn, Payload: payload},
	}
	for _, in := range tr.SideInputs() {
		if pd.SideInputs == nil {
			pd.SideInputs = map[string]*pipepb.SideInput{}
		}
		pattern := urns.SideInputIterable
		if in.Side.Pattern == "multimap" {
			pattern = urns.SideInputMultimap
		}
		pd.SideInputs[in.Local] = &pipepb.SideInput{
			AccessPattern:   &pipepb.FunctionSpec{Urn: pattern},
			ViewFn:          &pipepb.FunctionSpec{Urn: urns.PayloadViewFn},
			WindowMappingFn: &pipepb.FunctionSpec{Urn: urns.PayloadWindowMappingFn},
		}
	}
	if err := t.statefulSpecs(tr, pd); err != nil {
		return nil, err
	}
	b, err := marshal(pd)
	if err != nil {
		return nil, err
	}
	return &pipepb.FunctionSpec{Urn: urns.TransformParDo, Payload: b}, nil
}

func (t *toProto) combineSpec(tr *graph.Transform) (*pipepb.FunctionSpec, error) {
	payload, err := fnPayload(tr)
	if err != nil {
		return nil, err
	}
	cp := &pipepb.CombinePayload{
		CombineFn:          &pipepb.FunctionSpec{Urn: urns.PayloadCombineFn, Payload: payload},
		AccumulatorCoderId: t.coder(tr.Combine.AccumCoder.Spec()),
	}
	b, err := marshal(cp)
	if err != nil {
		return nil, err
	}
	return &pipepb.FunctionSpec{Urn: urns.TransformCombinePerKey, Payload: b}, nil
}

func windowIntoSpec(tr *graph.Transform) (*pipepb.FunctionSpec, error) {
	fn, err := windowFnSpec(*tr.Window)
	if err != nil {
		return nil, err
	}
	b, err := marshal(&pipepb.WindowIntoPayload{WindowFn: fn})
	if err != nil {
		return nil, err
	}
	return &pipepb.FunctionSpec{Urn: urns.TransformWindowInto, Payload: b}, nil
}

// windowFnSpec encodes a window function with Beam's standard URNs and payloads.
func windowFnSpec(f window.Fn) (*pipepb.FunctionSpec, error) {
	var msg proto.Message
	var urn string
	switch f.Kind {
	case window.KindGlobal:
		return &pipepb.FunctionSpec{Urn: urns.WindowFnGlobal}, nil
	case window.KindFixed:
		urn, msg = urns.WindowFnFixed, &pipepb.FixedWindowsPayload{Size: durationpb.New(f.Size), Offset: timestamppb.New(window.Time(f.Offset.Milliseconds()).ToTime())}
	case window.KindSliding:
		urn, msg = urns.WindowFnSliding, &pipepb.SlidingWindowsPayload{Size: durationpb.New(f.Size), Period: durationpb.New(f.Period), Offset: timestamppb.New(window.Time(f.Offset.Milliseconds()).ToTime())}
	case window.KindSessions:
		urn, msg = urns.WindowFnSession, &pipepb.SessionWindowsPayload{GapSize: durationpb.New(f.Gap)}
	default:
		return nil, fmt.Errorf("unknown window function %q", f.Kind)
	}
	b, err := marshal(msg)
	if err != nil {
		return nil, err
	}
	return &pipepb.FunctionSpec{Urn: urn, Payload: b}, nil
}

// byID returns xs sorted by natural id order ("t2" before "t10").
func byID[T any](xs []T, id func(T) string) []T {
	out := append([]T(nil), xs...)
	slices.SortStableFunc(out, func(a, b T) int { return naturalCompare(id(a), id(b)) })
	return out
}

// naturalCompare orders ids by length, then bytes: "c2" < "c10".
func naturalCompare(a, b string) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// marshal encodes payloads deterministically (map fields sorted), so equal
// pipelines translate to equal bytes.
func marshal(m proto.Message) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}
