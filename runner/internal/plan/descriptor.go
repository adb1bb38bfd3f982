package plan

import (
	"fmt"

	"github.com/beamgo-dev/beamgo/proto/urns"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
)

// Wiring tells a runner how data enters and leaves the bundles of a stage
// described by Stage.Descriptor.
type Wiring struct {
	// Source is the data source transform (beam:runner:source:v1) that
	// produces the stage's Input.Target. The runner sends it the impulse
	// element, the groups, or the elements of every PCollection in
	// Input.PCollections, all encoded with the source's coder.
	Source Port
	// Sinks lists one data sink transform (beam:runner:sink:v1) per
	// element of the stage's Outputs, in that order.
	Sinks []Port
	// SideInputs lists the stage's side inputs, in the order of
	// Stage.SideInputs, with the coders the harness reads them with.
	SideInputs []SideInputPort
}

// Port is a data source or sink transform of a descriptor.
type Port struct {
	// Transform is the id of the source or sink transform.
	Transform string
	// PCollection is the PCollection the source produces (the stage's
	// Input.Target) or the sink consumes (an output of the stage).
	PCollection string
	// Coder is the id, among the descriptor's coders, of the windowed value
	// coder of the data on the wire.
	Coder string
}

// SideInputPort tells how the harness decodes the values of a side input
// that the runner serves over the state API.
type SideInputPort struct {
	SideInput
	// Coder is the id, among the descriptor's coders, of the element coder,
	// with coders a runner may not know wrapped in a length prefix. For a
	// multimap side input it is a KV coder of key and value.
	Coder string
	// WindowCoder is the id of the coder of the side input's windows.
	WindowCoder string
}

// runnerLeafCoders are coders whose encoded length a runner can find without
// knowing more (and so need no length prefix).
var runnerLeafCoders = map[string]bool{
	urns.CoderBytes: true, urns.CoderStringUTF8: true, urns.CoderLengthPrefix: true, urns.CoderVarInt: true,
	urns.CoderDouble: true, urns.CoderBool: true, urns.CoderGlobalWindow: true, urns.CoderIntervalWindow: true,
}

// runnerCompositeCoders are coders a runner can walk through if it can walk
// through their components.
var runnerCompositeCoders = map[string]bool{
	urns.CoderKV: true, urns.CoderIterable: true, urns.CoderTimer: true, urns.CoderWindowedValue: true,
	urns.CoderParamWindowedValue: true, urns.CoderStateBackedIterable: true, urns.CoderCustomWindow: true,
	urns.CoderShardedKey: true, urns.CoderNullable: true,
}

// Descriptor returns the Fn API ProcessBundleDescriptor, with the given id,
// that executes the stage in an SDK harness, and the Wiring a runner needs
// to route data to and from it. The descriptor holds the stage's transforms
// and every PCollection, coder, windowing strategy and environment they
// refer to, plus:
//
//   - a data source transform producing Input.Target, and a data sink per
//     output, whose RemoteGrpcPort names dataEndpoint and a windowed value
//     coder. Element coders the runner may not understand (say, a row or a
//     beamgo custom coder) are wrapped in a length prefix within that coder,
//     so that the runner can split the data into elements and, for a
//     grouping, find the key bytes, without decoding values;
//   - side inputs rewired to PCollections with such length-prefixed coders,
//     since the runner serves their elements as it received them; the state
//     API is at stateEndpoint.
//
// Descriptor does not modify the stage or the plan; calls may run
// concurrently.
func (s *Stage) Descriptor(plan *Plan, id string, dataEndpoint, stateEndpoint *pipepb.ApiServiceDescriptor) (*fnpb.ProcessBundleDescriptor, *Wiring, error) {
	b := newDescBuilder(plan.Components, id)
	b.known = plan.knownCoders
	w, err := b.build(s, dataEndpoint)
	if err != nil {
		return nil, nil, fmt.Errorf("plan: descriptor of stage %s: %w", s.ID, err)
	}
	b.desc.StateApiServiceDescriptor = stateEndpoint
	if b.timers {
		b.desc.TimerApiServiceDescriptor = dataEndpoint
	}
	return b.desc, w, nil
}

// descBuilder assembles one ProcessBundleDescriptor.
type descBuilder struct {
	comps  *pipepb.Components
	desc   *fnpb.ProcessBundleDescriptor
	lpMemo map[string]string    // coder id -> length-prefixed form
	lpBusy map[string]bool      // coders being length-prefixed, against cycles
	wvMemo map[[2]string]string // element and window coder -> windowed value coder
	listLP map[string]string    // ordered list element coder -> its length prefix
	timers bool                 // whether a transform uses timers
	known  map[string]bool      // extra coder URNs the runner knows
	// produced holds the PCollections the descriptor's transforms output,
	// once the transforms and ports are in.
	produced map[string]bool
}

