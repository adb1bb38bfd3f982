package engine

import (
	"errors"
	"fmt"
	"io"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/internal/coder"
	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/proto/decode"
	"github.com/beamgo-dev/beamgo/proto/urns"
)

// rawCoder is a coder of the encoded bytes of another coder: Decode returns
// the encoding of one value (a subslice, no copy) and Encode appends it. It
// lets the runner move and group elements without decoding them.
type rawCoder struct {
	spec coder.Spec
	any  coder.Any
}

func newRawCoder(spec coder.Spec) (rawCoder, error) {
	a, err := coder.FromSpec(spec)
	if err != nil {
		return rawCoder{}, err
	}
	return rawCoder{spec: spec, any: a}, nil
}

func (r rawCoder) Encode(dst, v []byte) []byte { return append(dst, v...) }
func (r rawCoder) Decode(src []byte) ([]byte, int, error) {
	n, err := r.any.Skip(src)
	if err != nil {
		return nil, 0, err
	}
	return src[:n:n], n, nil
}
func (r rawCoder) Spec() coder.Spec    { return r.spec }
func (r rawCoder) Deterministic() bool { return r.any.Deterministic() }

// wire is how the elements of one data port are encoded: windowed values of
// an element coder, with global or interval windows.
type wire struct {
	wv coder.Coder[window.Value[[]byte]]
	// wvr is wv, decoding into windows it is given.
	wvr      coder.WindowsReuser[[]byte]
	elem     coder.Spec
	interval bool
	// keySkip is set for KV elements: the length of the key at the front.
	keySkip func([]byte) (int, error)
}

// portWire returns the wire of the windowed value coder id among coders.
func portWire(coders map[string]*pipepb.Coder, id string) (*wire, error) {
	spec, err := decode.CoderSpec(coders, id)
	if err != nil {
		return nil, err
	}
	if spec.URN != urns.CoderWindowedValue || len(spec.Components) != 2 {
		return nil, fmt.Errorf("engine: port coder %q is %s, want a windowed value coder", id, spec.URN)
	}
	elem, err := newRawCoder(spec.Components[0])
	if err != nil {
		return nil, fmt.Errorf("engine: port coder %q: %w", id, err)
	}
	w := &wire{elem: spec.Components[0]}
	switch spec.Components[1].URN {
	case urns.CoderGlobalWindow:
		w.wv = coder.NewWindowedValue[[]byte](elem, coder.GlobalWindow())
	case urns.CoderIntervalWindow:
		w.wv = coder.NewWindowedValue[[]byte](elem, coder.IntervalWindow())
		w.interval = true
	default:
		return nil, fmt.Errorf("engine: port coder %q: window coder %s is not supported", id, spec.Components[1].URN)
	}
	w.wvr = w.wv.(coder.WindowsReuser[[]byte])
	if elem.spec.URN == urns.CoderKV && len(elem.spec.Components) == 2 {
		k, err := coder.FromSpec(elem.spec.Components[0])
		if err != nil {
			return nil, fmt.Errorf("engine: port coder %q key: %w", id, err)
		}
		w.keySkip = k.Skip
	}
	return w, nil
}

// splitPrefix returns the encoded elements at the front of chunk, a part of
// a stream of concatenated windowed values, and the rest of chunk: the
// start of an element that the stream's next part completes.
func (w *wire) splitPrefix(chunk []byte) (elems [][]byte, rest []byte, err error) {
	for len(chunk) > 0 {
		_, n, err := w.wv.Decode(chunk)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return elems, chunk, nil
		}
		if err != nil {
			return nil, nil, err
		}
		elems = append(elems, chunk[:n:n])
		chunk = chunk[n:]
	}
	return elems, nil, nil
}

// split returns the encoded elements of a chunk of concatenated windowed values.
func (w *wire) split(chunk []byte) ([][]byte, error) {
	var out [][]byte
	for len(chunk) > 0 {
		_, n, err := w.wv.Decode(chunk)
		if err != nil {
			return nil, err
		}
		out = append(out, chunk[:n:n])
		chunk = chunk[n:]
	}
	return out, nil
}
