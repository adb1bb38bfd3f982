package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	"google.golang.org/protobuf/proto"
)

// ErrWorkerGone is wrapped by the errors of calls that failed because the
// worker's control stream ended (the worker stopped, crashed or was cut
// off); a runner retries such a bundle on another worker.
var ErrWorkerGone = errors.New("service: worker gone")

// Worker is one SDK harness connected to the Server, known by its
// worker_id. It is safe for concurrent use.
type Worker struct {
	s        *Server
	id       string
	requests chan *fnpb.InstructionRequest
	// out carries elements to the worker's data stream.
	out chan *fnpb.Elements

	stopOnce sync.Once
	stop     chan struct{}

	// mu guards the fields below.
	mu      sync.Mutex
	pending map[string]chan *fnpb.InstructionResponse
	done    chan struct{} // closed on disconnect; err says why
	err     error
}

func newWorker(s *Server, id string) *Worker {
	return &Worker{s: s, id: id, requests: make(chan *fnpb.InstructionRequest), out: make(chan *fnpb.Elements, 16),
		stop: make(chan struct{}), pending: map[string]chan *fnpb.InstructionResponse{}, done: make(chan struct{})}
}

// ID returns the worker's id.
func (w *Worker) ID() string { return w.id }

// Done is closed when the worker's control stream has ended.
func (w *Worker) Done() <-chan struct{} { return w.done }

// Err returns why the worker disconnected, or nil while it is connected;
// the error wraps ErrWorkerGone.
func (w *Worker) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Stop ends the worker's control stream, which tells the harness to stop.
func (w *Worker) Stop() {
	w.stopOnce.Do(func() { close(w.stop) })
	w.disconnect(errors.New("stopped by the runner"))
}

// disconnect marks the worker gone and fails its pending instructions.
func (w *Worker) disconnect(why error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case <-w.done:
		return
	default:
	}
	w.err = fmt.Errorf("%w: %s: %v", ErrWorkerGone, w.id, why)
	close(w.done)
	for _, ch := range w.pending {
		close(ch)
	}
	w.pending = nil
}

// respond routes a response to its waiting Instruct call.
func (w *Worker) respond(resp *fnpb.InstructionResponse) {
	w.mu.Lock()
	ch := w.pending[resp.GetInstructionId()]
	delete(w.pending, resp.GetInstructionId())
	w.mu.Unlock()
	if ch != nil {
		ch <- resp
	}
}

// Instruct sends req on the worker's control stream and returns the
// worker's response. An error means the response never came: ctx ended or
// the worker disconnected (ErrWorkerGone). A response may still report a
// failed instruction in its Error field.
func (w *Worker) Instruct(ctx context.Context, req *fnpb.InstructionRequest) (*fnpb.InstructionResponse, error) {
	ch := make(chan *fnpb.InstructionResponse, 1)
	id := req.GetInstructionId()
	w.mu.Lock()
	if w.pending == nil {
		err := w.err
		w.mu.Unlock()
		return nil, err
	}
	if _, dup := w.pending[id]; dup {
		w.mu.Unlock()
		return nil, fmt.Errorf("service: instruction %q is already pending on worker %s", id, w.id)
	}
	w.pending[id] = ch
	w.mu.Unlock()
	forget := func() {
		w.mu.Lock()
		if w.pending != nil {
			delete(w.pending, id)
		}
		w.mu.Unlock()
	}
	select {
	case w.requests <- req:
	case <-w.done:
		return nil, w.Err()
	case <-ctx.Done():
		forget()
		return nil, fmt.Errorf("service: instruction %s: %w", id, ctx.Err())
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			return nil, w.Err()
		}
		return resp, nil
	case <-ctx.Done():
		forget()
		return nil, fmt.Errorf("service: instruction %s: %w", id, ctx.Err())
	}
}

// StateReader serves the side inputs of a bundle.
type StateReader interface {
	// ReadState returns the whole encoded contents of a side input state
	// key (iterable, multimap or multimap keys side input). The Server
	// pages them with continuation tokens.
	ReadState(key *fnpb.StateKey) ([]byte, error)
}

// StateOpener is a StateReader that can also open a side input's contents
// for reading in pages (an optional upgrade the Server looks for): the
// Server then reads each page as the worker asks for it, and never holds
// the contents whole.
type StateOpener interface {
	StateReader
	// OpenState returns a reader of what ReadState would return.
	OpenState(key *fnpb.StateKey) (*io.SectionReader, error)
}

// StateReaderFunc adapts a function to StateReader.
type StateReaderFunc func(key *fnpb.StateKey) ([]byte, error)

