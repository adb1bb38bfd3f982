package sdk

// KvSwap turns each key-value pair of in around: the value becomes the key
// (Beam's KvSwap).
func KvSwap[K, V any](s Scope, in PCollection[KV[K, V]], opts ...Option) PCollection[KV[V, K]] {
	o := collect(opts)
	return ParDo(s, DoFn[KV[K, V], KV[V, K]](funcDoFn[KV[K, V], KV[V, K]]{kind: "Map", f: swapKV[K, V], one: swapKV[K, V], builtin: true,
		call: func(kv KV[K, V], emit func(KV[V, K])) { emit(swapKV(kv)) }}), in, Name(pick(o.name, "KvSwap")))
}

func swapKV[K, V any](kv KV[K, V]) KV[V, K] { return KV[V, K]{Key: kv.Value, Value: kv.Key} }
