package urns_test

import (
	"strings"
	"testing"

	"github.com/beamgo-dev/beamgo/proto/urns"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// enumValue is a generated Beam model enum value whose options carry a URN.
type enumValue interface {
	Descriptor() protoreflect.EnumDescriptor
	Number() protoreflect.EnumNumber
}

// beamURN returns the beam_urn option of v, or the urn of its
// monitoring_info_spec option for monitoring info enums.
func beamURN(v enumValue) string {
	opts := v.Descriptor().Values().ByNumber(v.Number()).Options()
	if u := proto.GetExtension(opts, pipepb.E_BeamUrn).(string); u != "" {
		return u
	}
	return proto.GetExtension(opts, pipepb.E_MonitoringInfoSpec).(*pipepb.MonitoringInfoSpec).GetUrn()
}

func TestConstantsMatchModelEnums(t *testing.T) {
	tests := []struct {
		name string
		got  string
		enum enumValue
	}{
		{"impulse", urns.TransformImpulse, pipepb.StandardPTransforms_IMPULSE},
		{"pardo", urns.TransformParDo, pipepb.StandardPTransforms_PAR_DO},
		{"flatten", urns.TransformFlatten, pipepb.StandardPTransforms_FLATTEN},
		{"group by key", urns.TransformGroupByKey, pipepb.StandardPTransforms_GROUP_BY_KEY},
		{"window into", urns.TransformWindowInto, pipepb.StandardPTransforms_ASSIGN_WINDOWS},
		{"assign windows", urns.TransformAssignWindows, pipepb.StandardPTransforms_ASSIGN_WINDOWS},
		{"map windows", urns.TransformMapWindows, pipepb.StandardPTransforms_MAP_WINDOWS},
		{"merge windows", urns.TransformMergeWindows, pipepb.StandardPTransforms_MERGE_WINDOWS},
		{"test stream", urns.TransformTestStream, pipepb.StandardPTransforms_TEST_STREAM},
		{"to string", urns.TransformToString, pipepb.StandardPTransforms_TO_STRING},
		{"read", urns.TransformRead, pipepb.StandardPTransforms_READ},
		{"create view", urns.TransformCreateView, pipepb.StandardPTransforms_CREATE_VIEW},
		{"combine per key", urns.TransformCombinePerKey, pipepb.StandardPTransforms_COMBINE_PER_KEY},
		{"combine globally", urns.TransformCombineGlobally, pipepb.StandardPTransforms_COMBINE_GLOBALLY},
		{"reshuffle", urns.TransformReshuffle, pipepb.StandardPTransforms_RESHUFFLE},
		{"redistribute arbitrarily", urns.TransformRedistributeArbitrarily, pipepb.StandardPTransforms_REDISTRIBUTE_ARBITRARILY},
		{"redistribute by key", urns.TransformRedistributeByKey, pipepb.StandardPTransforms_REDISTRIBUTE_BY_KEY},
		{"write files", urns.TransformWriteFiles, pipepb.StandardPTransforms_WRITE_FILES},
		{"group into batches", urns.TransformGroupIntoBatches, pipepb.StandardPTransforms_GROUP_INTO_BATCHES},
		{"combine grouped values", urns.TransformCombineGroupedValues, pipepb.StandardPTransforms_COMBINE_GROUPED_VALUES},
		{"precombine", urns.TransformCombinePerKeyPrecombine, pipepb.StandardPTransforms_COMBINE_PER_KEY_PRECOMBINE},
		{"merge accumulators", urns.TransformCombinePerKeyMergeAccums, pipepb.StandardPTransforms_COMBINE_PER_KEY_MERGE_ACCUMULATORS},
		{"extract outputs", urns.TransformCombinePerKeyExtractOutputs, pipepb.StandardPTransforms_COMBINE_PER_KEY_EXTRACT_OUTPUTS},
		{"convert to accumulators", urns.TransformCombinePerKeyConvertToAccum, pipepb.StandardPTransforms_COMBINE_PER_KEY_CONVERT_TO_ACCUMULATORS},
		{"pair with restriction", urns.TransformPairWithRestriction, pipepb.StandardPTransforms_PAIR_WITH_RESTRICTION},
		{"split and size", urns.TransformSplitAndSizeRestrictions, pipepb.StandardPTransforms_SPLIT_AND_SIZE_RESTRICTIONS},
		{"process sized elements", urns.TransformProcessSizedElementsAndRestrictions, pipepb.StandardPTransforms_PROCESS_SIZED_ELEMENTS_AND_RESTRICTIONS},
		{"truncate", urns.TransformTruncateSizedRestrictions, pipepb.StandardPTransforms_TRUNCATE_SIZED_RESTRICTION},
		{"iterable side input", urns.SideInputIterable, pipepb.StandardSideInputTypes_ITERABLE},
		{"multimap side input", urns.SideInputMultimap, pipepb.StandardSideInputTypes_MULTIMAP},
		{"bag state", urns.UserStateBag, pipepb.StandardUserStateTypes_BAG},
		{"multimap state", urns.UserStateMultimap, pipepb.StandardUserStateTypes_MULTIMAP},
		{"ordered list state", urns.UserStateOrderedList, pipepb.StandardUserStateTypes_ORDERED_LIST},
		{"bytes coder", urns.CoderBytes, pipepb.StandardCoders_BYTES},
		{"string coder", urns.CoderStringUTF8, pipepb.StandardCoders_STRING_UTF8},
		{"kv coder", urns.CoderKV, pipepb.StandardCoders_KV},
		{"bool coder", urns.CoderBool, pipepb.StandardCoders_BOOL},
		{"varint coder", urns.CoderVarInt, pipepb.StandardCoders_VARINT},
		{"double coder", urns.CoderDouble, pipepb.StandardCoders_DOUBLE},
		{"iterable coder", urns.CoderIterable, pipepb.StandardCoders_ITERABLE},
		{"timer coder", urns.CoderTimer, pipepb.StandardCoders_TIMER},
		{"interval window coder", urns.CoderIntervalWindow, pipepb.StandardCoders_INTERVAL_WINDOW},
		{"length prefix coder", urns.CoderLengthPrefix, pipepb.StandardCoders_LENGTH_PREFIX},
		{"global window coder", urns.CoderGlobalWindow, pipepb.StandardCoders_GLOBAL_WINDOW},
		{"windowed value coder", urns.CoderWindowedValue, pipepb.StandardCoders_WINDOWED_VALUE},
		{"param windowed value coder", urns.CoderParamWindowedValue, pipepb.StandardCoders_PARAM_WINDOWED_VALUE},
		{"state backed iterable coder", urns.CoderStateBackedIterable, pipepb.StandardCoders_STATE_BACKED_ITERABLE},
		{"custom window coder", urns.CoderCustomWindow, pipepb.StandardCoders_CUSTOM_WINDOW},
		{"row coder", urns.CoderRow, pipepb.StandardCoders_ROW},
		{"sharded key coder", urns.CoderShardedKey, pipepb.StandardCoders_SHARDED_KEY},
		{"nullable coder", urns.CoderNullable, pipepb.StandardCoders_NULLABLE},
		{"global windows", urns.WindowFnGlobal, pipepb.GlobalWindowsPayload_PROPERTIES},
		{"fixed windows", urns.WindowFnFixed, pipepb.FixedWindowsPayload_PROPERTIES},
		{"sliding windows", urns.WindowFnSliding, pipepb.SlidingWindowsPayload_PROPERTIES},
		{"session windows", urns.WindowFnSession, pipepb.SessionWindowsPayload_PROPERTIES},
		{"docker env", urns.EnvDocker, pipepb.StandardEnvironments_DOCKER},
		{"process env", urns.EnvProcess, pipepb.StandardEnvironments_PROCESS},
		{"external env", urns.EnvExternal, pipepb.StandardEnvironments_EXTERNAL},
		{"default env", urns.EnvDefault, pipepb.StandardEnvironments_DEFAULT},
		{"anyof env", urns.EnvAnyOf, pipepb.StandardEnvironments_ANYOF},
		{"stateful requirement", urns.RequirementStatefulProcessing, pipepb.StandardRequirements_REQUIRES_STATEFUL_PROCESSING},
		{"finalization requirement", urns.RequirementBundleFinalization, pipepb.StandardRequirements_REQUIRES_BUNDLE_FINALIZATION},
		{"stable input requirement", urns.RequirementStableInput, pipepb.StandardRequirements_REQUIRES_STABLE_INPUT},
		{"time sorted input requirement", urns.RequirementTimeSortedInput, pipepb.StandardRequirements_REQUIRES_TIME_SORTED_INPUT},
		{"splittable dofn requirement", urns.RequirementSplittableDoFn, pipepb.StandardRequirements_REQUIRES_SPLITTABLE_DOFN},
		{"on window expiration requirement", urns.RequirementOnWindowExpiration, pipepb.StandardRequirements_REQUIRES_ON_WINDOW_EXPIRATION},
		{"progress reporting protocol", urns.ProtocolProgressReporting, pipepb.StandardProtocols_PROGRESS_REPORTING},
		{"worker status protocol", urns.ProtocolWorkerStatus, pipepb.StandardProtocols_WORKER_STATUS},
		{"multi core protocol", urns.ProtocolMultiCoreBundleProcessing, pipepb.StandardProtocols_MULTI_CORE_BUNDLE_PROCESSING},
		{"harness monitoring infos protocol", urns.ProtocolHarnessMonitoringInfos, pipepb.StandardProtocols_HARNESS_MONITORING_INFOS},
		{"control request embedding protocol", urns.ProtocolControlRequestElementsEmbed, pipepb.StandardProtocols_CONTROL_REQUEST_ELEMENTS_EMBEDDING},
		{"state caching protocol", urns.ProtocolStateCaching, pipepb.StandardProtocols_STATE_CACHING},
		{"data sampling protocol", urns.ProtocolDataSampling, pipepb.StandardProtocols_DATA_SAMPLING},
		{"short ids protocol", urns.ProtocolMonitoringInfoShortIDs, pipepb.StandardRunnerProtocols_MONITORING_INFO_SHORT_IDS},
		{"control response embedding protocol", urns.ProtocolControlResponseElementsEmbed, pipepb.StandardRunnerProtocols_CONTROL_RESPONSE_ELEMENTS_EMBEDDING},
		{"multimap keys values protocol", urns.ProtocolMultimapKeysValuesSideInput, pipepb.StandardRunnerProtocols_MULTIMAP_KEYS_VALUES_SIDE_INPUT},
		{"user sum int64", urns.MetricUserSumInt64, pipepb.MonitoringInfoSpecs_USER_SUM_INT64},
		{"user sum double", urns.MetricUserSumDouble, pipepb.MonitoringInfoSpecs_USER_SUM_DOUBLE},
		{"user distribution int64", urns.MetricUserDistributionInt64, pipepb.MonitoringInfoSpecs_USER_DISTRIBUTION_INT64},
		{"user distribution double", urns.MetricUserDistributionDouble, pipepb.MonitoringInfoSpecs_USER_DISTRIBUTION_DOUBLE},
		{"user latest int64", urns.MetricUserLatestInt64, pipepb.MonitoringInfoSpecs_USER_LATEST_INT64},
		{"user latest double", urns.MetricUserLatestDouble, pipepb.MonitoringInfoSpecs_USER_LATEST_DOUBLE},
		{"user string set", urns.MetricUserStringSet, pipepb.MonitoringInfoSpecs_USER_SET_STRING},
		{"user bounded trie", urns.MetricUserBoundedTrie, pipepb.MonitoringInfoSpecs_USER_BOUNDED_TRIE},
		{"element count", urns.MetricElementCount, pipepb.MonitoringInfoSpecs_ELEMENT_COUNT},
		{"sampled byte size", urns.MetricSampledByteSize, pipepb.MonitoringInfoSpecs_SAMPLED_BYTE_SIZE},
		{"read index", urns.MetricDataChannelReadIndex, pipepb.MonitoringInfoSpecs_DATA_CHANNEL_READ_INDEX},
		{"total msecs", urns.MetricTotalMsecs, pipepb.MonitoringInfoSpecs_TOTAL_MSECS},
		{"sum int64 type", urns.MetricTypeSumInt64, pipepb.MonitoringInfoTypeUrns_SUM_INT64_TYPE},
		{"sum double type", urns.MetricTypeSumDouble, pipepb.MonitoringInfoTypeUrns_SUM_DOUBLE_TYPE},
		{"distribution int64 type", urns.MetricTypeDistributionInt64, pipepb.MonitoringInfoTypeUrns_DISTRIBUTION_INT64_TYPE},
		{"distribution double type", urns.MetricTypeDistributionDouble, pipepb.MonitoringInfoTypeUrns_DISTRIBUTION_DOUBLE_TYPE},
		{"latest int64 type", urns.MetricTypeLatestInt64, pipepb.MonitoringInfoTypeUrns_LATEST_INT64_TYPE},
		{"latest double type", urns.MetricTypeLatestDouble, pipepb.MonitoringInfoTypeUrns_LATEST_DOUBLE_TYPE},
		{"progress type", urns.MetricTypeProgress, pipepb.MonitoringInfoTypeUrns_PROGRESS_TYPE},
		{"string set type", urns.MetricTypeStringSet, pipepb.MonitoringInfoTypeUrns_SET_STRING_TYPE},
		{"bounded trie type", urns.MetricTypeBoundedTrie, pipepb.MonitoringInfoTypeUrns_BOUNDED_TRIE_TYPE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if want := beamURN(tt.enum); tt.got != want {
				t.Errorf("constant for %v = %q, want %q (the model's beam_urn)", tt.enum, tt.got, want)
			}
		})
	}
}

