package source

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"strings"

	"github.com/beamgo-dev/beamgo/rangetracker"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Option configures Read.
type Option func(*readOptions)

type readOptions struct {
	name    string
	desired int64
}

// Name sets the name of the Read transform in its scope (default "Read").
func Name(name string) Option { return func(o *readOptions) { o.name = name } }

// DesiredBundleSize sets the size, in the source's EstimateSize units,
// that Read asks Split for, instead of DesiredBundleSizeFor(EstimateSize).
func DesiredBundleSize(n int64) Option { return func(o *readOptions) { o.desired = n } }

// DesiredBundleSizeFor returns the bundle size that Read asks a source of
// estimated size total to split into, as Beam does: max(1 MiB,
// 1000*sqrt(total)), or 64 MiB if the size is unknown (negative). Large
// inputs get about sqrt(total)/1000 bundles, few enough to schedule and
// many enough to balance; dynamic splitting corrects the rest.
func DesiredBundleSizeFor(total int64) int64 {
	const mib = 1 << 20
	if total < 0 {
		return 64 * mib
	}
	return max(mib, int64(1000*math.Sqrt(float64(total))))
}

// restriction is the element that carries one bundle of a source from the
// initial split to its reader, and the halves of a dynamic split back to
// the runner: the encoded (sub-)source and the encoded positions [Start,
// Stop). Its exported fields give it a row coder.
type restriction struct {
	// Root says that the bundle reads the source given to Read itself.
	Root bool
	// Source is the encoded sub-source when Root is false.
	Source []byte
	// Start and Stop are the encoded positions.
	Start, Stop []byte
	// Weight is the bundle's estimated size.
	Weight float64
}

// Read returns the records of src. It expands into Impulse, a ParDo that
// splits src into bundles of about DesiredBundleSizeFor(EstimateSize) and
// emits one restriction per bundle, a Reshuffle that spreads them over
// workers, and a ParDo that reads each restriction through a
// rangetracker.RestrictionTracker. That reader hands its tracker to the
// runner (sdk.RegisterSplittable), so a runner can split a running read and
// schedule the residual as a new element of the same ParDo.
//
// Restrictions must travel between processes, so sub-sources are encoded:
// with the source's Codec if it has one, otherwise as the JSON of their
// exported fields, decoded into the concrete type of src. A source that
// does not survive that round trip is a construction error naming its type;
// a sub-source that does not is a run-time error.
func Read[T, P any](s sdk.Scope, src Bounded[T, P], opts ...Option) sdk.PCollection[T] {
	o := readOptions{name: "Read"}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if src == nil || reflect.ValueOf(src).Kind() == reflect.Pointer && reflect.ValueOf(src).IsNil() {
		fail(s, o.name, "source is nil")
		return sdk.PCollection[T]{}
	}
	codec, err := newSourceCodec(src)
	if err != nil {
		fail(s, o.name, "%v", err)
		return sdk.PCollection[T]{}
	}
	rs := s.Scope(o.name)
	cfg := &readConfig[T, P]{codec: codec, desired: o.desired}
	typ := fmt.Sprintf("%T", src)
	imp := sdk.Impulse(rs)
	parts := sdk.ParDo(rs, sdk.DoFn[[]byte, restriction](&splitFn[T, P]{SourceType: typ, Source: codec.describe(), DesiredBundleSize: o.desired, cfg: cfg}), imp, sdk.Name("Split"))
	shuffled := sdk.Reshuffle(rs, parts)
	if !shuffled.IsValid() {
		return sdk.PCollection[T]{}
	}
	cfg.in = shuffled
	return sdk.ParDo(rs, sdk.DoFn[restriction, T](&readFn[T, P]{SourceType: typ, cfg: cfg}), shuffled, sdk.Name("ReadRange"))
}

// fail records a construction error on s's pipeline, naming the transform
// and the first caller outside the io packages (a transform of another io
// package built on Read is not the caller users look for).
func fail(s sdk.Scope, name, format string, args ...any) {
	s.Fail(name, &sdk.ConstructionError{Location: callerOutsideIO(), Err: fmt.Errorf("source: "+format, args...)})
}

func callerOutsideIO() string {
	pcs := make([]uintptr, 16)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, "github.com/beamgo-dev/beamgo/io/") || strings.HasSuffix(f.File, "_test.go") {
			file := f.File
			if i := strings.LastIndex(file, "/"); i >= 0 {
				file = file[i+1:]
			}
			return fmt.Sprintf("%s:%d", file, f.Line)
		}
		if !more {
			return "unknown"
		}
	}
}

