// Package urns holds the URN strings of the Beam model that beamgo reads and
// writes: transforms, coders, window functions, side input access patterns,
// environments, requirements, monitoring infos, and beamgo's own payloads.
//
// It is a leaf package: it imports nothing, so the SDK translator, the
// planner, the validator and the harness can all share it. Standard URNs are
// written as constants so they can be used in switch statements; a test
// checks each one against the beam_urn option of the generated Beam model
// enums, so a typo or a model change cannot go unnoticed.
//
// URNs that the Beam model does not define (the runner's data source and
// sink, and the beamgo payload URNs) are checked only for their prefix.
package urns