// ReadState calls f.
func (f StateReaderFunc) ReadState(key *fnpb.StateKey) ([]byte, error) { return f(key) }

// Bundle is the data and state of one process_bundle instruction on a
// worker: the elements the runner sends and the outputs it receives.
type Bundle struct {
	w      *Worker
	id     string
	reader StateReader

	// mu guards the fields below.
	mu       sync.Mutex
	outputs  map[string][]byte
	last     map[string]bool
	waiting  int           // sinks without is_last yet
	complete chan struct{} // closed when waiting reaches zero
	err      error
	states   map[string]*io.SectionReader // opened state contents, by key
	// bags holds bag user state, by key, when no UserState is set; it
	// lives as long as the bundle.
	bags map[string][]byte
	// user, when set, serves every kind of user state.
	user UserState
	// timers receives the worker's timers; timerLast says which timer
	// streams ended.
	timers    func(transform, family string, data []byte) error
	timerLast map[TimerFamily]bool
	// stream, when set, receives the outputs instead of outputs.
	stream func(transform string, data []byte) error
	// released is set by Release: the routes are closed and the receivers
	// (stream, timers) may no longer be called.
	released bool
}

// TimerFamily names one timer stream of a bundle: a timer family of a
// transform.
type TimerFamily struct{ Transform, Family string }

// Timers is how a bundle takes the timers its worker sets and clears.
type Timers struct {
	// Families are the timer streams the worker sends on, each ended by
	// an is_last message: every timer family of the descriptor's
	// transforms (SDKs end each, timers set or not). The bundle is
	// complete once they and the sinks ended.
	Families []TimerFamily
	// Receive gets each chunk of encoded timers (beam:coder:timer:v1
	// values, concatenated) of a family, in order, on the data stream's
	// goroutine; an error fails the bundle.
	Receive func(transform, family string, data []byte) error
}

// UserState serves the user state requests of a bundle (bag, multimap,
// multimap keys and ordered list state keys): the runner's state store.
// Its methods are called from the state stream's goroutine.
type UserState interface {
	// Get returns one page of the state key's contents and the token of
	// the next page (nil on the last).
	Get(key *fnpb.StateKey, token []byte) (data, next []byte, err error)
	// Append adds data to the state.
	Append(key *fnpb.StateKey, data []byte) error
	// Clear removes the state.
	Clear(key *fnpb.StateKey) error
}

// SetUserState makes us serve the bundle's user state requests. Call it
// before sending the process_bundle instruction.
func (b *Bundle) SetUserState(us UserState) {
	b.mu.Lock()
	b.user = us
	b.mu.Unlock()
}

// StreamOutput makes the bundle hand each chunk of output its worker sends
// to receive as it arrives, on the data stream's goroutine and in order
// per sink transform, instead of keeping it for Output: the runner need
// not hold a bundle's whole output twice (as received and as elements).
// A chunk may end inside an element, whose rest comes in the next chunk of
// the transform; receive may keep data. An error from receive fails the
// bundle. Call it before sending the process_bundle instruction.
func (b *Bundle) StreamOutput(receive func(transform string, data []byte) error) {
	b.mu.Lock()
	b.stream = receive
	b.mu.Unlock()
}

// isUserState reports whether key addresses user state.
func isUserState(key *fnpb.StateKey) bool {
	switch key.GetType().(type) {
	case *fnpb.StateKey_BagUserState_, *fnpb.StateKey_MultimapUserState_, *fnpb.StateKey_MultimapKeysUserState_, *fnpb.StateKey_OrderedListUserState_:
		return true
	}
	return false
}

// delegate serves a user state request through us.
func delegate(us UserState, req *fnpb.StateRequest, resp *fnpb.StateResponse) error {
	switch r := req.GetRequest().(type) {
	case *fnpb.StateRequest_Get:
		data, next, err := us.Get(req.GetStateKey(), r.Get.GetContinuationToken())
		if err != nil {
			return err
		}
		resp.Response = &fnpb.StateResponse_Get{Get: &fnpb.StateGetResponse{Data: data, ContinuationToken: next}}
	case *fnpb.StateRequest_Append:
		if err := us.Append(req.GetStateKey(), r.Append.GetData()); err != nil {
			return err
		}
		resp.Response = &fnpb.StateResponse_Append{Append: &fnpb.StateAppendResponse{}}
	case *fnpb.StateRequest_Clear:
		if err := us.Clear(req.GetStateKey()); err != nil {
			return err
		}
		resp.Response = &fnpb.StateResponse_Clear{Clear: &fnpb.StateClearResponse{}}
	default:
		return fmt.Errorf("service: state request %T is not supported", req.GetRequest())
	}
	return nil
}

