package summary

import (
	"runtime/metrics"
	"sync"
	"time"
)

// HeapSampler records the largest live heap the garbage collector has
// measured (runtime/metrics /gc/heap/live:bytes) while it runs: the memory a
// program really holds, as opposed to its RSS, which also has the
// collector's headroom (GOGC) and freed memory not yet returned to the
// system. It is safe for concurrent use.
type HeapSampler struct {
	done chan struct{}
	wg   sync.WaitGroup

	// mu guards max.
	mu  sync.Mutex
	max uint64
}

const liveHeap = "/gc/heap/live:bytes"

// SampleHeap starts sampling every interval until Stop.
func SampleHeap(interval time.Duration) *HeapSampler {
	h := &HeapSampler{done: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		s := []metrics.Sample{{Name: liveHeap}}
		for {
			metrics.Read(s)
			if s[0].Value.Kind() == metrics.KindUint64 {
				h.mu.Lock()
				h.max = max(h.max, s[0].Value.Uint64())
				h.mu.Unlock()
			}
			select {
			case <-h.done:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

// Stop stops sampling and returns the largest live heap seen, in KiB.
func (h *HeapSampler) Stop() int64 {
	close(h.done)
	h.wg.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	return int64(h.max / 1024)
}
