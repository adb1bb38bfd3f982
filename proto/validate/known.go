package validate

import "github.com/beamgo-dev/beamgo/proto/urns"

const lengthPrefix = urns.CoderLengthPrefix

// standardTransforms are the transform URNs accepted on leaf transforms: the
// Beam primitives (including deprecated ones other SDKs still emit), the
// standard composites a runner may replace, and the components of
// combiners and splittable DoFns.
var standardTransforms = set(
	urns.TransformImpulse, urns.TransformParDo, urns.TransformFlatten,
	urns.TransformGroupByKey, urns.TransformWindowInto, urns.TransformMapWindows,
	urns.TransformMergeWindows, urns.TransformTestStream, urns.TransformToString,
	urns.TransformRead, urns.TransformCreateView,
	urns.TransformCombinePerKey, urns.TransformCombineGlobally, urns.TransformReshuffle,
	urns.TransformRedistributeArbitrarily, urns.TransformRedistributeByKey,
	urns.TransformWriteFiles, urns.TransformGroupIntoBatches,
	urns.TransformCombineGroupedValues, urns.TransformCombinePerKeyPrecombine,
	urns.TransformCombinePerKeyMergeAccums, urns.TransformCombinePerKeyExtractOutputs,
	urns.TransformCombinePerKeyConvertToAccum,
	urns.TransformPairWithRestriction, urns.TransformSplitAndSizeRestrictions,
	urns.TransformProcessSizedElementsAndRestrictions, urns.TransformTruncateSizedRestrictions,
)

// pardoLike are the transforms whose payload is a ParDoPayload.
var pardoLike = set(
	urns.TransformParDo, urns.TransformPairWithRestriction, urns.TransformSplitAndSizeRestrictions,
	urns.TransformProcessSizedElementsAndRestrictions, urns.TransformTruncateSizedRestrictions,
)

// combineLike are the transforms whose payload is a CombinePayload.
var combineLike = set(
	urns.TransformCombinePerKey, urns.TransformCombineGlobally, urns.TransformCombineGroupedValues,
	urns.TransformCombinePerKeyPrecombine, urns.TransformCombinePerKeyMergeAccums,
	urns.TransformCombinePerKeyExtractOutputs, urns.TransformCombinePerKeyConvertToAccum,
)

// standardCoders are the Beam standard coder URNs and this SDK's custom
// coder, whose encoding (a length-prefixed marshaling) runners handle as
// bytes once a descriptor wraps it in a length prefix.
var standardCoders = set(
	urns.CoderCustom,
	urns.CoderBytes, urns.CoderStringUTF8, urns.CoderKV, urns.CoderBool, urns.CoderVarInt,
	urns.CoderDouble, urns.CoderIterable, urns.CoderTimer, urns.CoderIntervalWindow,
	urns.CoderLengthPrefix, urns.CoderGlobalWindow, urns.CoderWindowedValue,
	urns.CoderParamWindowedValue, urns.CoderStateBackedIterable, urns.CoderCustomWindow,
	urns.CoderRow, urns.CoderShardedKey, urns.CoderNullable,
)

// coderArity is the number of components of the standard coders whose
// component count the model fixes.
var coderArity = map[string]int{
	urns.CoderBytes: 0, urns.CoderStringUTF8: 0, urns.CoderBool: 0, urns.CoderVarInt: 0,
	urns.CoderDouble: 0, urns.CoderIntervalWindow: 0, urns.CoderGlobalWindow: 0,
	urns.CoderKV: 2, urns.CoderIterable: 1, urns.CoderLengthPrefix: 1, urns.CoderTimer: 2,
	urns.CoderWindowedValue: 2, urns.CoderParamWindowedValue: 2, urns.CoderNullable: 1,
	urns.CoderStateBackedIterable: 1,
}

// standardWindowFns are the window functions accepted by default.
var standardWindowFns = set(
	urns.WindowFnGlobal, urns.WindowFnFixed, urns.WindowFnSliding, urns.WindowFnSession,
	urns.PayloadWindowFn,
)

// sideInputPatterns are the side input access patterns a ParDo may use.
var sideInputPatterns = set(urns.SideInputIterable, urns.SideInputMultimap)

func set(xs ...string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// withExtra returns a copy of base extended by extra.
func withExtra(base map[string]bool, extra []string) map[string]bool {
	m := make(map[string]bool, len(base)+len(extra))
	for k := range base {
		m[k] = true
	}
	for _, x := range extra {
		m[x] = true
	}
	return m
}