// NewBundle opens the data and state routes of instruction id on the
// worker, expecting output from the given sink transforms. reader may be
// nil when the bundle reads no side inputs, timers nil when its
// transforms have no timers. Open it before sending the process_bundle
// instruction, and Release it when done.
func (w *Worker) NewBundle(id string, sinks []string, reader StateReader, timers *Timers) (*Bundle, error) {
	b := &Bundle{w: w, id: id, reader: reader, outputs: map[string][]byte{}, last: map[string]bool{},
		complete: make(chan struct{}), states: map[string]*io.SectionReader{}, bags: map[string][]byte{}}
	for _, t := range sinks {
		if _, ok := b.last[t]; !ok {
			b.last[t] = false
			b.waiting++
		}
	}
	if timers != nil {
		b.timers, b.timerLast = timers.Receive, map[TimerFamily]bool{}
		for _, f := range timers.Families {
			if _, ok := b.timerLast[f]; !ok {
				b.timerLast[f] = false
				b.waiting++
			}
		}
	}
	if b.waiting == 0 {
		close(b.complete)
	}
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if _, dup := w.s.bundles[id]; dup {
		return nil, fmt.Errorf("service: instruction %q is already open", id)
	}
	w.s.bundles[id] = b
	return b, nil
}

// Send sends a chunk of encoded elements to the bundle's source transform.
func (b *Bundle) Send(ctx context.Context, transform string, data []byte) error {
	return b.send(ctx, &fnpb.Elements_Data{InstructionId: b.id, TransformId: transform, Data: data})
}

// Close marks the end of the elements for transform (is_last).
func (b *Bundle) Close(ctx context.Context, transform string) error {
	return b.send(ctx, &fnpb.Elements_Data{InstructionId: b.id, TransformId: transform, IsLast: true})
}

// SendTimers sends a chunk of encoded timers (beam:coder:timer:v1
// values, concatenated) of a timer family of transform to fire in the
// bundle; last ends the family's stream. SDKs expect every timer family
// of the descriptor's transforms to be ended, timers sent or not.
func (b *Bundle) SendTimers(ctx context.Context, transform, family string, data []byte, last bool) error {
	return b.sendMsg(ctx, &fnpb.Elements{Timers: []*fnpb.Elements_Timers{{InstructionId: b.id, TransformId: transform, TimerFamilyId: family, Timers: data, IsLast: last}}})
}

func (b *Bundle) send(ctx context.Context, d *fnpb.Elements_Data) error {
	return b.sendMsg(ctx, &fnpb.Elements{Data: []*fnpb.Elements_Data{d}})
}

func (b *Bundle) sendMsg(ctx context.Context, msg *fnpb.Elements) error {
	select {
	case b.w.out <- msg:
		return nil
	case <-b.w.done:
		return b.w.Err()
	case <-ctx.Done():
		return fmt.Errorf("service: send to %s: %w", b.id, ctx.Err())
	}
}

// Wait waits until every sink of the bundle has sent its last element and
// returns nil, or returns an error if the worker disconnected, the data
// was malformed, or ctx ended.
func (b *Bundle) Wait(ctx context.Context) error {
	select {
	case <-b.complete:
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.err
	case <-b.w.done:
		select {
		case <-b.complete:
			return nil
		default:
			return b.w.Err()
		}
	case <-ctx.Done():
		return fmt.Errorf("service: bundle %s: %w", b.id, ctx.Err())
	}
}

// Output returns the bytes a sink transform has sent so far.
func (b *Bundle) Output(transform string) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.outputs[transform]
}

// Release closes the bundle's routes; later data for it is dropped. It
// waits for a chunk being received, so that once it returns the bundle's
// receivers (StreamOutput's, the Timers') are not called again: a runner
// may discard what they write to.
func (b *Bundle) Release() {
	b.w.s.mu.Lock()
	if b.w.s.bundles[b.id] == b {
		delete(b.w.s.bundles, b.id)
	}
	b.w.s.mu.Unlock()
	b.mu.Lock()
	b.released = true
	b.mu.Unlock()
}

