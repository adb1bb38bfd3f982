// Package plan turns a Beam model pipeline into an execution plan: the
// composite transforms expanded to the leaves a runner executes, combiners
// lifted, and the leaves fused into stages that run as one bundle each.
//
// The package works on model protos only (pipepb and fnpb) and has no state:
// Build is a pure function of its input, and a Plan is a value that a local
// or a portable runner schedules. Both runners share it, so fusion decisions
// cannot drift apart between them.
//
// # Stages
//
// A Stage is a chain of leaf transforms that an SDK harness runs together,
// passing elements between them without encoding. It reads one input that the
// runner provides:
//
//   - InputImpulse: the runner feeds one impulse element (empty bytes in the
//     global window) into the output of an Impulse transform.
//   - InputData: the runner feeds the elements of one or more PCollections
//     produced by earlier stages. Several PCollections appear when a Flatten
//     merges the outputs of different stages; a Reshuffle is a Data input too.
//   - InputGrouped: the runner groups a PCollection by key and window for a
//     GroupByKey transform and feeds the groups.
//   - InputKeyed: the runner groups a PCollection of KVs by key and window
//     and feeds its elements ungrouped, all of a key and window in one
//     bundle: the input the planner gives a ParDo with user state (see
//     expandStateful).
//
// The stage's transforms then consume the input's Target PCollection. A
// stage may also read side inputs, which the runner serves over the state
// API once their producing stages have finished, and it writes Outputs:
// the PCollections it produces that other stages read.
//
// # Fusion
//
// Transforms are visited in topological order; each joins the stage that
// produces its main input unless fusion must break. See fuse for the rules.
// Stages are returned in an order in which every stage comes after the
// stages it reads from.
//
// # Descriptors
//
// Stage.Descriptor renders a stage as the Fn API ProcessBundleDescriptor an
// SDK harness executes, with data source and sink transforms at its edges,
// and a Wiring that tells the runner which source or sink carries which
// PCollection.
package plan
