package kafka

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The pool never hands out an array smaller than asked, whatever arrays
// it was given back.
func TestRecordPoolCapacities(t *testing.T) {
	var p recordPool
	for _, c := range []int{1, 2, 3, 63, 64, 65, 100, 127, 128, 129, 4096, 9000} {
		p.PutRecords(make([]kgo.Record, c))
	}
	p.PutRecords(nil)
	for _, n := range []int{1, 2, 3, 5, 63, 64, 65, 100, 128, 129, 4096, 4097, 9000, 70000} {
		for range 3 {
			s := p.GetRecords(n)
			if len(s) != 0 || cap(s) < n {
				t.Fatalf("GetRecords(%d): len %d cap %d", n, len(s), cap(s))
			}
			p.PutRecords(s[:n])
		}
	}
	if s := p.GetRecords(0); s != nil {
		t.Errorf("GetRecords(0) = %d records, want nil", cap(s))
	}
}
