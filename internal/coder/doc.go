// Package coder implements Beam's standard coders, typed with generics: the
// wire formats (varints, timestamps, panes, iterables, kvs, windowed values,
// rows), the dynamic coders runners build from specs (FromSpec) and the
// inference of coders from Go types (Of).
//
// Users import sdk/coder, whose documentation describes the encodings, the
// Go type mapping and the contracts; it re-exports this package's names as
// aliases and wrappers. The definitions live here so that runner-side code
// (the engine, the portable runner's proto-level core and the job server)
// decodes the bytes of any pipeline without linking the user SDK.
package coder
