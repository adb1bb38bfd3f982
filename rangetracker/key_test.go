package rangetracker

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
)

// keyCheck is Beam's LexicographicKeyRangeTrackerTest._check: given a
// fraction, a key or both, each must map to the other (the fraction within
// delta, exactly if delta is 0).
type keyCheck struct {
	f           float64
	key         string // "" with noKey: compute from f
	noKey       bool
	noFraction  bool // compute f from key
	start, stop string
	delta       float64
}

func (c keyCheck) String() string {
	return fmt.Sprintf("f=%v key=%q start=%q stop=%q", c.f, c.key, c.start, c.stop)
}

func (c keyCheck) run(t *testing.T) {
	t.Helper()
	start, stop := []byte(c.start), []byte(c.stop)
	f, key := c.f, []byte(c.key)
	if c.noFraction {
		f = KeyFraction(key, start, stop)
	} else if c.noKey {
		var err error
		if key, err = KeyAtFraction(f, start, stop); err != nil {
			t.Fatalf("KeyAtFraction(%v, %q, %q) = %v", f, start, stop, err)
		}
	}
	gotF := KeyFraction(key, start, stop)
	if len(key) == 0 && len(stop) == 0 && f == 1 {
		gotF = 1 // the end of the key space has no key to measure
	}
	if c.delta != 0 {
		if math.Abs(gotF-f) > c.delta {
			t.Errorf("KeyFraction(%q, %q, %q) = %v, want %v within %v", key, start, stop, gotF, f, c.delta)
		}
	} else if gotF != f {
		t.Errorf("KeyFraction(%q, %q, %q) = %v, want %v", key, start, stop, gotF, f)
	}
	gotKey, err := KeyAtFraction(f, start, stop)
	if err != nil || !bytes.Equal(gotKey, key) {
		t.Errorf("KeyAtFraction(%v, %q, %q) = %q, %v; want %q", f, start, stop, gotKey, err, key)
	}
}

