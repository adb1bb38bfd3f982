package kafka

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Committed returns the records before each partition's last stable
// offset: plain records and those of committed transactions, not those of
// an aborted transaction nor of one still open, in partition and offset
// order.
func TestCommittedSkipsAbortedAndOpenTransactions(t *testing.T) {
	c := newCluster(t, 2, "t")
	addrs := c.ListenAddrs()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	plain, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic("t"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	rec := func(p int32, v string) *kgo.Record { return &kgo.Record{Partition: p, Value: []byte(v)} }
	if err := plain.ProduceSync(ctx, rec(1, "p1"), rec(0, "p0"), rec(0, "p0b")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	txn, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic("t"), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.TransactionalID("committed-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Close()
	transact := func(end kgo.TransactionEndTry, recs ...*kgo.Record) {
		t.Helper()
		if err := txn.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := txn.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := txn.EndTransaction(ctx, end); err != nil {
			t.Fatal(err)
		}
	}
	transact(kgo.TryAbort, rec(0, "aborted"), rec(1, "aborted"))
	transact(kgo.TryCommit, rec(0, "committed"), rec(1, "committed"))
	// A transaction left open: the last stable offsets stay before it.
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := txn.ProduceSync(ctx, rec(0, "open")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	recs, err := Committed(ctx, addrs, "t")
	if err != nil {
		t.Fatalf("Committed: %v", err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, string(r.Value))
	}
	if want := []string{"p0", "p0b", "committed", "p1", "committed"}; !slices.Equal(got, want) {
		t.Errorf("Committed = %q, want %q", got, want)
	}
	// A plain record produced after the open transaction's records does
	// not pass them either.
	if err := plain.ProduceSync(ctx, rec(0, "after")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if recs, err = Committed(ctx, addrs, "t"); err != nil || len(recs) != 5 {
		t.Errorf("Committed with a transaction open = %d records, %v; want the same 5", len(recs), err)
	}
	// A topic that does not exist is an error that names it.
	if _, err := Committed(ctx, addrs, "missing"); err == nil || !strings.Contains(err.Error(), `topic "missing"`) {
		t.Errorf("Committed of a missing topic: %v, want an error naming it", err)
	}
}
