package urns

// Primitive transforms: the transforms a runner executes itself or hands to
// an SDK harness without expansion.
const (
	TransformImpulse    = "beam:transform:impulse:v1"
	TransformParDo      = "beam:transform:pardo:v1"
	TransformFlatten    = "beam:transform:flatten:v1"
	TransformGroupByKey = "beam:transform:group_by_key:v1"
	// TransformWindowInto assigns elements to windows (the model's
	// ASSIGN_WINDOWS primitive; TransformAssignWindows is the same URN).
	TransformWindowInto    = "beam:transform:window_into:v1"
	TransformAssignWindows = TransformWindowInto
	TransformMapWindows    = "beam:transform:map_windows:v1"
	TransformMergeWindows  = "beam:transform:merge_windows:v1"
	TransformTestStream    = "beam:transform:teststream:v1"
	TransformToString      = "beam:transform:to_string:v1"
	// TransformRead and TransformCreateView are deprecated primitives that
	// older SDKs still emit.
	TransformRead       = "beam:transform:read:v1"
	TransformCreateView = "beam:transform:create_view:v1"
)

// Composite transforms with standard semantics. A runner may replace them by
// its own implementation (combiner lifting, runner-side reshuffle) or expand
// them into their subtransforms.
const (
	TransformCombinePerKey           = "beam:transform:combine_per_key:v1"
	TransformCombineGlobally         = "beam:transform:combine_globally:v1"
	TransformReshuffle               = "beam:transform:reshuffle:v1"
	TransformRedistributeArbitrarily = "beam:transform:redistribute_arbitrarily:v1"
	TransformRedistributeByKey       = "beam:transform:redistribute_by_key:v1"
	TransformWriteFiles              = "beam:transform:write_files:v1"
	TransformGroupIntoBatches        = "beam:transform:group_into_batches:v1"
)

// Combine components: the transforms a lifted or unlifted CombinePerKey
// expands into. All of them carry a CombinePayload.
const (
	TransformCombineGroupedValues        = "beam:transform:combine_grouped_values:v1"
	TransformCombinePerKeyPrecombine     = "beam:transform:combine_per_key_precombine:v1"
	TransformCombinePerKeyMergeAccums    = "beam:transform:combine_per_key_merge_accumulators:v1"
	TransformCombinePerKeyExtractOutputs = "beam:transform:combine_per_key_extract_outputs:v1"
	TransformCombinePerKeyConvertToAccum = "beam:transform:combine_per_key_convert_to_accumulators:v1"
)

// Splittable DoFn components: the expansion of a splittable ParDo. All of
// them carry a ParDoPayload.
const (
	TransformPairWithRestriction                 = "beam:transform:sdf_pair_with_restriction:v1"
	TransformSplitAndSizeRestrictions            = "beam:transform:sdf_split_and_size_restrictions:v1"
	TransformProcessSizedElementsAndRestrictions = "beam:transform:sdf_process_sized_element_and_restrictions:v1"
	TransformTruncateSizedRestrictions           = "beam:transform:sdf_truncate_sized_restrictions:v1"
)

// Runner transforms that only appear in a ProcessBundleDescriptor: the data
// source feeding a stage and the data sink draining it over the Fn API data
// plane. Both carry a RemoteGrpcPort payload.
const (
	TransformSource = "beam:runner:source:v1"
	TransformSink   = "beam:runner:sink:v1"
)

// Side input access patterns (SideInput.access_pattern).
const (
	SideInputIterable = "beam:side_input:iterable:v1"
	SideInputMultimap = "beam:side_input:multimap:v1"
)

// User state types (StateSpec.protocol).
const (
	UserStateBag         = "beam:user_state:bag:v1"
	UserStateMultimap    = "beam:user_state:multimap:v1"
	UserStateOrderedList = "beam:user_state:ordered_list:v1"
)

// Standard coders. CoderLengthPrefix wraps a coder the other side may not
// know, so its values can be skipped without understanding them.
const (
	CoderBytes               = "beam:coder:bytes:v1"
	CoderStringUTF8          = "beam:coder:string_utf8:v1"
	CoderKV                  = "beam:coder:kv:v1"
	CoderBool                = "beam:coder:bool:v1"
	CoderVarInt              = "beam:coder:varint:v1"
	CoderDouble              = "beam:coder:double:v1"
	CoderIterable            = "beam:coder:iterable:v1"
	CoderTimer               = "beam:coder:timer:v1"
	CoderIntervalWindow      = "beam:coder:interval_window:v1"
	CoderLengthPrefix        = "beam:coder:length_prefix:v1"
	CoderGlobalWindow        = "beam:coder:global_window:v1"
	CoderWindowedValue       = "beam:coder:windowed_value:v1"
	CoderParamWindowedValue  = "beam:coder:param_windowed_value:v1"
	CoderStateBackedIterable = "beam:coder:state_backed_iterable:v1"
	CoderCustomWindow        = "beam:coder:custom_window:v1"
	CoderRow                 = "beam:coder:row:v1"
	CoderShardedKey          = "beam:coder:sharded_key:v1"
	CoderNullable            = "beam:coder:nullable:v1"
)

// Window functions (WindowingStrategy.window_fn). Session windows are the
// only standard merging window function.
const (
	WindowFnGlobal  = "beam:window_fn:global_windows:v1"
	WindowFnFixed   = "beam:window_fn:fixed_windows:v1"
	WindowFnSliding = "beam:window_fn:sliding_windows:v1"
	WindowFnSession = "beam:window_fn:session_windows:v1"
)

// Environment types (Environment.urn). EnvDefault lets the runner choose.
const (
	EnvDocker   = "beam:env:docker:v1"
	EnvProcess  = "beam:env:process:v1"
	EnvExternal = "beam:env:external:v1"
	EnvDefault  = "beam:env:default:v1"
	EnvAnyOf    = "beam:env:anyof:v1"
)

