package coder

import (
	"fmt"
	"slices"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// GlobalWindow returns the beam:coder:global_window:v1 coder. The global
// window encodes to no bytes; Encode ignores its argument and Decode
// returns window.Global().
func GlobalWindow() Coder[window.Window] { return globalWindowCoder{} }

// IntervalWindow returns the beam:coder:interval_window:v1 coder: the end
// as a timestamp, then the span (end - start) as a varint.
func IntervalWindow() Coder[window.Window] { return intervalWindowCoder{} }

type globalWindowCoder struct{}

var _ skipper = globalWindowCoder{}

func (globalWindowCoder) Encode(dst []byte, _ window.Window) []byte { return dst }

func (globalWindowCoder) Decode([]byte) (window.Window, int, error) {
	return window.Global(), 0, nil
}

func (globalWindowCoder) skip([]byte) (int, error) { return 0, nil }
func (globalWindowCoder) Spec() Spec               { return Spec{URN: URNGlobalWindow} }
func (globalWindowCoder) Deterministic() bool      { return true }

type intervalWindowCoder struct{}

var _ skipper = intervalWindowCoder{}

func (intervalWindowCoder) Encode(dst []byte, w window.Window) []byte {
	return appendVarint(appendTime(dst, w.End), int64(w.End-w.Start))
}

func (intervalWindowCoder) Decode(src []byte) (window.Window, int, error) {
	end, err := readTime(src)
	if err != nil {
		return window.Window{}, 0, err
	}
	span, n, err := readVarint(src[8:])
	if err != nil {
		return window.Window{}, 0, err
	}
	return window.Interval(end-window.Time(span), end), 8 + n, nil
}

func (intervalWindowCoder) skip(src []byte) (int, error) {
	if len(src) < 8 {
		return 0, errShort("timestamp")
	}
	n, err := skipVarint(src[8:])
	return 8 + n, err
}

func (intervalWindowCoder) Spec() Spec          { return Spec{URN: URNIntervalWindow} }
func (intervalWindowCoder) Deterministic() bool { return true }

// windowList encodes the window list of windowed values and timers: an
// iterable of windows.
type windowList struct {
	c        Coder[window.Window]
	global   bool
	interval bool
	skipW    func([]byte) (int, error)
}

func newWindowList(c Coder[window.Window]) windowList {
	_, global := c.(globalWindowCoder)
	_, interval := c.(intervalWindowCoder)
	return windowList{c: c, global: global, interval: interval, skipW: skipOf(c)}
}

func (l windowList) encode(dst []byte, ws []window.Window) []byte {
	dst = appendIterCount(dst, len(ws))
	if l.global {
		return dst
	}
	for _, w := range ws {
		dst = l.c.Encode(dst, w)
	}
	return dst
}

// decode decodes a window list. The common single global window decodes to
// the shared window.GlobalWindows() slice, without allocating.
func (l windowList) decode(src []byte) ([]window.Window, int, error) {
	if l.global && len(src) >= 4 && src[0] == 0 && src[1] == 0 && src[2] == 0 && src[3] == 1 {
		return window.GlobalWindows(), 4, nil
	}
	return l.decodeInto(src, nil)
}

// decodeInto decodes a window list into dst's memory, appending to
// dst[:0], interval windows without a call through the Coder interface.
func (l windowList) decodeInto(src []byte, dst []window.Window) ([]window.Window, int, error) {
	if l.global && len(src) >= 4 && src[0] == 0 && src[1] == 0 && src[2] == 0 && src[3] == 1 {
		return append(dst[:0], window.Global()), 4, nil
	}
	count, n, blocks, err := readIterHeader(src, l.skipW)
	if err != nil {
		return nil, 0, err
	}
	ws := slices.Grow(dst[:0], count)
	cur := iterCursor{blocks: blocks}
	for range count {
		if n, err = cur.next(src, n); err != nil {
			return nil, 0, err
		}
		var w window.Window
		var m int
		if l.interval {
			w, m, err = intervalWindowCoder{}.Decode(src[n:])
		} else {
			w, m, err = l.c.Decode(src[n:])
		}
		if err != nil {
			return nil, 0, err
		}
		ws = append(ws, w)
		n += m
	}
	if n, err = cur.end(src, n); err != nil {
		return nil, 0, err
	}
	return ws, n, nil
}

func (l windowList) skip(src []byte) (int, error) { return skipIterable(src, l.skipW) }

// WindowsReuser is implemented by the windowed value coders
// (NewWindowedValue). DecodeReusing is Decode, but decodes the windows
// into ws's memory, appending to ws[:0]: a caller that keeps no decoded
// value's windows past its next call passes the previous value's, and
// decodes without allocating them.
type WindowsReuser[T any] interface {
	DecodeReusing(src []byte, ws []window.Window) (window.Value[T], int, error)
}

// SplitEncoder is implemented by the windowed value coders
// (NewWindowedValue). EncodeSplit is Encode, and also returns where the
// element's encoding starts in the result, after the header (timestamp,
// windows, pane): a caller that holds the value's fields can hand them on
// beside the bytes, so that its receiver need not decode the header again.
type SplitEncoder[T any] interface {
	EncodeSplit(dst []byte, v window.Value[T]) (b []byte, elemAt int)
}

// NewWindowedValue returns the beam:coder:windowed_value:v1 coder: the
// timestamp, the windows (an iterable encoded by wc), the pane, then the
// element encoded by elem in the same context. Decoded values in the single
// global window share window.GlobalWindows(); do not modify Windows.
func NewWindowedValue[T any](elem Coder[T], wc Coder[window.Window]) Coder[window.Value[T]] {
	eo, do := outerOf(elem)
	return &windowedValueCoder[T]{elem: elem, wins: newWindowList(wc), encOuter: eo, decOuter: do, skipElem: skipOf(elem)}
}

type windowedValueCoder[T any] struct {
	elem     Coder[T]
	wins     windowList
	encOuter func([]byte, T) []byte
	decOuter func([]byte) (T, error)
	skipElem func([]byte) (int, error)
}

var (
	_ OuterCoder[window.Value[int]] = (*windowedValueCoder[int])(nil)
	_ skipper                       = (*windowedValueCoder[int])(nil)
	_ WindowsReuser[int]            = (*windowedValueCoder[int])(nil)
	_ SplitEncoder[int]             = (*windowedValueCoder[int])(nil)
)

func (c *windowedValueCoder[T]) encodeHeader(dst []byte, v *window.Value[T]) []byte {
	dst = appendTime(dst, v.Timestamp)
	dst = c.wins.encode(dst, v.Windows)
	return appendPane(dst, v.Pane)
}

// decodeHeader decodes all but the element into v.
func (c *windowedValueCoder[T]) decodeHeader(src []byte, v *window.Value[T]) (int, error) {
	return c.decodeHeaderInto(src, v, nil, false)
}

// decodeHeaderInto is decodeHeader, decoding the windows into ws's memory
// if reuse is set.
func (c *windowedValueCoder[T]) decodeHeaderInto(src []byte, v *window.Value[T], ws []window.Window, reuse bool) (int, error) {
	ts, err := readTime(src)
	if err != nil {
		return 0, err
	}
	var n int
	if reuse {
		ws, n, err = c.wins.decodeInto(src[8:], ws)
	} else {
		ws, n, err = c.wins.decode(src[8:])
	}
	if err != nil {
		return 0, err
	}
	p, m, err := readPane(src[8+n:])
	if err != nil {
		return 0, err
	}
	v.Timestamp, v.Windows, v.Pane = ts, ws, p
	return 8 + n + m, nil
}

// DecodeReusing implements WindowsReuser.
func (c *windowedValueCoder[T]) DecodeReusing(src []byte, ws []window.Window) (window.Value[T], int, error) {
	var v window.Value[T]
	n, err := c.decodeHeaderInto(src, &v, ws, true)
	if err != nil {
		return window.Value[T]{}, 0, err
	}
	e, m, err := c.elem.Decode(src[n:])
	if err != nil {
		return window.Value[T]{}, 0, err
	}
	v.Elem = e
	return v, n + m, nil
}

func (c *windowedValueCoder[T]) Encode(dst []byte, v window.Value[T]) []byte {
	return c.elem.Encode(c.encodeHeader(dst, &v), v.Elem)
}

// EncodeSplit implements SplitEncoder.
func (c *windowedValueCoder[T]) EncodeSplit(dst []byte, v window.Value[T]) ([]byte, int) {
	dst = c.encodeHeader(dst, &v)
	at := len(dst)
	return c.elem.Encode(dst, v.Elem), at
}

func (c *windowedValueCoder[T]) Decode(src []byte) (window.Value[T], int, error) {
	var v window.Value[T]
	n, err := c.decodeHeader(src, &v)
	if err != nil {
		return window.Value[T]{}, 0, err
	}
	e, m, err := c.elem.Decode(src[n:])
	if err != nil {
		return window.Value[T]{}, 0, err
	}
	v.Elem = e
	return v, n + m, nil
}

func (c *windowedValueCoder[T]) EncodeOuter(dst []byte, v window.Value[T]) []byte {
	return c.encOuter(c.encodeHeader(dst, &v), v.Elem)
}

func (c *windowedValueCoder[T]) DecodeOuter(src []byte) (window.Value[T], error) {
	var v window.Value[T]
	n, err := c.decodeHeader(src, &v)
	if err != nil {
		return window.Value[T]{}, err
	}
	if v.Elem, err = c.decOuter(src[n:]); err != nil {
		return window.Value[T]{}, err
	}
	return v, nil
}

func (c *windowedValueCoder[T]) skip(src []byte) (int, error) {
	if len(src) < 8 {
		return 0, errShort("timestamp")
	}
	n, err := c.wins.skip(src[8:])
	if err != nil {
		return 0, err
	}
	n += 8
	m, err := skipPane(src[n:])
	if err != nil {
		return 0, err
	}
	n += m
	m, err = c.skipElem(src[n:])
	return n + m, err
}

func (c *windowedValueCoder[T]) Spec() Spec {
	return Spec{URN: URNWindowedValue, Components: []Spec{c.elem.Spec(), c.wins.c.Spec()}}
}

func (c *windowedValueCoder[T]) Deterministic() bool { return c.elem.Deterministic() }

// NewParamWindowedValue returns the beam:coder:param_windowed_value:v1
// coder: only the element is encoded; decoded values get the timestamp,
// windows and pane given here, which the spec's payload carries. Decoded
// values share the windows slice; do not modify it.
func NewParamWindowedValue[T any](elem Coder[T], wc Coder[window.Window], ts window.Time, windows []window.Window, pane window.Pane) Coder[window.Value[T]] {
	eo, do := outerOf(elem)
	ws := append([]window.Window(nil), windows...)
	// The payload is the windowed_value encoding, with an empty bytes
	// element, of the constant parameters.
	params := NewWindowedValue(Bytes(), wc)
	payload := params.Encode(nil, window.Value[[]byte]{Elem: []byte{}, Timestamp: ts, Windows: ws, Pane: pane})
	return &paramWindowedValueCoder[T]{
		elem: elem, wc: wc, ts: ts, windows: ws, pane: pane, payload: payload,
		encOuter: eo, decOuter: do, skipElem: skipOf(elem),
	}
}

// paramWindowedValueFromPayload builds a param_windowed_value coder from a
// spec's payload.
func paramWindowedValueFromPayload[T any](elem Coder[T], wc Coder[window.Window], payload []byte) (Coder[window.Value[T]], error) {
	// Only the parameters matter; SDKs differ in how they encode the empty
	// element that follows them.
	var params window.Value[[]byte]
	if _, err := NewWindowedValue(Bytes(), wc).(*windowedValueCoder[[]byte]).decodeHeader(payload, &params); err != nil {
		return nil, fmt.Errorf("coder: param_windowed_value payload: %w", err)
	}
	c := NewParamWindowedValue(elem, wc, params.Timestamp, params.Windows, params.Pane).(*paramWindowedValueCoder[T])
	c.payload = append([]byte(nil), payload...)
	return c, nil
}

type paramWindowedValueCoder[T any] struct {
	elem     Coder[T]
	wc       Coder[window.Window]
	ts       window.Time
	windows  []window.Window
	pane     window.Pane
	payload  []byte
	encOuter func([]byte, T) []byte
	decOuter func([]byte) (T, error)
	skipElem func([]byte) (int, error)
}

var (
	_ OuterCoder[window.Value[int]] = (*paramWindowedValueCoder[int])(nil)
	_ skipper                       = (*paramWindowedValueCoder[int])(nil)
)

func (c *paramWindowedValueCoder[T]) Encode(dst []byte, v window.Value[T]) []byte {
	return c.elem.Encode(dst, v.Elem)
}

func (c *paramWindowedValueCoder[T]) Decode(src []byte) (window.Value[T], int, error) {
	e, n, err := c.elem.Decode(src)
	if err != nil {
		return window.Value[T]{}, 0, err
	}
	return window.Value[T]{Elem: e, Timestamp: c.ts, Windows: c.windows, Pane: c.pane}, n, nil
}

func (c *paramWindowedValueCoder[T]) EncodeOuter(dst []byte, v window.Value[T]) []byte {
	return c.encOuter(dst, v.Elem)
}

func (c *paramWindowedValueCoder[T]) DecodeOuter(src []byte) (window.Value[T], error) {
	e, err := c.decOuter(src)
	if err != nil {
		return window.Value[T]{}, err
	}
	return window.Value[T]{Elem: e, Timestamp: c.ts, Windows: c.windows, Pane: c.pane}, nil
}

func (c *paramWindowedValueCoder[T]) skip(src []byte) (int, error) { return c.skipElem(src) }

func (c *paramWindowedValueCoder[T]) Spec() Spec {
	return Spec{URN: URNParamWindowedValue, Payload: c.payload, Components: []Spec{c.elem.Spec(), c.wc.Spec()}}
}

func (c *paramWindowedValueCoder[T]) Deterministic() bool { return c.elem.Deterministic() }

// Timer is a timer as the Fn API carries it (beam:coder:timer:v1): the key
// and tag it belongs to, its windows, and unless ClearBit is set, when it
// fires, the output watermark hold it sets and its pane.
type Timer[K any] struct {
	UserKey         K
	DynamicTimerTag string
	Windows         []window.Window
	// ClearBit marks a timer that is being cleared; the fields below are
	// then not encoded and decode to zero.
	ClearBit      bool
	FireTimestamp window.Time
	HoldTimestamp window.Time
	Pane          window.Pane
}

// NewTimer returns the beam:coder:timer:v1 coder for timers keyed by kc's
// type in windows encoded by wc. All parts are nested, in both contexts.
func NewTimer[K any](kc Coder[K], wc Coder[window.Window]) Coder[Timer[K]] {
	return &timerCoder[K]{kc: kc, wins: newWindowList(wc), skipKey: skipOf(kc)}
}

type timerCoder[K any] struct {
	kc      Coder[K]
	wins    windowList
	skipKey func([]byte) (int, error)
}

var _ skipper = (*timerCoder[int])(nil)

func (c *timerCoder[K]) Encode(dst []byte, t Timer[K]) []byte {
	dst = c.kc.Encode(dst, t.UserKey)
	dst = stringCoder{}.Encode(dst, t.DynamicTimerTag)
	dst = c.wins.encode(dst, t.Windows)
	dst = appendBool(dst, t.ClearBit)
	if t.ClearBit {
		return dst
	}
	dst = appendTime(dst, t.FireTimestamp)
	dst = appendTime(dst, t.HoldTimestamp)
	return appendPane(dst, t.Pane)
}

func (c *timerCoder[K]) Decode(src []byte) (Timer[K], int, error) {
	var t Timer[K]
	n, err := c.walk(src, &t)
	if err != nil {
		return Timer[K]{}, 0, err
	}
	return t, n, nil
}

func (c *timerCoder[K]) skip(src []byte) (int, error) { return c.walk(src, nil) }

// walk decodes a timer into t, or only measures it if t is nil.
func (c *timerCoder[K]) walk(src []byte, t *Timer[K]) (int, error) {
	var n, m int
	var err error
	if t != nil {
		t.UserKey, n, err = c.kc.Decode(src)
	} else {
		n, err = c.skipKey(src)
	}
	if err != nil {
		return 0, err
	}
	if t != nil {
		t.DynamicTimerTag, m, err = stringCoder{}.Decode(src[n:])
	} else {
		m, err = stringCoder{}.skip(src[n:])
	}
	if err != nil {
		return 0, err
	}
	n += m
	if t != nil {
		t.Windows, m, err = c.wins.decode(src[n:])
	} else {
		m, err = c.wins.skip(src[n:])
	}
	if err != nil {
		return 0, err
	}
	n += m
	clear, err := readBool(src[n:])
	if err != nil {
		return 0, err
	}
	n++
	if t != nil {
		t.ClearBit = clear
	}
	if clear {
		return n, nil
	}
	fire, err := readTime(src[n:])
	if err != nil {
		return 0, err
	}
	hold, err := readTime(src[n+8:])
	if err != nil {
		return 0, err
	}
	p, m, err := readPane(src[n+16:])
	if err != nil {
		return 0, err
	}
	if t != nil {
		t.FireTimestamp, t.HoldTimestamp, t.Pane = fire, hold, p
	}
	return n + 16 + m, nil
}

func (c *timerCoder[K]) Spec() Spec {
	return Spec{URN: URNTimer, Components: []Spec{c.kc.Spec(), c.wins.c.Spec()}}
}

func (c *timerCoder[K]) Deterministic() bool { return c.kc.Deterministic() }