func TestMonitoringLabelsMatchModel(t *testing.T) {
	tests := []struct {
		name  string
		got   string
		label pipepb.MonitoringInfo_MonitoringInfoLabels
	}{
		{"transform label", urns.LabelTransform, pipepb.MonitoringInfo_TRANSFORM},
		{"pcollection label", urns.LabelPCollection, pipepb.MonitoringInfo_PCOLLECTION},
		{"namespace label", urns.LabelNamespace, pipepb.MonitoringInfo_NAMESPACE},
		{"name label", urns.LabelName, pipepb.MonitoringInfo_NAME},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.label.Descriptor().Values().ByNumber(tt.label.Number()).Options()
			want := proto.GetExtension(opts, pipepb.E_LabelProps).(*pipepb.MonitoringInfoLabelProps).GetName()
			if tt.got != want {
				t.Errorf("label for %v = %q, want %q", tt.label, tt.got, want)
			}
		})
	}
}

func TestNonModelURNs(t *testing.T) {
	tests := []struct {
		name, got, prefix string
	}{
		{"runner source", urns.TransformSource, "beam:runner:"},
		{"runner sink", urns.TransformSink, "beam:runner:"},
		{"beamgo dofn payload", urns.PayloadDoFn, "beamgo:"},
		{"beamgo combinefn payload", urns.PayloadCombineFn, "beamgo:"},
		{"beamgo windowfn payload", urns.PayloadWindowFn, "beamgo:"},
		{"beamgo viewfn payload", urns.PayloadViewFn, "beamgo:"},
		{"beamgo window mapping payload", urns.PayloadWindowMappingFn, "beamgo:"},
		{"beamgo custom coder", urns.CoderCustom, "beamgo:coder:"},
		{"beam go sdk dofn payload", urns.PayloadBeamGoDoFn, "beam:go:"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.HasPrefix(tt.got, tt.prefix) || !strings.HasSuffix(tt.got, ":v1") {
				t.Errorf("URN %q, want prefix %q and suffix \":v1\"", tt.got, tt.prefix)
			}
			if other, ok := seen[tt.got]; ok {
				t.Errorf("URN %q is used by both %q and %q", tt.got, other, tt.name)
			}
			seen[tt.got] = tt.name
		})
	}
}
