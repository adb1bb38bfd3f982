package operator

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/beamgo-dev/beamgo/internal/coder"
	"github.com/beamgo-dev/beamgo/internal/window"
)

// StateKeyKind says which kind of user state a StateKey addresses, as the
// Fn API's StateKey variants do.
type StateKeyKind uint8

// The kinds of user state keys.
const (
	// BagUserState serves value, bag and combining state.
	BagUserState StateKeyKind = iota
	// MultimapUserState is the values of one map key (MapKey).
	MultimapUserState
	// MultimapKeysUserState is the keys of a multimap.
	MultimapKeysUserState
	// OrderedListUserState is the entries of an ordered list with
	// timestamps in [Start, End).
	OrderedListUserState
)

// StateKey addresses user state of one key and window on the runner, as a
// Fn API StateKey does. Key and Window are nested encodings (the window
// empty for the global window), MapKey the nested encoding of a map key.
type StateKey struct {
	Kind        StateKeyKind
	TransformID string
	StateID     string
	Key, Window []byte
	MapKey      []byte
	// Start and End bound an ordered list's range, [Start, End) in
	// milliseconds.
	Start, End int64
}

// StateAccess reads and writes the user state of a bundle. The local
// runner serves it from its state store, the SDK harness over the Fn API's
// state service. Writes are visible to later reads of the same bundle and
// become durable only if the bundle commits.
//
// Data is what the Fn API carries: concatenated nested encodings of
// values (of map keys for MultimapKeysUserState; of entries as
// AppendListEntry writes them for OrderedListUserState).
//
// The methods must neither keep k past their return nor modify it: the
// SDK's state types reuse one key for all their calls (Keyed.StateKey).
type StateAccess interface {
	// Get returns one page of the state's contents and a continuation
	// token for the next one (nil on the last page).
	Get(ctx context.Context, k *StateKey, token []byte) (data, next []byte, err error)
	// Append adds data to the state.
	Append(ctx context.Context, k *StateKey, data []byte) error
	// Clear removes the state (an ordered list's range only).
	Clear(ctx context.Context, k *StateKey) error
}

// An ordered list's entries travel as the Fn API specifies them (beam_fn_api
// StateAppendRequest): each a KV of the sort key, a varint of the int64
// milliseconds, and the value's encoding length-prefixed, whatever the
// value's coder. The length prefix lets a runner cut an append of several
// entries without knowing the value coder. Java and Python SDKs write it
// themselves; Beam Go writes the value with the state's element coder,
// which our runner's planner therefore hands it length-prefixed.

// AppendListEntry appends the ordered list entry of the encoded value v at
// sort key ts to dst.
func AppendListEntry(dst []byte, ts window.Time, v []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(ts))
	dst = binary.AppendUvarint(dst, uint64(len(v)))
	return append(dst, v...)
}

// CutListEntry returns the sort key and encoded value of the ordered list
// entry at the start of data, and the entry's length. The value aliases
// data.
func CutListEntry(data []byte) (ts window.Time, v []byte, n int, err error) {
	u, n1 := binary.Uvarint(data)
	if n1 <= 0 {
		return 0, nil, 0, errors.New("operator: ordered list entry: bad sort key varint")
	}
	l, n2 := binary.Uvarint(data[n1:])
	if n2 <= 0 {
		return 0, nil, 0, errors.New("operator: ordered list entry: bad value length varint")
	}
	start := n1 + n2
	if l > uint64(len(data)-start) {
		return 0, nil, 0, fmt.Errorf("operator: ordered list entry: value of %d bytes, %d left", l, len(data)-start)
	}
	return window.Time(u), data[start : start+int(l)], start + int(l), nil
}

// ReadAll reads every page of state k.
func ReadAll(ctx context.Context, sa StateAccess, k *StateKey) ([]byte, error) {
	var out, token []byte
	for {
		data, next, err := sa.Get(ctx, k, token)
		if err != nil {
			return nil, err
		}
		if out == nil && len(next) == 0 {
			return data, nil
		}
		out = append(out, data...)
		if len(next) == 0 {
			return out, nil
		}
		token = next
	}
}

// TimerDomain is the time domain of a fired timer.
type TimerDomain uint8

// The time domains.
const (
	EventTimeDomain TimerDomain = iota
	ProcessingTimeDomain
)

// FiredTimer is a timer that a runner fires: its family and tag, when it
// was set to fire and the output timestamp it held.
type FiredTimer struct {
	Family, Tag string
	Domain      TimerDomain
	Fire, Hold  window.Time
}