func TestKeyFractionMapping(t *testing.T) {
	a100, a101, a102 := strings.Repeat("a", 100), strings.Repeat("a", 101), strings.Repeat("a", 102)
	ff100 := strings.Repeat("\xff", 100)
	tests := []struct {
		name   string
		checks []keyCheck
	}{
		{
			name: "keys with no endpoints are base-256 fractions",
			checks: []keyCheck{
				{key: "\x07", f: 7.0 / 256},
				{key: "\xff", f: 255.0 / 256},
				{key: "\x01\x02\x03", f: float64(1<<16+1<<9+3) / (1 << 24)},
			},
		},
		{
			name: "keys are fractions of the range between start and stop",
			checks: []keyCheck{
				{key: "\x87", start: "\x80", f: 7.0 / 128},
				{key: "\x07", stop: "\x10", f: 7.0 / 16},
				{key: "\x47", start: "\x40", stop: "\x80", f: 7.0 / 64},
				{key: "\x47\x80", start: "\x40", stop: "\x80", f: 15.0 / 128},
			},
		},
		{
			name: "a long common prefix does not cost precision",
			checks: []keyCheck{
				{key: a100 + "b", start: a100 + "a", stop: a100 + "c", f: 0.5},
				{key: a100 + "b", start: a100 + "a", stop: a100 + "e", f: 0.25},
				{key: ff100 + "\x40", start: ff100, f: 0.25},
				{key: "foob", start: "fooa\xff\xff\xff\xff\xff\xff\xff\xff\xfe", stop: "foob\x00\x00\x00\x00\x00\x00\x00\x00\x02", f: 0.5},
			},
		},
		{
			name: "tiny fractions get more bytes",
			checks: []keyCheck{
				{f: math.Pow(.5, 20), key: "\x00\x00\x10"},
				{f: math.Pow(.5, 20), start: "a", stop: "b", key: "a\x00\x00\x10"},
				{f: math.Pow(.5, 20), start: "a", stop: "c", key: "a\x00\x00\x20"},
				{f: math.Pow(.5, 20), start: "xy_a", stop: "xy_c", key: "xy_a\x00\x00\x20"},
				{f: math.Pow(.5, 20), start: "\xff\xff\x80", key: "\xff\xff\x80\x00\x08"},
				{f: math.Pow(.5, 20) / 3, start: "xy_a", stop: "xy_c", key: "xy_a\x00\x00\n\xaa\xaa\xaa\xaa\xaa", delta: 1e-15},
				{f: math.Pow(.5, 100), key: strings.Repeat("\x00", 12) + "\x10"},
				{f: 1e-300, noKey: true, start: "a", stop: "b", delta: 1e-312},
			},
		},
		{
			name: "about 53 bits of precision beyond the common prefix",
			checks: []keyCheck{
				{f: 1 / math.E, start: "abc_abc", stop: "abc_xyz", key: "abc_i\xe0\xf4\x84\x86\x99\x96", delta: 1e-15},
				{
					f: 1 / math.E, start: "abcd_abc\x00\x00\x00\x00\x00_______________abc",
					stop: "abcd_xyz\x00\x00\x00\x00\x00\x00_______________abc",
					key:  "abcd_i\xe0\xf4\x84\x86\x99\x96", delta: 1e-15,
				},
				{
					f: 1e-20 / math.E, start: "abcd_abc", stop: "abcd_xyz",
					key: "abcd_abc\x00\x00\x00\x00\x00\x01\x91#\x172N\xbb", delta: 1e-35,
				},
			},
		},
		{
			name: "a third of the key space",
			checks: []keyCheck{
				{f: 1.0 / 3, key: "UUUUUUT", delta: 1e-14},
				{f: 1.0 / 3, noKey: true, delta: 1e-14},
			},
		},
		{
			name: "evenly spaced text keys",
			checks: []keyCheck{
				{f: 0, start: "aaaaaa", stop: "eeeeee", key: "aaaaaa"},
				{f: .25, start: "aaaaaa", stop: "eeeeee", key: "bbbbbb"},
				{f: .5, start: "aaaaaa", stop: "eeeeee", key: "cccccc"},
				{f: .75, start: "aaaaaa", stop: "eeeeee", key: "dddddd"},
				{f: 1, start: "aaaaaa", stop: "eeeeee", key: "eeeeee"},
			},
		},
		{
			name: "a key computed from a fraction maps back to it",
			checks: func() []keyCheck {
				ranges := [][2]string{
					{"", ""}, {"\x01", ""}, {"", "\xf0"}, {"0x75", "\x76"}, {"0x75", "\x77"}, {"0x75", "\x78"},
					{a100 + "\x80", a100 + "\x81"}, {a101 + "\x80", a101 + "\x81"}, {a102 + "\x80", a102 + "\x81"},
				}
				var cs []keyCheck
				for _, f := range []float64{0, 1, .5, .75, 7.0 / 512, 1 - 7.0/4096} {
					for _, r := range ranges {
						cs = append(cs, keyCheck{f: f, noKey: true, start: r[0], stop: r[1]})
					}
				}
				for _, f := range []float64{.3, 1.0 / 3, 1 / math.E, .001, 1e-30, .99, .999999} {
					for _, r := range ranges[:7] {
						cs = append(cs, keyCheck{f: f, noKey: true, start: r[0], stop: r[1], delta: 1e-14})
					}
				}
				return cs
			}(),
		},
		{
			name: "a fraction computed from a key maps back to it",
			checks: []keyCheck{
				{key: "\x12\x34", noFraction: true},
				{key: "m", start: "a", stop: "z", noFraction: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range tt.checks {
				t.Run(c.String(), c.run)
			}
		})
	}
}

func TestKeyFractionEdges(t *testing.T) {
	tests := []struct {
		name             string
		key, start, stop string
		want             float64
	}{
		{name: "the empty key is 0", key: "", want: 0},
		{name: "an empty range is 0", key: "a", start: "a", stop: "a", want: 0},
		{name: "a key before the start is negative", key: "\x40", start: "\x80", stop: "\xc0", want: -1},
		{name: "a key past the stop is more than 1", key: "\xc0", start: "\x40", stop: "\x80", want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KeyFraction([]byte(tt.key), []byte(tt.start), []byte(tt.stop)); got != tt.want {
				t.Errorf("KeyFraction(%q, %q, %q) = %v, want %v", tt.key, tt.start, tt.stop, got, tt.want)
			}
		})
	}
}

