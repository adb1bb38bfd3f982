// Package runner holds what is common to this project's runners. Today that
// is Explain, which shows how a pipeline will be executed: the fused stages
// that the planner makes of its Beam protos. The runners themselves live in
// runner/local and runner/portable.
//
// Dependency rules for runner/... are in runner/README.md.
package runner

import (
	"fmt"

	"github.com/beamgo-dev/beamgo/proto/translate"
	"github.com/beamgo-dev/beamgo/proto/validate"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Format is an output format of Explain.
type Format string

// The formats of Explain.
const (
	// Text lists the stages with their transforms, inputs and outputs.
	Text Format = "text"
	// DOT is a Graphviz graph with one cluster per stage.
	DOT Format = "dot"
)

// ExplainOptions configure Explain; nil means defaults.
type ExplainOptions struct {
	// DisableLifting plans combines without pre-combining before the shuffle.
	DisableLifting bool
}

// Explain translates p to Beam protos, validates them, plans the fused
// stages a runner would execute, and renders the plan in format f.
func Explain(p *sdk.Pipeline, f Format, opts *ExplainOptions) (string, error) {
	if opts == nil {
		opts = &ExplainOptions{}
	}
	pb, err := translate.ToProto(p, nil)
	if err != nil {
		return "", err
	}
	if err := validate.Pipeline(pb, nil); err != nil {
		return "", fmt.Errorf("runner: invalid pipeline: %w", err)
	}
	pl, err := plan.Build(pb, &plan.Options{DisableLifting: opts.DisableLifting})
	if err != nil {
		return "", fmt.Errorf("runner: %w", err) // plan's errors say "plan: "
	}
	switch f {
	case Text, "":
		return pl.String(), nil
	case DOT:
		return pl.DOT(), nil
	}
	return "", fmt.Errorf("runner: unknown explain format %q (want %q or %q)", f, Text, DOT)
}
