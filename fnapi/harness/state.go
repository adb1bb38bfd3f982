package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"

	"github.com/beamgo-dev/beamgo/internal/operator"

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

// userState serves a bundle's user state over the runner's state API. It
// implements operator.StateAccess.
type userState struct {
	h           *harness
	d           *descriptor
	instruction string
}

var _ operator.StateAccess = (*userState)(nil)

// key converts a state key of the executor to the Fn API's.
func fnStateKey(k *operator.StateKey) *fnpb.StateKey {
	switch k.Kind {
	case operator.MultimapUserState:
		return &fnpb.StateKey{Type: &fnpb.StateKey_MultimapUserState_{MultimapUserState: &fnpb.StateKey_MultimapUserState{
			TransformId: k.TransformID, UserStateId: k.StateID, Window: k.Window, Key: k.Key, MapKey: k.MapKey}}}
	case operator.MultimapKeysUserState:
		return &fnpb.StateKey{Type: &fnpb.StateKey_MultimapKeysUserState_{MultimapKeysUserState: &fnpb.StateKey_MultimapKeysUserState{
			TransformId: k.TransformID, UserStateId: k.StateID, Window: k.Window, Key: k.Key}}}
	case operator.OrderedListUserState:
		return &fnpb.StateKey{Type: &fnpb.StateKey_OrderedListUserState_{OrderedListUserState: &fnpb.StateKey_OrderedListUserState{
			TransformId: k.TransformID, UserStateId: k.StateID, Window: k.Window, Key: k.Key,
			Range: &fnpb.OrderedListRange{Start: k.Start, End: k.End}}}}
	}
	return &fnpb.StateKey{Type: &fnpb.StateKey_BagUserState_{BagUserState: &fnpb.StateKey_BagUserState{
		TransformId: k.TransformID, UserStateId: k.StateID, Window: k.Window, Key: k.Key}}}
}

func (u *userState) stream() (*stateStream, error) {
	if u.d.stateURL == "" {
		return nil, fmt.Errorf("harness: descriptor %s uses user state but has no state endpoint", u.d.pb.GetId())
	}
	return u.h.state(u.d.stateURL)
}

// Get reads one page of the state.
func (u *userState) Get(ctx context.Context, k *operator.StateKey, token []byte) ([]byte, []byte, error) {
	st, err := u.stream()
	if err != nil {
		return nil, nil, err
	}
	resp, err := st.do(ctx, &fnpb.StateRequest{InstructionId: u.instruction, StateKey: fnStateKey(k),
		Request: &fnpb.StateRequest_Get{Get: &fnpb.StateGetRequest{ContinuationToken: token}}})
	if err != nil {
		return nil, nil, err
	}
	get := resp.GetGet()
	if get == nil {
		return nil, nil, fmt.Errorf("harness: state get answered with %T", resp.GetResponse())
	}
	return get.GetData(), get.GetContinuationToken(), nil
}

// Append appends data to the state.
func (u *userState) Append(ctx context.Context, k *operator.StateKey, data []byte) error {
	st, err := u.stream()
	if err != nil {
		return err
	}
	_, err = st.do(ctx, &fnpb.StateRequest{InstructionId: u.instruction, StateKey: fnStateKey(k),
		Request: &fnpb.StateRequest_Append{Append: &fnpb.StateAppendRequest{Data: data}}})
	return err
}

// Clear clears the state.
func (u *userState) Clear(ctx context.Context, k *operator.StateKey) error {
	st, err := u.stream()
	if err != nil {
		return err
	}
	_, err = st.do(ctx, &fnpb.StateRequest{InstructionId: u.instruction, StateKey: fnStateKey(k),
		Request: &fnpb.StateRequest_Clear{Clear: &fnpb.StateClearRequest{}}})
	return err
}
