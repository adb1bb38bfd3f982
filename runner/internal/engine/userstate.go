package engine

import (
	"context"
	"fmt"
	"sync"

	"github.com/beamgo-dev/beamgo/internal/coder"
	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/state"
)

// stateAccess serves the user state requests of one bundle attempt from
// its state overlay: the Fn API's state keys mapped onto the store's
// cells. It implements operator.StateAccess, which the local runner hands
// to the bundle executor and the portable runner's state service answers
// with.
type stateAccess struct {
	// mu serialises the overlay's users: state requests and the timers
	// that arrive on another stream.
	mu *sync.Mutex
	sb *state.Bundle
}

var _ operator.StateAccess = (*stateAccess)(nil)

// cell returns the store cell that k addresses.
func cell(k *operator.StateKey) (state.Cell, error) {
	w := window.Global()
	if len(k.Window) > 0 {
		var err error
		if w, _, err = coder.IntervalWindow().Decode(k.Window); err != nil {
			return state.Cell{}, fmt.Errorf("engine: state %q window: %w", k.StateID, err)
		}
	}
	return state.Cell{Transform: state.TransformID(k.TransformID), State: state.StateID(k.StateID), Key: k.Key, Window: w}, nil
}

// Get returns one page of the state k addresses, its values concatenated
// (an ordered list's entries as operator.AppendListEntry writes them).
func (a *stateAccess) Get(_ context.Context, k *operator.StateKey, token []byte) ([]byte, []byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, err := cell(k)
	if err != nil {
		return nil, nil, err
	}
	var p state.Page
	switch k.Kind {
	case operator.BagUserState:
		// The values straight into the response, with no page between.
		return a.sb.ReadBag(c, token, nil)
	case operator.MultimapUserState:
		p, err = a.sb.Get(c, k.MapKey, token)
	case operator.MultimapKeysUserState:
		p, err = a.sb.Keys(c, token)
	case operator.OrderedListUserState:
		p, err = a.sb.ReadRange(c, window.Time(k.Start), window.Time(k.End), token)
	default:
		return nil, nil, fmt.Errorf("engine: unknown user state kind %d", k.Kind)
	}
	if err != nil {
		return nil, nil, err
	}
	var data []byte
	for i, v := range p.Values {
		if k.Kind == operator.OrderedListUserState {
			data = operator.AppendListEntry(data, p.Timestamps[i], v)
			continue
		}
		data = append(data, v...)
	}
	return data, p.Next, nil
}

// Append adds data to the state k addresses: an ordered list's data is
// one or more entries (operator.CutListEntry).
func (a *stateAccess) Append(_ context.Context, k *operator.StateKey, data []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, err := cell(k)
	if err != nil {
		return err
	}
	switch k.Kind {
	case operator.BagUserState:
		return a.sb.Append(c, data)
	case operator.MultimapUserState:
		return a.sb.Put(c, k.MapKey, data)
	case operator.OrderedListUserState:
		for len(data) > 0 {
			ts, v, n, err := operator.CutListEntry(data)
			if err != nil {
				return fmt.Errorf("engine: ordered list state %q: append: %w", k.StateID, err)
			}
			if err := a.sb.AddAt(c, ts, v); err != nil {
				return err
			}
			data = data[n:]
		}
		return nil
	}
	return fmt.Errorf("engine: user state kind %d does not take appends", k.Kind)
}

// Clear removes the state k addresses.
func (a *stateAccess) Clear(_ context.Context, k *operator.StateKey) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, err := cell(k)
	if err != nil {
		return err
	}
	switch k.Kind {
	case operator.BagUserState, operator.MultimapKeysUserState:
		return a.sb.Clear(c)
	case operator.MultimapUserState:
		return a.sb.Remove(c, k.MapKey)
	case operator.OrderedListUserState:
		return a.sb.ClearRange(c, window.Time(k.Start), window.Time(k.End))
	}
	return fmt.Errorf("engine: unknown user state kind %d", k.Kind)
}