// receive records a chunk from the worker.
func (b *Bundle) receive(d *fnpb.Elements_Data) {
	b.mu.Lock()
	defer b.mu.Unlock()
	done, ok := b.last[d.GetTransformId()]
	switch {
	case !ok:
		b.fail(fmt.Errorf("service: bundle %s: data for transform %q, which is not a sink", b.id, d.GetTransformId()))
		return
	case done:
		b.fail(fmt.Errorf("service: bundle %s: data for transform %q after its last element", b.id, d.GetTransformId()))
		return
	}
	switch {
	case b.err != nil || b.released:
		return
	case b.stream != nil:
		if len(d.GetData()) > 0 {
			if err := b.stream(d.GetTransformId(), d.GetData()); err != nil {
				b.fail(fmt.Errorf("service: bundle %s: output of transform %q: %w", b.id, d.GetTransformId(), err))
				return
			}
		}
	default:
		b.outputs[d.GetTransformId()] = append(b.outputs[d.GetTransformId()], d.GetData()...)
	}
	if d.GetIsLast() {
		b.last[d.GetTransformId()] = true
		b.waiting--
		if b.waiting == 0 {
			close(b.complete)
		}
	}
}

// receiveTimers records a chunk of timers from the worker.
func (b *Bundle) receiveTimers(t *fnpb.Elements_Timers) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := TimerFamily{Transform: t.GetTransformId(), Family: t.GetTimerFamilyId()}
	done, ok := b.timerLast[f]
	switch {
	case b.err != nil || b.released:
		return
	case !ok:
		b.fail(fmt.Errorf("service: bundle %s: timers of family %q of transform %q, which the bundle does not take", b.id, f.Family, f.Transform))
		return
	case done:
		b.fail(fmt.Errorf("service: bundle %s: timers of family %q of transform %q after the stream's end", b.id, f.Family, f.Transform))
		return
	}
	if len(t.GetTimers()) > 0 {
		// Under b.mu, so that the chunks of a family arrive in order and
		// none after the bundle failed.
		if err := b.timers(f.Transform, f.Family, t.GetTimers()); err != nil {
			b.fail(fmt.Errorf("service: bundle %s: timers of family %q of transform %q: %w", b.id, f.Family, f.Transform, err))
			return
		}
	}
	if t.GetIsLast() {
		b.timerLast[f] = true
		b.waiting--
		if b.waiting == 0 {
			close(b.complete)
		}
	}
}

// fail records the bundle's first error and ends Wait; b.mu must be held.
func (b *Bundle) fail(err error) {
	if b.err != nil {
		return
	}
	b.err = err
	if b.waiting > 0 {
		b.waiting = 0
		close(b.complete)
	}
}

// data serves BeamFnData.
type data struct {
	fnpb.UnimplementedBeamFnDataServer
	s *Server
}

func (d data) Data(stream fnpb.BeamFnData_DataServer) error {
	id, err := workerID(stream.Context())
	if err != nil {
		return err
	}
	w, err := d.s.Worker(stream.Context(), id)
	if err != nil {
		return err
	}
	go func() {
		for {
			msg, err := stream.Recv()
			if err != nil {
				return
			}
			for _, e := range msg.GetData() {
				if b := d.s.bundle(e.GetInstructionId()); b != nil {
					b.receive(e)
				}
			}
			for _, t := range msg.GetTimers() {
				if b := d.s.bundle(t.GetInstructionId()); b != nil {
					b.receiveTimers(t)
				}
			}
		}
	}()
	for {
		select {
		case msg := <-w.out:
			if err := stream.Send(msg); err != nil {
				return err
			}
		case <-w.done:
			return nil
		case <-stream.Context().Done():
			return nil
		}
	}
}

// state serves BeamFnState.
type state struct {
	fnpb.UnimplementedBeamFnStateServer
	s *Server
}

func (st state) State(stream fnpb.BeamFnState_StateServer) error {
	if _, err := workerID(stream.Context()); err != nil {
		return err
	}
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(st.s.answer(req)); err != nil {
			return err
		}
	}
}

// answer serves one state request.
func (s *Server) answer(req *fnpb.StateRequest) *fnpb.StateResponse {
	resp := &fnpb.StateResponse{Id: req.GetId()}
	b := s.bundle(req.GetInstructionId())
	switch {
	case b == nil:
		resp.Error = fmt.Sprintf("service: state request for unknown instruction %q", req.GetInstructionId())
	case isUserState(req.GetStateKey()) && b.userStateImpl() != nil:
		if err := delegate(b.userStateImpl(), req, resp); err != nil {
			resp.Error = err.Error()
		}
	case req.GetStateKey().GetBagUserState() != nil:
		if err := b.userState(req, resp, s.opts.StatePageSize); err != nil {
			resp.Error = err.Error()
		}
	case req.GetGet() == nil:
		resp.Error = fmt.Sprintf("service: side inputs are only read, got %T", req.GetRequest())
	default:
		get, err := b.get(req.GetStateKey(), req.GetGet().GetContinuationToken(), s.opts.StatePageSize)
		if err != nil {
			resp.Error = err.Error()
		} else {
			resp.Response = &fnpb.StateResponse_Get{Get: get}
		}
	}
	return resp
}

