// Command statebench measures the state store (runner/internal/state) on
// the shapes of issue 16, outside `make test`:
//
//	-job=stateful   the stateful benchmark's store traffic: events over
//	                keys, each a value read and write, a bag append and an
//	                event-time timer set (four operations), in bundles; then
//	                the watermark passes every timer and each key is drained
//	                (pop, bag read, clears).
//	-job=big        bag state several times the memory budget on the pebble
//	                backend, written then read back and checked.
//
// It prints throughput and the process's peak RSS (VmHWM), e.g.
//
//	go run ./runner/internal/state/statebench -backend=memory
//	go run ./runner/internal/state/statebench -backend=pebble -budget=128
//	go run ./runner/internal/state/statebench -job=big -budget=128 -size=512
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/state"
)

func main() {
	job := flag.String("job", "stateful", "stateful or big")
	backend := flag.String("backend", "memory", "memory or pebble")
	ops := flag.Int("ops", 10_000_000, "store operations of the stateful job (4 per event)")
	keys := flag.Int("keys", 1_000_000, "keys of the stateful job")
	bundle := flag.Int("bundle", 1000, "events per bundle")
	workers := flag.Int("workers", 1, "concurrent bundles (keys are sharded, so they are disjoint)")
	budget := flag.Int64("budget", 128, "pebble memory budget, MiB")
	size := flag.Int64("size", 512, "bag state of the big job, MiB")
	dir := flag.String("dir", "", "parent of pebble's directory (default: the system temp dir)")
	flag.Parse()

	opts := &state.Options{MemoryBudget: *budget << 20, Dir: *dir}
	switch *backend {
	case "memory":
	case "pebble":
		opts.Backend = state.Pebble
	default:
		log.Fatalf("unknown backend %q", *backend)
	}
	s, err := state.Open(opts)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	switch *job {
	case "stateful":
		err = stateful(s, *ops/4, *keys, *bundle, *workers)
	case "big":
		err = big(s, *size<<20, *bundle)
	default:
		err = fmt.Errorf("unknown job %q", *job)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("peak RSS: %d MiB, CPU time: %v\n", peakRSS()>>20, cpuTime().Round(time.Millisecond))
}

var w = window.Global()

func keyOf(k int) []byte { return binary.BigEndian.AppendUint64(nil, uint64(k)) }

// stateful runs events over keys, sharded over workers.
func stateful(s *state.Store, events, keys, bundle, workers int) error {
	start, cpu0 := time.Now(), cpuTime()
	if err := shard(workers, func(wk int) error { return feed(s, wk, workers, events, keys, bundle) }); err != nil {
		return err
	}
	el, cpu := time.Since(start), cpuTime()-cpu0
	fmt.Printf("write: %d events (%d ops) over %d keys in %v (CPU %v): %.0f ops/s, %.0f ops per CPU-second\n",
		events, events*4, keys, el.Round(time.Millisecond), cpu.Round(time.Millisecond),
		float64(events*4)/el.Seconds(), float64(events*4)/cpu.Seconds())

	start, cpu0 = time.Now(), cpuTime()
	var mu sync.Mutex
	fired := 0
	if err := shard(workers, func(wk int) error {
		n, err := fire(s, wk, workers, keys, bundle)
		mu.Lock()
		fired += n
		mu.Unlock()
		return err
	}); err != nil {
		return err
	}
	el, cpu = time.Since(start), cpuTime()-cpu0
	fmt.Printf("fire: %d timers (pop, bag read, 2 clears each) in %v (CPU %v): %.0f timers/s, %.0f per CPU-second\n",
		fired, el.Round(time.Millisecond), cpu.Round(time.Millisecond), float64(fired)/el.Seconds(), float64(fired)/cpu.Seconds())
	if fired != min(keys, events) {
		return fmt.Errorf("fired %d timers, want %d", fired, min(keys, events))
	}
	return nil
}

func shard(workers int, fn func(int) error) error {
	errs := make(chan error, workers)
	for wk := range workers {
		go func() { errs <- fn(wk) }()
	}
	var first error
	for range workers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// feed runs worker wk's share of the events: event i goes to key
// (i*7919) mod keys, so every key is hit and bundles spread over keys.
func feed(s *state.Store, wk, workers, events, keys, bundle int) error {
	b := s.Begin()
	n := 0
	for i := range events {
		k := (i * 7919) % keys
		if k%workers != wk {
			continue
		}
		key := keyOf(k)
		value := state.Cell{Transform: "fn", State: "value", Key: key, Window: w}
		bag := state.Cell{Transform: "fn", State: "bag", Key: key, Window: w}
		v, _, err := b.Value(value)
		if err != nil {
			return err
		}
		sum := uint64(0)
		if len(v) == 8 {
			sum = binary.BigEndian.Uint64(v)
		}
		ts := window.Time(i)
		err = b.SetValue(value, binary.BigEndian.AppendUint64(v[:0], sum+uint64(i)))
		if err == nil {
			err = b.Append(bag, binary.BigEndian.AppendUint64(nil, uint64(i)))
		}
		if err == nil {
			err = b.SetTimer(state.Timer{
				TimerID: state.TimerID{Transform: "fn", Family: "flush", Key: key, Window: w},
				Domain:  state.EventTime, Fire: ts + 1000, Hold: ts,
			})
		}
		if err != nil {
			return err
		}
		if n++; n%bundle == 0 {
			if err := b.Commit(); err != nil {
				return err
			}
			b = s.Begin()
		}
	}
	return b.Commit()
}

// fire drains every due key of worker wk, bundle keys at a time.
func fire(s *state.Store, wk, workers, keys, bundle int) (int, error) {
	now := state.Times{Input: window.MaxTime}
	fired := 0
	for k0 := wk; k0 < keys; k0 += workers * bundle {
		b := s.Begin()
		for k := k0; k < min(keys, k0+workers*bundle); k += workers {
			key := keyOf(k)
			for {
				t, ok, err := b.PopTimer(key, now)
				if err != nil {
					return fired, err
				}
				if !ok {
					break
				}
				fired++
				bag := state.Cell{Transform: "fn", State: "bag", Key: key, Window: w}
				for tok := []byte(nil); ; {
					p, err := b.Read(bag, tok)
					if err != nil {
						return fired, err
					}
					if tok = p.Next; tok == nil {
						break
					}
				}
				if err := b.Clear(bag); err != nil {
					return fired, err
				}
				if err := b.Clear(state.Cell{Transform: "fn", State: "value", Key: t.Key, Window: w}); err != nil {
					return fired, err
				}
			}
		}
		if err := b.Commit(); err != nil {
			return fired, err
		}
	}
	return fired, nil
}

// big writes size bytes of 1 KiB bag values over 10,000 keys, then reads
// every bag back and checks the byte count.
func big(s *state.Store, size int64, bundle int) error {
	const keys, valueSize = 10_000, 1 << 10
	values := size / valueSize
	val := make([]byte, valueSize)
	start := time.Now()
	b := s.Begin()
	for i := range values {
		binary.BigEndian.PutUint64(val, uint64(i))
		if err := b.Append(state.Cell{Transform: "fn", State: "bag", Key: keyOf(int(i % keys)), Window: w}, val); err != nil {
			return err
		}
		if (i+1)%int64(bundle) == 0 {
			if err := b.Commit(); err != nil {
				return err
			}
			b = s.Begin()
		}
	}
	if err := b.Commit(); err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Printf("write: %d MiB of bag state in %v (%.0f MiB/s), peak RSS so far %d MiB\n",
		size>>20, el.Round(time.Millisecond), float64(size>>20)/el.Seconds(), peakRSS()>>20)
	start = time.Now()
	var read int64
	for k := range keys {
		b := s.Begin()
		for tok := []byte(nil); ; {
			p, err := b.Read(state.Cell{Transform: "fn", State: "bag", Key: keyOf(k), Window: w}, tok)
			if err != nil {
				return err
			}
			for _, v := range p.Values {
				read += int64(len(v))
			}
			if tok = p.Next; tok == nil {
				break
			}
		}
		b.Discard()
	}
	el = time.Since(start)
	fmt.Printf("read back: %d MiB in %v (%.0f MiB/s)\n", read>>20, el.Round(time.Millisecond), float64(read>>20)/el.Seconds())
	if read != values*valueSize {
		return fmt.Errorf("read %d bytes, wrote %d", read, values*valueSize)
	}
	runtime.KeepAlive(s)
	return nil
}

// cpuTime is the process's user and system CPU time: the machine this runs
// on may be shared, and wall time then says little.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS returns the process's peak resident set (VmHWM), in bytes.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb << 10
		}
	}
	return -1
}
