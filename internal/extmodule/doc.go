// Package extmodule holds the test that a program in a module of its own,
// outside this repository, can depend on this SDK by its module path: it
// builds the README's quickstart module against the checkout with a
// replace directive and runs it. It has no code of its own.
package extmodule