// Keyed is the per-element context of a stateful ParDo: the key and
// window that address state and timers. Its fields are set by the
// operator before every call into user code.
type Keyed struct {
	// Key is the nested encoding of the key being processed.
	Key []byte
	// Timer is the timer being fired, nil while processing elements.
	Timer *FiredTimer
	// GCTime returns the time after which a window's state is garbage:
	// its maximum timestamp plus the allowed lateness.
	GCTime func(w window.Window) window.Time

	keyCoder coder.Any
	timers   coder.Coder[coder.Timer[[]byte]]
	buf      []byte
	wins     [1]window.Window
	key      any
	keyOK    bool
	winCoder coder.Coder[window.Window]
	win      window.Window
	winBytes []byte
	winOK    bool
	// sk is the state key StateKey fills for every state call.
	sk StateKey
}

// StateKey returns a state key of the key and window being processed,
// for one state call: it is the same StateKey every time, overwritten by
// the next call, so that a state read or write allocates none
// (StateAccess implementations copy what they need of a key and do not
// keep it past the call).
func (k *Keyed) StateKey(kind StateKeyKind, transformID, stateID string, w window.Window) *StateKey {
	k.sk = StateKey{Kind: kind, TransformID: transformID, StateID: stateID, Key: k.Key, Window: k.WindowBytes(w)}
	return &k.sk
}

// KeyValue returns the decoded key being processed.
func (k *Keyed) KeyValue() (any, error) {
	if !k.keyOK {
		v, _, err := k.keyCoder.DecodeAny(k.Key)
		if err != nil {
			return nil, fmt.Errorf("operator: decode state key: %w", err)
		}
		k.key, k.keyOK = v, true
	}
	return k.key, nil
}

// WindowBytes returns the nested encoding of w (empty for the global
// window), cached for the last window asked for.
func (k *Keyed) WindowBytes(w window.Window) []byte {
	if !k.winOK || k.win != w {
		k.win, k.winOK = w, true
		k.winBytes = k.winBytes[:0]
		if !w.IsGlobal() {
			k.winBytes = k.winCoder.Encode(k.winBytes, w)
		}
	}
	return k.winBytes
}

// setKey sets the encoded key and forgets the decoded one.
func (k *Keyed) setKey(key []byte) {
	k.Key = append(k.Key[:0], key...)
	k.keyOK = false
}

// StatefulSpec is what the ParDo operator of a stateful DoFn needs beyond
// a plain ParDo: how to find an element's key, and the timers' coder.
type StatefulSpec[In any] struct {
	// KeyOf appends the nested encoding of an element's key to dst.
	KeyOf func(dst []byte, v In) []byte
	// KeyCoder codes keys; WindowCoder windows.
	KeyCoder    coder.Any
	WindowCoder coder.Coder[window.Window]
	// GCTime is Keyed.GCTime.
	GCTime func(w window.Window) window.Time
	// Families maps the DoFn's timer family ids to their domain.
	Families map[string]TimerDomain
	// ExpiryFamily is the timer family that fires OnWindowExpiration
	// ("" if the DoFn has none).
	ExpiryFamily string
}

// rawKey is a coder of the encoded bytes of a key: Decode returns a copy
// of one key's encoding, Encode appends an encoding.
type rawKey struct{ c coder.Any }

func (r rawKey) Encode(dst, v []byte) []byte { return append(dst, v...) }
func (r rawKey) Decode(src []byte) ([]byte, int, error) {
	n, err := r.c.Skip(src)
	if err != nil {
		return nil, 0, err
	}
	return append([]byte(nil), src[:n]...), n, nil
}
func (r rawKey) Spec() coder.Spec    { return r.c.Spec() }
func (r rawKey) Deterministic() bool { return r.c.Deterministic() }

// TimerCoder returns the beam:coder:timer:v1 coder of a stateful ParDo's
// timers, over encoded keys.
func (s *StatefulSpec[In]) TimerCoder() coder.Coder[coder.Timer[[]byte]] {
	return coder.NewTimer[[]byte](rawKey{s.KeyCoder}, s.WindowCoder)
}

// TimerSink receives the timers a transform sets or clears while a bundle
// runs: encoded beam:coder:timer:v1 values of one timer family. The runner
// applies them in order, so the last set or clear of a timer wins.
type TimerSink func(family string, encoded []byte) error

// ErrNoState is returned by state and timer calls outside a stateful
// ParDo, or in a bundle whose runner serves no user state.
var ErrNoState = errors.New("operator: no user state here: state and timers work only in a ParDo over KV input whose DoFn declares them")

// WriteTimer sets (or, with clear, clears) the timer tag of family for the
// current key in the window of ec, handing it to the bundle's TimerSink.
func (k *Keyed) WriteTimer(ec *ElemContext, family, tag string, clear bool, fire, hold window.Time) error {
	if ec.Env == nil || ec.Env.Timers == nil {
		return ErrNoState
	}
	k.wins[0] = ec.Window
	k.buf = k.timers.Encode(k.buf[:0], coder.Timer[[]byte]{
		UserKey: k.Key, DynamicTimerTag: tag, Windows: k.wins[:], ClearBit: clear,
		FireTimestamp: fire, HoldTimestamp: hold, Pane: window.NoFiringPane(),
	})
	return ec.Env.Timers(family, k.buf)
}