func newDescBuilder(comps *pipepb.Components, id string) *descBuilder {
	return &descBuilder{
		comps: comps,
		desc: &fnpb.ProcessBundleDescriptor{
			Id:                  id,
			Transforms:          map[string]*pipepb.PTransform{},
			Pcollections:        map[string]*pipepb.PCollection{},
			WindowingStrategies: map[string]*pipepb.WindowingStrategy{},
			Coders:              map[string]*pipepb.Coder{},
			Environments:        map[string]*pipepb.Environment{},
		},
		lpMemo: map[string]string{},
		lpBusy: map[string]bool{},
		wvMemo: map[[2]string]string{},
		listLP: map[string]string{},
	}
}

// build fills the descriptor for stage s.
func (b *descBuilder) build(s *Stage, dataEndpoint *pipepb.ApiServiceDescriptor) (*Wiring, error) {
	for _, id := range s.Transforms {
		if err := b.addTransform(id); err != nil {
			return nil, err
		}
	}
	w := &Wiring{}
	var err error
	if w.Source, err = b.addSource(s, dataEndpoint); err != nil {
		return nil, err
	}
	for _, o := range s.Outputs {
		port, err := b.addPort(string(s.ID)+"/sink/"+o, urns.TransformSink, o, dataEndpoint)
		if err != nil {
			return nil, err
		}
		w.Sinks = append(w.Sinks, port)
	}
	b.produced = b.outputsOfTransforms()
	for _, si := range s.SideInputs {
		port, err := b.rewireSideInput(si)
		if err != nil {
			return nil, err
		}
		w.SideInputs = append(w.SideInputs, port)
	}
	b.pruneUnused()
	return w, nil
}

// addSource adds the data source producing the stage's Target, whose
// element coder in the descriptor becomes its length-prefixed form.
func (b *descBuilder) addSource(s *Stage, dataEndpoint *pipepb.ApiServiceDescriptor) (Port, error) {
	target := s.Input.Target
	if err := b.addPCollection(target); err != nil {
		return Port{}, err
	}
	lp, err := b.lp(b.comps.GetPcollections()[target].GetCoderId())
	if err != nil {
		return Port{}, err
	}
	b.desc.Pcollections[target].CoderId = lp
	return b.addPort(string(s.ID)+"/source", urns.TransformSource, target, dataEndpoint)
}

// addPort adds a data source (producing p) or sink (consuming p) transform
// with a fresh id based on base, and returns its port.
func (b *descBuilder) addPort(base, urn, p string, dataEndpoint *pipepb.ApiServiceDescriptor) (Port, error) {
	wire, err := b.wireCoder(p)
	if err != nil {
		return Port{}, err
	}
	payload, err := proto.Marshal(&fnpb.RemoteGrpcPort{ApiServiceDescriptor: dataEndpoint, CoderId: wire})
	if err != nil {
		return Port{}, err
	}
	id := b.freshTransformID(base)
	t := &pipepb.PTransform{UniqueName: id, Spec: &pipepb.FunctionSpec{Urn: urn, Payload: payload}}
	if urn == urns.TransformSource {
		t.Outputs = map[string]string{"o0": p}
	} else {
		t.Inputs = map[string]string{"i0": p}
	}
	b.desc.Transforms[id] = t
	return Port{Transform: id, PCollection: p, Coder: wire}, nil
}

// rewireSideInput points side input si at a PCollection whose coder is the
// length-prefixed form of the original's, adding one if needed. It adds one
// as well when the stage produces the PCollection (a transform may read its
// main input as a side input too), so that a side input never has a
// producer within the descriptor.
func (b *descBuilder) rewireSideInput(si SideInput) (SideInputPort, error) {
	pc := b.comps.GetPcollections()[si.PCollection]
	lp, err := b.lp(pc.GetCoderId())
	if err != nil {
		return SideInputPort{}, err
	}
	if lp != pc.GetCoderId() || b.produced[si.PCollection] {
		side := proto.Clone(pc).(*pipepb.PCollection)
		side.CoderId = lp
		id := b.freshPCollectionID(si.PCollection + "/side")
		b.desc.Pcollections[id] = side
		b.desc.Transforms[si.Transform].Inputs[si.Local] = id
	}
	ws := b.comps.GetWindowingStrategies()[pc.GetWindowingStrategyId()]
	return SideInputPort{SideInput: si, Coder: lp, WindowCoder: ws.GetWindowCoderId()}, nil
}

// outputsOfTransforms returns the PCollections the transforms of the
// descriptor output.
func (b *descBuilder) outputsOfTransforms() map[string]bool {
	outs := map[string]bool{}
	for _, t := range b.desc.Transforms {
		for _, out := range t.GetOutputs() {
			outs[out] = true
		}
	}
	return outs
}

// pruneUnused removes PCollections no transform of the descriptor refers
// to any more (side inputs replaced by their rewired form).
func (b *descBuilder) pruneUnused() {
	used := map[string]bool{}
	for _, t := range b.desc.Transforms {
		for _, p := range t.GetInputs() {
			used[p] = true
		}
		for _, p := range t.GetOutputs() {
			used[p] = true
		}
	}
	for p := range b.desc.Pcollections {
		if !used[p] {
			delete(b.desc.Pcollections, p)
		}
	}
}