// Requirements a pipeline declares (Pipeline.requirements) that a runner
// must understand or refuse the pipeline.
const (
	RequirementStatefulProcessing = "beam:requirement:pardo:stateful:v1"
	RequirementBundleFinalization = "beam:requirement:pardo:finalization:v1"
	RequirementStableInput        = "beam:requirement:pardo:stable_input:v1"
	RequirementTimeSortedInput    = "beam:requirement:pardo:time_sorted_input:v1"
	RequirementSplittableDoFn     = "beam:requirement:pardo:splittable_dofn:v1"
	RequirementOnWindowExpiration = "beam:requirement:pardo:on_window_expiration:v1"
)

// Protocols an SDK harness (Environment.capabilities) or a runner
// (runner capabilities) may support.
const (
	ProtocolProgressReporting            = "beam:protocol:progress_reporting:v1"
	ProtocolWorkerStatus                 = "beam:protocol:worker_status:v1"
	ProtocolMultiCoreBundleProcessing    = "beam:protocol:multi_core_bundle_processing:v1"
	ProtocolHarnessMonitoringInfos       = "beam:protocol:harness_monitoring_infos:v1"
	ProtocolControlRequestElementsEmbed  = "beam:protocol:control_request_elements_embedding:v1"
	ProtocolStateCaching                 = "beam:protocol:state_caching:v1"
	ProtocolDataSampling                 = "beam:protocol:data_sampling:v1"
	ProtocolMonitoringInfoShortIDs       = "beam:protocol:monitoring_info_short_ids:v1"
	ProtocolControlResponseElementsEmbed = "beam:protocol:control_response_elements_embedding:v1"
	ProtocolMultimapKeysValuesSideInput  = "beam:protocol:multimap_keys_values_side_input:v1"
)

// Payload URNs of beamgo's own user code: the FunctionSpec URN inside a
// ParDoPayload (DoFn), a CombinePayload (CombineFn) and a WindowingStrategy
// or WindowIntoPayload for a non-standard window function; the view and
// window mapping functions of a side input. CoderCustom names a coder whose
// payload only a beamgo harness can decode; a runner must see it inside
// CoderLengthPrefix.
const (
	PayloadDoFn            = "beamgo:dofn:v1"
	PayloadCombineFn       = "beamgo:combinefn:v1"
	PayloadWindowFn        = "beamgo:windowfn:v1"
	PayloadViewFn          = "beamgo:viewfn:v1"
	PayloadWindowMappingFn = "beamgo:windowmappingfn:default:v1"
	CoderCustom            = "beamgo:coder:custom:v1"
)

// PayloadBeamGoDoFn is the DoFn payload URN of the Beam Go SDK, which a
// runner meets when it plans a pipeline built by that SDK.
const PayloadBeamGoDoFn = "beam:go:transform:dofn:v1"

// CoderBeamGoCustom is the Beam Go SDK's coder of a user type. Its
// encoding starts with its own length in every context, and the Beam Go
// harness drops a runner's length prefix around it, so an element encoded
// with it already is its length-prefixed form.
const CoderBeamGoCustom = "beam:go:coder:custom:v1"

// Monitoring info URNs (MonitoringInfo.urn) for user metrics and the
// runner-visible element counts, with their type URNs (MonitoringInfo.type)
// below. User metrics carry the labels LabelTransform, LabelNamespace and
// LabelName; element counts carry LabelPCollection.
const (
	MetricUserSumInt64           = "beam:metric:user:sum_int64:v1"
	MetricUserSumDouble          = "beam:metric:user:sum_double:v1"
	MetricUserDistributionInt64  = "beam:metric:user:distribution_int64:v1"
	MetricUserDistributionDouble = "beam:metric:user:distribution_double:v1"
	MetricUserLatestInt64        = "beam:metric:user:latest_int64:v1"
	MetricUserLatestDouble       = "beam:metric:user:latest_double:v1"
	MetricUserStringSet          = "beam:metric:user:set_string:v1"
	MetricUserBoundedTrie        = "beam:metric:user:bounded_trie:v1"
	MetricElementCount           = "beam:metric:element_count:v1"
	MetricSampledByteSize        = "beam:metric:sampled_byte_size:v1"
	MetricDataChannelReadIndex   = "beam:metric:data_channel:read_index:v1"
	MetricTotalMsecs             = "beam:metric:ptransform_execution_time:total_msecs:v1"
)

// Monitoring info type URNs: how a MonitoringInfo payload is encoded and
// aggregated. A gauge is a "latest" value; a string set's payload is an
// iterable of UTF-8 strings, a bounded trie's a BoundedTrie message.
const (
	MetricTypeSumInt64           = "beam:metrics:sum_int64:v1"
	MetricTypeSumDouble          = "beam:metrics:sum_double:v1"
	MetricTypeDistributionInt64  = "beam:metrics:distribution_int64:v1"
	MetricTypeDistributionDouble = "beam:metrics:distribution_double:v1"
	MetricTypeLatestInt64        = "beam:metrics:latest_int64:v1"
	MetricTypeLatestDouble       = "beam:metrics:latest_double:v1"
	MetricTypeProgress           = "beam:metrics:progress:v1"
	MetricTypeStringSet          = "beam:metrics:set_string:v1"
	MetricTypeBoundedTrie        = "beam:metrics:bounded_trie:v1"
)

// Monitoring info label keys (MonitoringInfo.labels).
const (
	LabelTransform   = "PTRANSFORM"
	LabelPCollection = "PCOLLECTION"
	LabelNamespace   = "NAMESPACE"
	LabelName        = "NAME"
)