func (b *Bundle) userStateImpl() UserState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.user
}

// userState serves a request for bag user state: get (in pages), append
// and clear.
func (b *Bundle) userState(req *fnpb.StateRequest, resp *fnpb.StateResponse, pageSize int) error {
	k, err := proto.MarshalOptions{Deterministic: true}.Marshal(req.GetStateKey())
	if err != nil {
		return fmt.Errorf("service: state key: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch r := req.GetRequest().(type) {
	case *fnpb.StateRequest_Get:
		get, err := page(b.bags[string(k)], r.Get.GetContinuationToken(), pageSize)
		if err != nil {
			return err
		}
		resp.Response = &fnpb.StateResponse_Get{Get: get}
	case *fnpb.StateRequest_Append:
		b.bags[string(k)] = append(b.bags[string(k)], r.Append.GetData()...)
		resp.Response = &fnpb.StateResponse_Append{Append: &fnpb.StateAppendResponse{}}
	case *fnpb.StateRequest_Clear:
		delete(b.bags, string(k))
		resp.Response = &fnpb.StateResponse_Clear{Clear: &fnpb.StateClearResponse{}}
	default:
		return fmt.Errorf("service: state request %T is not supported", req.GetRequest())
	}
	return nil
}

// page returns the page of contents that starts at the offset token
// names (the start if token is empty), with the token of the next page.
func page(contents, token []byte, pageSize int) (*fnpb.StateGetResponse, error) {
	start := 0
	if len(token) > 0 {
		n, err := strconv.Atoi(string(token))
		if err != nil || n < 0 || n > len(contents) {
			return nil, fmt.Errorf("service: bad continuation token %q", token)
		}
		start = n
	}
	end := min(start+pageSize, len(contents))
	get := &fnpb.StateGetResponse{Data: append([]byte(nil), contents[start:end]...)}
	if end < len(contents) {
		get.ContinuationToken = []byte(strconv.Itoa(end))
	}
	return get, nil
}

// get returns one page of a state key's contents.
func (b *Bundle) get(key *fnpb.StateKey, token []byte, pageSize int) (*fnpb.StateGetResponse, error) {
	switch key.GetType().(type) {
	case *fnpb.StateKey_IterableSideInput_, *fnpb.StateKey_MultimapSideInput_, *fnpb.StateKey_MultimapKeysSideInput_:
	default:
		return nil, fmt.Errorf("service: state key %T is not supported (only side inputs are)", key.GetType())
	}
	if b.reader == nil {
		return nil, fmt.Errorf("service: bundle %s reads no side inputs", b.id)
	}
	k, err := proto.MarshalOptions{Deterministic: true}.Marshal(key)
	if err != nil {
		return nil, fmt.Errorf("service: state key: %w", err)
	}
	b.mu.Lock()
	contents, ok := b.states[string(k)]
	b.mu.Unlock()
	if !ok {
		if contents, err = openState(b.reader, key); err != nil {
			return nil, fmt.Errorf("service: read state: %w", err)
		}
		b.mu.Lock()
		b.states[string(k)] = contents
		b.mu.Unlock()
	}
	return pageAt(contents, token, pageSize)
}

// openState opens the contents of key through r, paged if r can.
func openState(r StateReader, key *fnpb.StateKey) (*io.SectionReader, error) {
	if o, ok := r.(StateOpener); ok {
		return o.OpenState(key)
	}
	contents, err := r.ReadState(key)
	if err != nil {
		return nil, err
	}
	return io.NewSectionReader(bytes.NewReader(contents), 0, int64(len(contents))), nil
}

// pageAt reads the page of contents that starts at the offset token names
// (the start if token is empty), with the token of the next page.
func pageAt(contents *io.SectionReader, token []byte, pageSize int) (*fnpb.StateGetResponse, error) {
	var start int64
	if len(token) > 0 {
		n, err := strconv.ParseInt(string(token), 10, 64)
		if err != nil || n < 0 || n > contents.Size() {
			return nil, fmt.Errorf("service: bad continuation token %q", token)
		}
		start = n
	}
	end := min(start+int64(pageSize), contents.Size())
	data := make([]byte, end-start)
	if _, err := contents.ReadAt(data, start); err != nil && !(errors.Is(err, io.EOF) && end == contents.Size()) {
		return nil, fmt.Errorf("service: read state: %w", err)
	}
	get := &fnpb.StateGetResponse{Data: data}
	if end < contents.Size() {
		get.ContinuationToken = []byte(strconv.FormatInt(end, 10))
	}
	return get, nil
}
