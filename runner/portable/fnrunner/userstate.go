package fnrunner

import (
	"context"
	"fmt"
	"iter"
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

// refuseTimers fails a descriptor whose ParDos declare timers (or
// OnWindowExpiration): the engine keeps and fires them, but timers do not
// travel over the Fn API's data plane yet, so the workers could neither
// set nor receive them.
func refuseTimers(desc *fnpb.ProcessBundleDescriptor) error {
	for _, id := range slices.Sorted(maps.Keys(desc.GetTransforms())) {
		pt := desc.GetTransforms()[id]
		if pt.GetSpec().GetUrn() != urns.TransformParDo {
			continue
		}
		var pd pipepb.ParDoPayload
		if err := proto.Unmarshal(pt.GetSpec().GetPayload(), &pd); err != nil {
			return fmt.Errorf("fnrunner: transform %q: ParDo payload: %w", pt.GetUniqueName(), err)
		}
		if fams := slices.Sorted(maps.Keys(pd.GetTimerFamilySpecs())); len(fams) > 0 {
			return fmt.Errorf("fnrunner: transform %q declares timers %q: the portable runner does not send timers over the Fn API yet (the local runner fires them)", pt.GetUniqueName(), fams)
		}
	}
	return nil
}

// drainTimers consumes the timers a bundle would fire after its elements,
// which lets the engine drop expired state; there must be none to fire.
func drainTimers(timers iter.Seq2[engine.TimerInput, error]) error {
	for t, err := range timers {
		if err != nil {
			return err
		}
		return fmt.Errorf("fnrunner: timer of family %q of transform %s: the portable runner does not send timers over the Fn API yet", t.Family, t.TransformID)
	}
	return nil
}
