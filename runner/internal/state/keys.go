package state

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// The store keeps everything in one ordered byte-keyed space, so that both
// backends (in memory and pebble) need only point reads, range
// scans, range deletes and atomic batches. Every key starts with a one-byte
// table tag and then the user key, so that bundles on disjoint user keys
// touch disjoint store keys (the engine's per-key serialisation then needs
// no locking here), and the state of one (key, window) is one contiguous
// range that a window's expiry drops with one range delete.
//
//	s key window transform stateID sub    state cells (sub: see below)
//	t key window transform family tag     timers -> timer record
//	p key domain fire transform family tag window   a key's timers in firing order
//	d domain fire key window transform family tag   all timers in firing order
//	h hold key window transform family tag          holds in time order
//	w gc window key                                 (key, window)s with state or timers
//
// Cell sub-keys: bag seq; multimap mapKey seq; ordered list ts seq. The
// sequence number, unique in the store, keeps insertion order.
//
// Variable-length fields are escaped (0x00 -> 0x00 0xFF) and end in 0x00
// 0x01, so that the encoding is prefix-free and bytewise order equals field
// order; times are big-endian with the sign bit flipped.
const (
	tagState   = 's'
	tagTimer   = 't'
	tagPerKey  = 'p'
	tagDue     = 'd'
	tagHold    = 'h'
	tagWindows = 'w'
)

// errCorrupt reports a store key or value this package did not write.
var errCorrupt = errors.New("state: corrupt store entry")

// appendBytes appends the escaped, terminated encoding of b.
func appendBytes(dst, b []byte) []byte {
	for _, c := range b {
		if c == 0 {
			dst = append(dst, 0, 0xFF)
			continue
		}
		dst = append(dst, c)
	}
	return append(dst, 0, 1)
}

// appendString is appendBytes for a string, without converting it.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			dst = append(dst, 0, 0xFF)
			continue
		}
		dst = append(dst, s[i])
	}
	return append(dst, 0, 1)
}

// appendTime appends t so that bytewise order is time order.
func appendTime(dst []byte, t window.Time) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(t)^(1<<63))
}

// appendUint appends v big-endian.
func appendUint(dst []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(dst, v) }

// appendWindow appends w: 0 and start and end for an interval window, the
// single byte 1 for the global window (which sorts after every interval
// window, and is short because most stateful state lives in it).
func appendWindow(dst []byte, w window.Window) []byte {
	if w.IsGlobal() {
		return append(dst, 1)
	}
	dst = append(dst, 0)
	dst = appendTime(dst, w.Start)
	return appendTime(dst, w.End)
}

// decoder reads the fields of an encoded key in order; the first error
// sticks, so callers check err once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.b = nil
}

