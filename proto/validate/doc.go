// Package validate checks that a Beam model pipeline (pipepb.Pipeline) is
// well formed before a runner plans it or an SDK submits it.
//
// Pipeline reports every problem it finds, not only the first: dangling
// references between components, missing coders and windowing strategies,
// cycles (in the transform graph, in the composite hierarchy and among coder
// components), unknown URNs, PCollections produced twice, and structural
// errors such as empty or duplicate unique names. It also refuses shapes
// past the limits that keep the recursive walks of runners and SDK
// harnesses bounded: coders nested deeper than MaxCoderDepth or expanding
// to more than MaxCoderSize coders, and composites nested deeper than
// MaxTransformDepth. Pipeline itself walks every graph iteratively, so an
// untrusted pipeline of any shape gets an error, not a stack overflow.
//
// # Errors
//
// Each problem is one error whose message starts with "validate: " and names
// the component by unique name and id, for example
//
//	validate: transform "wordcount/Split" (id t3): input "i0" names missing PCollection "p9"
//
// The errors are joined with errors.Join in a deterministic order (by rule,
// then by component id), so the same pipeline always yields the same text.
//
// # Unknown URNs
//
// A leaf transform (one without subtransforms) must have a standard Beam
// transform URN or one listed in Options.TransformURNs; a composite may have
// any URN, since a runner expands it. A coder with an URN outside the Beam
// standard coders and Options.CoderURNs may only be used as the component of
// a beam:coder:length_prefix:v1 coder, so that a runner can skip over its
// bytes without understanding them; beamgo's own custom coder
// (beamgo:coder:custom:v1) follows the same rule. Options.OpaqueCoders lifts
// it, for job servers that take pipelines from other SDKs and length-prefix
// unknown coders themselves, as Beam's runners do. Window functions must be
// standard, beamgo:windowfn:v1, or listed in Options.WindowFnURNs.
package validate
