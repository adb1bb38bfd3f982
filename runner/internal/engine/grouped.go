package engine

import (
	"encoding/binary"
	"iter"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/shuffle"
)

// groupedInput encodes the groups of one shuffle partition as
// KV<key, Iterable<value>> windowed values, in chunks.
func groupedInput(sh *shuffle.Shuffle, part int, src *wire) iter.Seq2[[]byte, error] {
	return shuffleInput(sh, part, src, false)
}

// keyedInput encodes the groups of one shuffle partition as their KV<key,
// value> elements again, group after group, in chunks.
func keyedInput(sh *shuffle.Shuffle, part int, src *wire) iter.Seq2[[]byte, error] {
	return shuffleInput(sh, part, src, true)
}

// shuffleInput encodes the groups of one shuffle partition, grouped or
// (ungroup) one element per value, as windowed values in the group's
// window at its end, in chunks of about 64 KiB.
func shuffleInput(sh *shuffle.Shuffle, part int, src *wire, ungroup bool) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		e := &chunkEncoder{src: src, ungroup: ungroup, yield: yield, wins: make([]window.Window, 1)}
		if err := sh.VisitGroups(part, e); err != nil {
			if !e.stopped {
				yield(nil, err)
			}
			return
		}
		if !e.stopped && len(e.chunk) > 0 {
			yield(e.chunk, nil)
		}
	}
}

// chunkEncoder is a groupVisitor that encodes groups in place: a windowed
// value's element comes last, after its header, and a KV<key,
// Iterable<value>> is the key, the value count and the values, so each
// value is copied once, into the chunk, even in a group larger than
// memory would hold twice.
type chunkEncoder struct {
	src     *wire
	ungroup bool
	yield   func([]byte, error) bool
	// stopped is set when yield returned false.
	stopped bool

	chunk  []byte
	wins   []window.Window
	header window.Value[[]byte]
	key    []byte
	// count is the current group's values so far; countAt is where its
	// count goes in chunk.
	count   uint32
	countAt int
}

func (e *chunkEncoder) StartGroup(key []byte, win window.Window) {
	e.wins[0] = win
	e.header = window.Value[[]byte]{Timestamp: win.MaxTimestamp(), Windows: e.wins, Pane: window.OnTimePane()}
	e.key = key
	if !e.ungroup {
		e.chunk = append(e.src.wv.Encode(e.chunk, e.header), key...)
		e.countAt, e.count = len(e.chunk), 0
		e.chunk = binary.BigEndian.AppendUint32(e.chunk, 0)
	}
}

func (e *chunkEncoder) AddValue(_ window.Window, val []byte) {
	if !e.ungroup {
		e.chunk = append(e.chunk, val...)
		e.count++
		return
	}
	e.chunk = append(append(e.src.wv.Encode(e.chunk, e.header), e.key...), val...)
	if !e.stopped {
		e.flush()
	}
}

func (e *chunkEncoder) EndGroup() bool {
	if !e.ungroup {
		binary.BigEndian.PutUint32(e.chunk[e.countAt:], e.count)
		e.flush()
	}
	return !e.stopped
}

// flush yields the chunk once it holds 64 KiB.
func (e *chunkEncoder) flush() {
	if len(e.chunk) < 64<<10 || e.stopped {
		return
	}
	if !e.yield(e.chunk, nil) {
		e.stopped = true
	}
	if cap(e.chunk) > shuffle.MaxKeptBuffer {
		e.chunk = nil
	}
	e.chunk = e.chunk[:0]
}
