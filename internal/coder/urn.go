package coder

// The coder URNs, exactly as Beam's Runner API spells them
// (StandardCoders in beam_runner_api.proto), plus this SDK's own.
const (
	URNBytes              = "beam:coder:bytes:v1"
	URNStringUTF8         = "beam:coder:string_utf8:v1"
	URNKV                 = "beam:coder:kv:v1"
	URNBool               = "beam:coder:bool:v1"
	URNVarint             = "beam:coder:varint:v1"
	URNDouble             = "beam:coder:double:v1"
	URNIterable           = "beam:coder:iterable:v1"
	URNTimer              = "beam:coder:timer:v1"
	URNIntervalWindow     = "beam:coder:interval_window:v1"
	URNLengthPrefix       = "beam:coder:length_prefix:v1"
	URNGlobalWindow       = "beam:coder:global_window:v1"
	URNWindowedValue      = "beam:coder:windowed_value:v1"
	URNParamWindowedValue = "beam:coder:param_windowed_value:v1"
	URNStateBackedIter    = "beam:coder:state_backed_iterable:v1"
	URNCustomWindow       = "beam:coder:custom_window:v1"
	URNRow                = "beam:coder:row:v1"
	URNShardedKey         = "beam:coder:sharded_key:v1"
	URNNullable           = "beam:coder:nullable:v1"

	// URNCustom identifies a coder for a Go type that implements Marshaler
	// (or encoding.BinaryMarshaler). Its payload is the Go type name. Its
	// nested encoding is a varint length followed by the marshaled bytes,
	// so runners can treat it as length_prefix(unknown).
	URNCustom = "beamgo:coder:custom:v1"

	// LogicalTypeCustom is the schema logical type of row fields whose Go
	// type implements Marshaler; its representation is BYTES and its
	// payload the Go type name.
	LogicalTypeCustom = "beamgo:logical_type:custom:v1"
)