// readConfig is what the split and read DoFns of one Read share. It is
// immutable once the pipeline is built.
type readConfig[T, P any] struct {
	codec   *sourceCodec[T, P]
	desired int64
	// in is the read ParDo's input, whose coder encodes residuals.
	in sdk.PCollection[restriction]
}

// splitFn splits the source into restrictions. Its exported fields
// describe the source in the pipeline's protos.
type splitFn[T, P any] struct {
	SourceType        string
	Source            string
	DesiredBundleSize int64
	cfg               *readConfig[T, P]
}

func (f *splitFn[T, P]) ProcessElement(ctx context.Context, _ []byte, emit func(restriction)) error {
	src := f.cfg.codec.root
	size := f.cfg.desired
	if size <= 0 {
		est, err := src.EstimateSize(ctx)
		if err != nil {
			return fmt.Errorf("source: %s: EstimateSize: %w", f.SourceType, err)
		}
		size = DesiredBundleSizeFor(est)
	}
	bundles, err := src.Split(ctx, size)
	if err != nil {
		return fmt.Errorf("source: %s: Split(%d): %w", f.SourceType, size, err)
	}
	for i, b := range bundles {
		data, root, err := f.cfg.codec.encode(b.Source)
		if err != nil {
			return fmt.Errorf("source: %s: bundle %d of Split(%d): %w", f.SourceType, i, size, err)
		}
		emit(restriction{Root: root, Source: data, Start: f.cfg.codec.encodePos(b.Start), Stop: f.cfg.codec.encodePos(b.Stop), Weight: b.Weight})
	}
	return nil
}

// readFn reads restrictions.
type readFn[T, P any] struct {
	SourceType string
	cfg        *readConfig[T, P]
}

func (f *readFn[T, P]) ProcessElement(ctx context.Context, r restriction, emit func(T)) (err error) {
	c := f.cfg.codec
	src, err := c.decode(r.Source, r.Root)
	if err != nil {
		return fmt.Errorf("source: %s: %w", f.SourceType, err)
	}
	start, err := c.decodePos(r.Start)
	if err != nil {
		return fmt.Errorf("source: %s: start: %w", f.SourceType, err)
	}
	stop, err := c.decodePos(r.Stop)
	if err != nil {
		return fmt.Errorf("source: %s: stop: %w", f.SourceType, err)
	}
	rt := rangetracker.NewRestrictionTracker(src.NewRangeTracker(start, stop), r.Weight)
	var unregister func()
	defer func() {
		// Refuse splits before unregistering: once the reader has stopped,
		// a split would only produce an empty residual.
		rt.Finish()
		if unregister != nil {
			unregister()
		}
	}()
	unregister = sdk.RegisterSplittable(ctx, f.cfg.in, sdk.Splittable[restriction](&splitTracker[T, P]{rt: rt, r: r, cfg: f.cfg}))
	for rec, err := range src.Read(ctx, rt.RangeTracker()) {
		if err != nil {
			cur := rt.Restriction()
			return fmt.Errorf("source: %s: read [%v, %v): %w", f.SourceType, cur.Start, cur.Stop, err)
		}
		emit(rec)
	}
	return nil
}

// splitTracker lets the runner split a running read.
type splitTracker[T, P any] struct {
	rt  *rangetracker.RestrictionTracker[P]
	r   restriction
	cfg *readConfig[T, P]
}

var _ sdk.Splittable[restriction] = (*splitTracker[int, int64])(nil)

// TrySplit splits the running restriction and returns the primary and the
// residual as elements of the read ParDo's input.
func (t *splitTracker[T, P]) TrySplit(fractionOfRemainder float64) (primary, residual restriction, ok bool) {
	prim, res, ok := t.rt.TrySplit(fractionOfRemainder)
	if !ok {
		return restriction{}, restriction{}, false
	}
	c := t.cfg.codec
	elem := func(r rangetracker.Restriction[P]) restriction {
		return restriction{Root: t.r.Root, Source: t.r.Source, Start: c.encodePos(r.Start), Stop: c.encodePos(r.Stop), Weight: r.Weight}
	}
	return elem(prim), elem(res), true
}

// Progress reports the work done and remaining in units of the
// restriction's weight.
func (t *splitTracker[T, P]) Progress() (done, remaining float64) { return t.rt.GetProgress() }
