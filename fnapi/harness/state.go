package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"

	"github.com/beamgo-dev/beamgo/sdk/coder"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// maxStatePages bounds the continuation pages of one state read, so that a
// runner that keeps answering with tokens cannot hold a bundle forever.
const maxStatePages = 1 << 20

// stateStream is the harness's one stream to a state endpoint, multiplexed
// over instructions: requests carry ids and responses are routed back by
// id. It is safe for concurrent use.
type stateStream struct {
	stream fnpb.BeamFnState_StateClient
	cancel context.CancelFunc
	// broken is closed when the stream failed; err tells why.
	broken chan struct{}
	err    error

	// sendMu serializes sends on the stream.
	sendMu sync.Mutex

	// mu guards the fields below.
	mu      sync.Mutex
	next    int64
	pending map[string]chan *fnpb.StateResponse
}

func openStateStream(ctx context.Context, cc fnpb.BeamFnStateClient) (*stateStream, error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := cc.State(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("harness: open state stream: %w", err)
	}
	s := &stateStream{stream: stream, cancel: cancel, broken: make(chan struct{}), pending: map[string]chan *fnpb.StateResponse{}}
	go s.read()
	return s, nil
}

func (s *stateStream) read() {
	for {
		resp, err := s.stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("runner closed the state stream")
			}
			s.err = fmt.Errorf("harness: state stream: %w", err)
			close(s.broken)
			return
		}
		s.mu.Lock()
		ch, ok := s.pending[resp.GetId()]
		delete(s.pending, resp.GetId())
		s.mu.Unlock()
		if ok {
			ch <- resp
		}
	}
}

// do sends one request and waits for its response.
func (s *stateStream) do(ctx context.Context, req *fnpb.StateRequest) (*fnpb.StateResponse, error) {
	ch := make(chan *fnpb.StateResponse, 1)
	s.mu.Lock()
	s.next++
	req.Id = strconv.FormatInt(s.next, 10)
	s.pending[req.Id] = ch
	s.mu.Unlock()
	forget := func() {
		s.mu.Lock()
		delete(s.pending, req.Id)
		s.mu.Unlock()
	}
	s.sendMu.Lock()
	err := s.stream.Send(req)
	s.sendMu.Unlock()
	if err != nil {
		forget()
		return nil, fmt.Errorf("harness: state stream send: %w", err)
	}
	select {
	case resp := <-ch:
		if resp.GetError() != "" {
			return nil, fmt.Errorf("harness: state request: runner error: %s", resp.GetError())
		}
		return resp, nil
	case <-ctx.Done():
		forget()
		return nil, context.Cause(ctx)
	case <-s.broken:
		return nil, s.err
	}
}

// get reads the whole value of a state key, following continuation tokens.
func (s *stateStream) get(ctx context.Context, instruction string, key *fnpb.StateKey) ([]byte, error) {
	var out, token []byte
	for range maxStatePages {
		resp, err := s.do(ctx, &fnpb.StateRequest{
			InstructionId: instruction,
			StateKey:      key,
			Request:       &fnpb.StateRequest_Get{Get: &fnpb.StateGetRequest{ContinuationToken: token}},
		})
		if err != nil {
			return nil, err
		}
		get := resp.GetGet()
		if get == nil {
			return nil, fmt.Errorf("harness: state get answered with %T", resp.GetResponse())
		}
		out = append(out, get.GetData()...)
		if token = get.GetContinuationToken(); len(token) == 0 {
			return out, nil
		}
	}
	return nil, fmt.Errorf("harness: state get: more than %d continuation pages", maxStatePages)
}

func (s *stateStream) close() {
	s.sendMu.Lock()
	s.stream.CloseSend()
	s.sendMu.Unlock()
	s.cancel()
}

// sideInputs supplies a bundle's side inputs from the runner's state API,
// recoding them from the runner's coders to this SDK's where they differ.
// It implements exec.SideInputData.
type sideInputs struct {
	h           *harness
	d           *descriptor
	instruction string
}

func (s *sideInputs) SideInput(ctx context.Context, transformID, local string, w window.Window) ([]byte, error) {
	if s.d.stateURL == "" {
		return nil, fmt.Errorf("harness: descriptor %s reads side input %s of %s but has no state endpoint", s.d.pb.GetId(), local, transformID)
	}
	st, err := s.h.state(s.d.stateURL)
	if err != nil {
		return nil, err
	}
	var win []byte
	if !w.IsGlobal() {
		win = coder.IntervalWindow().Encode(nil, w)
	}
	key := &fnpb.StateKey{Type: &fnpb.StateKey_IterableSideInput_{IterableSideInput: &fnpb.StateKey_IterableSideInput{
		TransformId: transformID, SideInputId: local, Window: win,
	}}}
	data, err := st.get(ctx, s.instruction, key)
	if err != nil {
		return nil, err
	}
	rec, err := s.d.sideRecoder(s.h, transformID, local)
	if err != nil || rec == nil {
		return data, err
	}
	return recodeAll(rec, nil, data)
}
