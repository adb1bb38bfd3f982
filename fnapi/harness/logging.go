package harness

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/beamgo-dev/beamgo/internal/operator"
)

// logBuffer is how many log entries wait for the logging stream before
// new ones are dropped: logging must never block a bundle.
const logBuffer = 1024

// logBatch is the most entries sent in one message.
const logBatch = 128

// logStream sends log entries to the runner's logging endpoint from one
// goroutine. It is safe for concurrent use.
type logStream struct {
	entries chan *fnpb.LogEntry
	dropped atomic.Int64
	done    chan struct{}

	// mu guards closing entries: add holds it for reading.
	mu     sync.RWMutex
	closed bool
}

func openLogStream(ctx context.Context, cc fnpb.BeamFnLoggingClient) (*logStream, error) {
	stream, err := cc.Logging(ctx)
	if err != nil {
		return nil, fmt.Errorf("harness: open logging stream: %w", err)
	}
	l := &logStream{entries: make(chan *fnpb.LogEntry, logBuffer), done: make(chan struct{})}
	go l.send(stream)
	// Drain what the runner sends back (nothing, in practice) so the
	// stream's flow control never stalls.
	go func() {
		for {
			if _, err := stream.Recv(); err != nil {
				return
			}
		}
	}()
	return l, nil
}

// send batches entries onto the stream until the channel closes.
func (l *logStream) send(stream fnpb.BeamFnLogging_LoggingClient) {
	defer close(l.done)
	defer stream.CloseSend()
	broken := false
	for e := range l.entries {
		batch := []*fnpb.LogEntry{e}
	more:
		for len(batch) < logBatch {
			select {
			case e, ok := <-l.entries:
				if !ok {
					break more
				}
				batch = append(batch, e)
			default:
				break more
			}
		}
		if broken {
			continue
		}
		if err := stream.Send(&fnpb.LogEntry_List{LogEntries: batch}); err != nil {
			// Keep draining so that writers never block; the runner is gone.
			broken = true
		}
	}
}

// add queues an entry, dropping it if the buffer is full.
func (l *logStream) add(e *fnpb.LogEntry) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.dropped.Add(1)
		return
	}
	select {
	case l.entries <- e:
	default:
		l.dropped.Add(1)
	}
}

// close flushes the queued entries and ends the stream, waiting at most
// until ctx ends.
func (l *logStream) close(ctx context.Context) {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.entries)
	}
	l.mu.Unlock()
	select {
	case <-l.done:
	case <-ctx.Done():
	}
}

type instructionKey struct{}

// withInstruction returns ctx carrying the instruction id for log entries.
func withInstruction(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, instructionKey{}, id)
}

// logHandler is a slog.Handler that streams records to the runner as
// LogEntry messages. The instruction and transform of a record come from
// its context when it was logged from a bundle.
type logHandler struct {
	out   *logStream
	level slog.Leveler
	attrs []slog.Attr
	group string
}

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	e := &fnpb.LogEntry{
		Severity:  severity(r.Level),
		Timestamp: timestamppb.New(r.Time),
		Message:   r.Message,
	}
	if r.PC != 0 {
		f, _ := runtime.CallersFrames([]uintptr{r.PC}).Next()
		e.LogLocation = fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	if id, ok := ctx.Value(instructionKey{}).(string); ok {
		e.InstructionId = id
	}
	if ec := operator.FromContext(ctx); ec != nil && ec.Env != nil {
		e.TransformId = ec.Env.TransformID
	}
	fields := map[string]*structpb.Value{}
	add := func(a slog.Attr) {
		if a.Equal(slog.Attr{}) {
			return
		}
		k := a.Key
		if h.group != "" {
			k = h.group + "." + k
		}
		fields[k] = structpb.NewStringValue(a.Value.Resolve().String())
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(func(a slog.Attr) bool { add(a); return true })
	if len(fields) > 0 {
		e.CustomData = &structpb.Struct{Fields: fields}
	}
	if r.Time.IsZero() {
		e.Timestamp = timestamppb.New(time.Now())
	}
	h.out.add(e)
	return nil
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	c := *h
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}

// severity maps slog levels to the Fn API's.
func severity(l slog.Level) fnpb.LogEntry_Severity_Enum {
	switch {
	case l >= slog.LevelError:
		return fnpb.LogEntry_Severity_ERROR
	case l >= slog.LevelWarn:
		return fnpb.LogEntry_Severity_WARN
	case l >= slog.LevelInfo:
		return fnpb.LogEntry_Severity_INFO
	case l >= slog.LevelDebug:
		return fnpb.LogEntry_Severity_DEBUG
	}
	return fnpb.LogEntry_Severity_TRACE
}

// teeHandler sends records to several handlers.
type teeHandler []slog.Handler

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range t {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var first error
	for _, h := range t {
		if h.Enabled(ctx, r.Level) {
			if err := h.Handle(ctx, r.Clone()); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

func (t teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(teeHandler, len(t))
	for i, h := range t {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	out := make(teeHandler, len(t))
	for i, h := range t {
		out[i] = h.WithGroup(name)
	}
	return out
}