func TestKeyAtFractionEdges(t *testing.T) {
	tests := []struct {
		name        string
		f           float64
		start, stop string
		want        string
		wantErr     bool
	}{
		{name: "a negative fraction is an error", f: -0.5, wantErr: true},
		{name: "a fraction over 1 is an error", f: 1.5, wantErr: true},
		{name: "NaN is an error", f: math.NaN(), wantErr: true},
		{name: "neighbouring keys give the stop", f: 0.5, start: "a", stop: "a\x00", want: "a\x00"},
		{
			name: "a stop a long run of zeros after start is not passed", f: 0.5,
			start: "ab", stop: "ab" + strings.Repeat("\x00", 20) + "\x01", want: "ab" + strings.Repeat("\x00", 20) + "\x01",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := KeyAtFraction(tt.f, []byte(tt.start), []byte(tt.stop))
			if (err != nil) != tt.wantErr || string(got) != tt.want {
				t.Errorf("KeyAtFraction(%v, %q, %q) = %q, %v; want %q, error %v", tt.f, tt.start, tt.stop, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

var key steps[[]byte]

func TestLexicographicKey(t *testing.T) {
	b := func(s string) []byte { return []byte(s) }
	tests := []struct {
		name        string
		start, stop string
		steps       []step[[]byte]
	}{
		{
			name: "claims inside the range succeed and at the stop fail", start: "b", stop: "d",
			steps: []step[[]byte]{
				key.claimErr(b("a")), key.claim(b("b"), true), key.claim(b("b\x00"), true), key.claim(b("c\xff"), true),
				key.claim(b("d"), false), key.claimErr(b("d")), key.claim(b("e"), false),
			},
		},
		{
			name: "an unbounded stop accepts any key and splits", start: "", stop: "",
			steps: []step[[]byte]{
				key.split(b("\x80"), 0.5), key.stop(b("\x80")), key.claim(b("\x10"), true), key.fraction(0.125),
				key.claim(b("\x80"), false),
			},
		},
		{
			name: "the end of the key space is the position at fraction 1", start: "\x40", stop: "",
			steps: []step[[]byte]{
				key.position(1, nil), key.position(0, b("\x40")), key.position(0.5, b("\xa0")),
				key.refuse(nil, RefusedOutOfRange),
			},
		},
		{
			name: "a split before the first claim is allowed", start: "a", stop: "c",
			steps: []step[[]byte]{key.refuse(b("a"), RefusedOutOfRange), key.split(b("b"), 0.5), key.claim(b("b"), false)},
		},
		{
			name: "a split at or before the last record is refused", start: "a", stop: "c",
			steps: []step[[]byte]{
				key.claim(b("b"), true), key.refuse(b("b"), RefusedConsumed), key.refuse(b("a\xff"), RefusedConsumed),
				key.refuse(b("c"), RefusedOutOfRange), key.split(b("b\x00"), KeyFraction(b("b\x00"), b("a"), b("c"))),
			},
		},
		{
			name: "a checkpoint splits at the next key", start: "a", stop: "c",
			steps: []step[[]byte]{
				key.noCheckpoint(RefusedUnstarted), key.claim(b("b"), true),
				key.checkpoint(b("b\x00"), KeyFraction(b("b\x00"), b("a"), b("c"))), key.claim(b("b\x00"), false),
			},
		},
		{
			name: "non-split-point keys continue a claimed key", start: "a", stop: "c",
			steps: []step[[]byte]{
				key.setErr(b("a")), key.claim(b("a"), true), key.set(b("a1")), key.set(b("a1")), key.setErr(b("a0")),
				key.claimErr(b("a0")), key.claim(b("a1"), true),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			runSteps(t, NewLexicographicKey(b(tt.start), b(tt.stop)), tt.steps, bytes.Equal)
		})
	}
}

func TestLexicographicKeyCopiesKeys(t *testing.T) {
	start, stop := []byte("a"), []byte("c")
	rt := NewLexicographicKey(start, stop)
	start[0], stop[0] = 'z', 'z'
	buf := []byte("b")
	if ok, err := rt.TryClaim(buf); !ok || err != nil {
		t.Fatalf("TryClaim(%q) = %v, %v; want true, nil", buf, ok, err)
	}
	buf[0] = 'a' // the reader reuses its buffer
	if ok, err := rt.TryClaim([]byte("a\xff")); err == nil {
		t.Errorf("TryClaim(%q) after TryClaim(%q) = %v, nil; want an error", "a\xff", "b", ok)
	}
	got := rt.StartPosition()
	got[0] = 'z'
	if got, want := rt.StartPosition(), []byte("a"); !bytes.Equal(got, want) {
		t.Errorf("StartPosition() = %q, want %q", got, want)
	}
	if got, want := rt.StopPosition(), []byte("c"); !bytes.Equal(got, want) {
		t.Errorf("StopPosition() = %q, want %q", got, want)
	}
	var seen []byte
	rt.SetSplitPointsUnclaimedCallback(func(stop []byte) int64 { seen = stop; stop[0] = 'x'; return 1 })
	if c, r := rt.SplitPoints(); c != 0 || r != 2 {
		t.Errorf("SplitPoints() = (%d, %d), want (0, 2)", c, r)
	}
	if got, want := rt.StopPosition(), []byte("c"); !bytes.Equal(got, want) || string(seen) != "x" {
		t.Errorf("after the callback wrote to its stop, StopPosition() = %q, want %q", got, want)
	}
}

func TestLexicographicKeyErrorQuotesKeys(t *testing.T) {
	rt := NewLexicographicKey([]byte("a"), nil)
	rt.TryClaim([]byte("b\x01"))
	_, err := rt.TryClaim([]byte("b"))
	if err == nil || !strings.Contains(err.Error(), `TryClaim("b") after TryClaim("b\x01")`) {
		t.Errorf("TryClaim(%q) after TryClaim(%q) = %v, want an error quoting both keys", "b", "b\x01", err)
	}
	if got, want := rt.String(), `LexicographicKey["a", the end) last record "b\x01"`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
