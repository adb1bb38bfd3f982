// Package operator is the runtime of user code: the contracts between the
// typed operators that run a pipeline's transforms and the bundle executor
// (fnapi/exec), which wires them without knowing element types, and the
// operators themselves.
//
// The sdk builds a graph.Transform's Factory and a graph.Collection's
// TypeOps from this package, instantiated with the user's typed functions;
// the executor builds a bundle's operators from them and pushes windowed
// values through Receivers. Element types are known statically everywhere
// on the hot path: the executor sees the erased forms (Factory, TypeOps,
// receivers passed as any) only while it wires a bundle.
//
// # Contracts
//
// Operator, Receiver, Factory and TypeOps are what an executor calls; Env,
// ElemContext, SideInputReader and SplitRegistry are what it hands to user
// code; UserError is how user code fails.
//
// Nothing here is user-facing: users write DoFns and CombineFns against
// package sdk, which keeps the public API and its documentation.
package operator