func (d *decoder) byte1() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uint() uint64 {
	if len(d.b) < 8 {
		d.fail()
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) time() window.Time { return window.Time(d.uint() ^ (1 << 63)) }

// bytes decodes an escaped field into a new slice.
func (d *decoder) bytes() []byte {
	out := []byte{}
	for i := 0; i < len(d.b); i++ {
		if d.b[i] != 0 {
			out = append(out, d.b[i])
			continue
		}
		if i+1 >= len(d.b) {
			break
		}
		switch d.b[i+1] {
		case 0xFF:
			out = append(out, 0)
			i++
		case 1:
			d.b = d.b[i+2:]
			return out
		default:
			d.fail()
			return nil
		}
	}
	d.fail()
	return nil
}

// skipBytes skips an escaped field.
func (d *decoder) skipBytes() {
	for i := 0; i+1 < len(d.b); i++ {
		if d.b[i] == 0 {
			if d.b[i+1] == 1 {
				d.b = d.b[i+2:]
				return
			}
			i++
		}
	}
	d.fail()
}

func (d *decoder) window() window.Window {
	switch d.byte1() {
	case 1:
		return window.Global()
	case 0:
		start, end := d.time(), d.time()
		return window.Interval(start, end)
	}
	d.fail()
	return window.Window{}
}

// prefixEnd returns the smallest key greater than every key with prefix p,
// or nil (no upper bound) if there is none.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xFF {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// cellPrefix is the store prefix of all entries of cell c.
func cellPrefix(dst []byte, c Cell) []byte {
	dst = append(dst, tagState)
	dst = appendBytes(dst, c.Key)
	dst = appendWindow(dst, c.Window)
	dst = appendString(dst, string(c.Transform))
	return appendString(dst, string(c.State))
}

// scopePrefix is the prefix of table tag's entries for (key, window).
func scopePrefix(dst []byte, tag byte, key []byte, w window.Window) []byte {
	dst = append(dst, tag)
	dst = appendBytes(dst, key)
	return appendWindow(dst, w)
}

// timerKey is the primary key of timer id.
func timerKey(dst []byte, id TimerID) []byte {
	dst = scopePrefix(dst, tagTimer, id.Key, id.Window)
	dst = appendString(dst, string(id.Transform))
	dst = appendString(dst, string(id.Family))
	return appendString(dst, id.Tag)
}

// timerSuffix appends the identity fields shared by the index keys.
func timerSuffix(dst []byte, id TimerID) []byte {
	dst = appendString(dst, string(id.Transform))
	dst = appendString(dst, string(id.Family))
	dst = appendString(dst, id.Tag)
	return appendWindow(dst, id.Window)
}

// perKeyKey indexes t under its key in firing order.
func perKeyKey(dst []byte, t Timer) []byte {
	dst = append(dst, tagPerKey)
	dst = appendBytes(dst, t.Key)
	dst = append(dst, byte(t.Domain))
	dst = appendTime(dst, t.Fire)
	return timerSuffix(dst, t.TimerID)
}

// perKeyPrefix is the prefix of key's timers of domain d.
func perKeyPrefix(dst, key []byte, d Domain) []byte {
	dst = append(dst, tagPerKey)
	dst = appendBytes(dst, key)
	return append(dst, byte(d))
}

// dueKey indexes t over all keys in firing order.
func dueKey(dst []byte, t Timer) []byte {
	dst = append(dst, tagDue, byte(t.Domain))
	dst = appendTime(dst, t.Fire)
	dst = appendBytes(dst, t.Key)
	return timerSuffix(dst, t.TimerID)
}

// holdKey indexes t's output timestamp.
func holdKey(dst []byte, t Timer) []byte {
	dst = append(dst, tagHold)
	dst = appendTime(dst, t.Hold)
	dst = appendBytes(dst, t.Key)
	return timerSuffix(dst, t.TimerID)
}

// windowKey records that (key, w) has state or timers; gc orders expiry.
func windowKey(dst []byte, gc window.Time, key []byte, w window.Window) []byte {
	dst = append(dst, tagWindows)
	dst = appendTime(dst, gc)
	dst = appendWindow(dst, w)
	return appendBytes(dst, key)
}

// decodeWindowKey is the inverse of windowKey.
func decodeWindowKey(k []byte) (gc window.Time, key []byte, w window.Window, err error) {
	d := decoder{b: k}
	if d.byte1() != tagWindows {
		d.fail()
	}
	gc = d.time()
	w = d.window()
	key = d.bytes()
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	return gc, key, w, d.err
}

// decodeDueKey returns the user key of a due-index entry.
func decodeDueKey(k []byte) (domain Domain, fire window.Time, key []byte, err error) {
	d := decoder{b: k}
	if d.byte1() != tagDue {
		d.fail()
	}
	domain = Domain(d.byte1())
	fire = d.time()
	key = d.bytes()
	return domain, fire, key, d.err
}

// encodeTimer encodes t as: domain, flags (1 = no hold), fire, hold, then
// the identity (transform, family, tag, key, window).
func encodeTimer(dst []byte, t Timer) []byte {
	flags := byte(0)
	if t.NoHold {
		flags = 1
	}
	dst = append(dst, byte(t.Domain), flags)
	dst = appendTime(dst, t.Fire)
	dst = appendTime(dst, t.Hold)
	dst = appendString(dst, string(t.Transform))
	dst = appendString(dst, string(t.Family))
	dst = appendString(dst, t.Tag)
	dst = appendBytes(dst, t.Key)
	return appendWindow(dst, t.Window)
}

// timerTimes reads the leading domain, flags and times of an encoded
// timer.
func (d *decoder) timerTimes() Timer {
	var t Timer
	t.Domain = Domain(d.byte1())
	t.NoHold = d.byte1() == 1
	t.Fire = d.time()
	t.Hold = d.time()
	return t
}

// decodeTimerTimes decodes the domain, flags and times of an encoded
// timer, without its identity (and without allocating).
func decodeTimerTimes(b []byte) (Timer, error) {
	d := decoder{b: b}
	t := d.timerTimes()
	if d.err != nil {
		return Timer{}, fmt.Errorf("state: decode timer: %w", d.err)
	}
	return t, nil
}

// decodeTimer is the inverse of encodeTimer.
func decodeTimer(b []byte) (Timer, error) {
	d := decoder{b: b}
	t := d.timerTimes()
	t.Transform = TransformID(d.bytes())
	t.Family = FamilyID(d.bytes())
	t.Tag = string(d.bytes())
	t.Key = d.bytes()
	t.Window = d.window()
	if d.err != nil {
		return Timer{}, fmt.Errorf("state: decode timer: %w", d.err)
	}
	return t, nil
}
