// Command customsink shows how to write a sink for an external system with
// sink.ForEach, after the SimpleKV sink of Beam's guide to I/O connectors:
// each bundle stages its writes in a table of its own, commits them into
// the final table when the bundle succeeds, and drops them when it fails.
// Commits put keys, so a bundle committed twice (a retry after a commit
// whose success was lost) leaves the same table: the output is exactly-once.
// Users see only WriteToKVSink.
//
//	go run ./examples/customsink
package main

import (
	"context"
	"fmt"
	"log"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/beamgo-dev/beamgo/io/sink"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// SimpleKV is a stand-in for an external key-value store with tables. It
// is safe for concurrent use.
type SimpleKV struct {
	// mu guards tables.
	mu     sync.Mutex
	tables map[string]map[string]string
}

// NewSimpleKV returns an empty store.
func NewSimpleKV() *SimpleKV { return &SimpleKV{tables: map[string]map[string]string{}} }

// Put writes key = value in table, creating it.
func (kv *SimpleKV) Put(table, key, value string) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	t := kv.tables[table]
	if t == nil {
		t = map[string]string{}
		kv.tables[table] = t
	}
	t[key] = value
}

// Merge moves every key of table src into table dst and drops src, at once.
func (kv *SimpleKV) Merge(dst, src string) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	t := kv.tables[dst]
	if t == nil {
		t = map[string]string{}
		kv.tables[dst] = t
	}
	maps.Copy(t, kv.tables[src])
	delete(kv.tables, src)
}

// Drop deletes a table.
func (kv *SimpleKV) Drop(table string) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	delete(kv.tables, table)
}

// Table returns a copy of a table.
func (kv *SimpleKV) Table(table string) map[string]string {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	return maps.Clone(kv.tables[table])
}

// Tables returns the names of all tables, sorted.
func (kv *SimpleKV) Tables() []string {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	return slices.Sorted(maps.Keys(kv.tables))
}

// kvSink stages each bundle in a table named after the bundle.
type kvSink struct {
	Table string
	store *SimpleKV
}

func (s kvSink) Open(_ context.Context, b sink.Bundle) (sink.Writer[sdk.KV[string, string]], error) {
	return &kvWriter{sink: s, staging: s.Table + "-staging-" + b.ID}, nil
}

type kvWriter struct {
	sink    kvSink
	staging string
}

func (w *kvWriter) Write(_ context.Context, kv sdk.KV[string, string]) error {
	w.sink.store.Put(w.staging, kv.Key, kv.Value)
	return nil
}

func (w *kvWriter) Close(_ context.Context, err error) error {
	if err != nil {
		w.sink.store.Drop(w.staging)
		return nil
	}
	w.sink.store.Merge(w.sink.Table, w.staging)
	return nil
}

// WriteToKVSink writes key-value pairs into table of store.
func WriteToKVSink(s sdk.Scope, store *SimpleKV, table string, kvs sdk.PCollection[sdk.KV[string, string]]) {
	s = s.Scope("WriteToKVSink")
	sink.ForEach(s, sink.Sink[sdk.KV[string, string]](kvSink{Table: table, store: store}), kvs)
}

// Build adds a pipeline that writes, for each word, its length and its
// upper-case form into the table "words" of store.
func Build(s sdk.Scope, store *SimpleKV, words []string) {
	in := sdk.Reshuffle(s, sdk.Create(s, words))
	kvs := sdk.Map(s, func(w string) sdk.KV[string, string] {
		return sdk.KV[string, string]{Key: w, Value: fmt.Sprintf("%d %s", len(w), strings.ToUpper(w))}
	}, in)
	WriteToKVSink(s, store, "words", kvs)
}

func main() {
	store := NewSimpleKV()
	p := sdk.NewPipeline()
	Build(p.Root(), store, strings.Fields("the quick brown fox jumps over the lazy dog"))
	if _, err := local.Execute(context.Background(), p); err != nil {
		log.Fatal(err)
	}
	fmt.Println("tables:", store.Tables())
	t := store.Table("words")
	for _, k := range slices.Sorted(maps.Keys(t)) {
		fmt.Printf("%s = %s\n", k, t[k])
	}
}
