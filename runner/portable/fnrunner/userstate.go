package fnrunner

import (
	"context"
	"fmt"
	"maps"
	"slices"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/runner/internal/engine"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"

	"github.com/beamgo-dev/beamgo/fnapi/service"
	"github.com/beamgo-dev/beamgo/internal/operator"
)

// userState serves a worker's user state requests from the engine's state
// overlay of the bundle: the Fn API's state keys become the executor's.
type userState struct {
	ctx context.Context
	sa  operator.StateAccess
}

var _ service.UserState = userState{}

// stateKey converts a Fn API user state key.
func stateKey(k *fnpb.StateKey) (*operator.StateKey, error) {
	switch t := k.GetType().(type) {
	case *fnpb.StateKey_BagUserState_:
		s := t.BagUserState
		return &operator.StateKey{Kind: operator.BagUserState, TransformID: s.GetTransformId(), StateID: s.GetUserStateId(), Key: s.GetKey(), Window: s.GetWindow()}, nil
	case *fnpb.StateKey_MultimapUserState_:
		s := t.MultimapUserState
		return &operator.StateKey{Kind: operator.MultimapUserState, TransformID: s.GetTransformId(), StateID: s.GetUserStateId(), Key: s.GetKey(), Window: s.GetWindow(), MapKey: s.GetMapKey()}, nil
	case *fnpb.StateKey_MultimapKeysUserState_:
		s := t.MultimapKeysUserState
		return &operator.StateKey{Kind: operator.MultimapKeysUserState, TransformID: s.GetTransformId(), StateID: s.GetUserStateId(), Key: s.GetKey(), Window: s.GetWindow()}, nil
	case *fnpb.StateKey_OrderedListUserState_:
		s := t.OrderedListUserState
		return &operator.StateKey{Kind: operator.OrderedListUserState, TransformID: s.GetTransformId(), StateID: s.GetUserStateId(), Key: s.GetKey(), Window: s.GetWindow(),
			Start: s.GetRange().GetStart(), End: s.GetRange().GetEnd()}, nil
	}
	return nil, fmt.Errorf("fnrunner: state key %T is not user state", k.GetType())
}

func (u userState) Get(key *fnpb.StateKey, token []byte) ([]byte, []byte, error) {
	k, err := stateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return u.sa.Get(u.ctx, k, token)
}

func (u userState) Append(key *fnpb.StateKey, data []byte) error {
	k, err := stateKey(key)
	if err != nil {
		return err
	}
	return u.sa.Append(u.ctx, k, data)
}

func (u userState) Clear(key *fnpb.StateKey) error {
	k, err := stateKey(key)
	if err != nil {
		return err
	}
	return u.sa.Clear(u.ctx, k)
}

// timerFamilies returns the timer families of the descriptor's ParDos,
// which the worker ends with is_last in every bundle (and the runner
// likewise), sorted.
func timerFamilies(desc *fnpb.ProcessBundleDescriptor) ([]service.TimerFamily, error) {
	var out []service.TimerFamily
	for _, id := range slices.Sorted(maps.Keys(desc.GetTransforms())) {
		pt := desc.GetTransforms()[id]
		if pt.GetSpec().GetUrn() != urns.TransformParDo {
			continue
		}
		var pd pipepb.ParDoPayload
		if err := proto.Unmarshal(pt.GetSpec().GetPayload(), &pd); err != nil {
			return nil, fmt.Errorf("fnrunner: transform %q: ParDo payload: %w", pt.GetUniqueName(), err)
		}
		for _, fam := range slices.Sorted(maps.Keys(pd.GetTimerFamilySpecs())) {
			out = append(out, service.TimerFamily{Transform: id, Family: fam})
		}
	}
	return out, nil
}

// sendTimers sends the timers to fire in a bundle, grouped by family in
// chunks, then ends every timer stream the worker expects (families) and
// any other it was sent timers on.
func sendTimers(ctx context.Context, nb *service.Bundle, timers []engine.TimerInput, families []service.TimerFamily) error {
	byFamily := map[service.TimerFamily][]byte{}
	var order []service.TimerFamily
	for _, t := range timers {
		f := service.TimerFamily{Transform: t.TransformID, Family: t.Family}
		if _, ok := byFamily[f]; !ok {
			order = append(order, f)
		}
		chunk := append(byFamily[f], t.Encoded...)
		if len(chunk) >= sendChunk {
			if err := nb.SendTimers(ctx, f.Transform, f.Family, chunk, false); err != nil {
				return err
			}
			chunk = []byte{}
		}
		byFamily[f] = chunk
	}
	for _, f := range families {
		if _, ok := byFamily[f]; !ok {
			order = append(order, f)
		}
	}
	// The ends go in messages of their own: Beam Python ignores the
	// timers of a message marked is_last.
	for _, f := range order {
		if len(byFamily[f]) > 0 {
			if err := nb.SendTimers(ctx, f.Transform, f.Family, byFamily[f], false); err != nil {
				return err
			}
		}
	}
	for _, f := range order {
		if err := nb.SendTimers(ctx, f.Transform, f.Family, nil, true); err != nil {
			return err
		}
	}
	return nil
}
