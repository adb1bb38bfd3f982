package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// String renders the plan as text, one block per stage in plan order: the
// stage's input, its transforms by unique name, its side inputs and its
// outputs. PCollections appear by id.
func (p *Plan) String() string {
	var b strings.Builder
	for _, s := range p.Stages {
		fmt.Fprintf(&b, "stage %s", s.ID)
		if s.Environment != "" {
			fmt.Fprintf(&b, " env %s", s.Environment)
		}
		if len(s.Upstream) > 0 {
			fmt.Fprintf(&b, " after %s", joinIDs(s.Upstream))
		}
		fmt.Fprintf(&b, "\n  input %s\n", p.describeInput(s.Input))
		for _, id := range s.Transforms {
			fmt.Fprintf(&b, "  transform %q\n", p.name(id))
		}
		for _, si := range s.SideInputs {
			fmt.Fprintf(&b, "  side input %q %s <- %s (%s)\n", p.name(si.Transform), si.Local, si.PCollection, shortPattern(si.AccessPattern))
		}
		for _, o := range s.Outputs {
			fmt.Fprintf(&b, "  output %s\n", o)
		}
	}
	return b.String()
}

// describeInput renders a stage input for String.
func (p *Plan) describeInput(in Input) string {
	ins := strings.Join(in.PCollections, ", ")
	if ins == "" {
		ins = "(none)"
	}
	switch {
	case in.Kind == InputImpulse, in.Kind == InputTestStream:
		return fmt.Sprintf("%s: %q -> %s", in.Kind, p.name(in.Transform), in.Target)
	case in.Transform == "":
		return fmt.Sprintf("%s: %s", in.Kind, ins)
	}
	return fmt.Sprintf("%s: %s -> %q -> %s", in.Kind, ins, p.name(in.Transform), in.Target)
}

// name returns the unique name of transform id.
func (p *Plan) name(id string) string {
	return p.Components.GetTransforms()[id].GetUniqueName()
}

// shortPattern shortens a side input access pattern URN for display.
func shortPattern(urn string) string {
	return strings.TrimSuffix(strings.TrimPrefix(urn, "beam:side_input:"), ":v1")
}

func joinIDs(ids []StageID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, ", ")
}

// DOT renders the plan as a Graphviz graph: one cluster per stage holding a
// node for the stage input and one per transform; solid edges carry main
// inputs, dashed edges side inputs, and each edge is labeled with its
// PCollection id.
func (p *Plan) DOT() string {
	var b strings.Builder
	b.WriteString("digraph plan {\n  node [shape=box];\n")
	for _, s := range p.Stages {
		p.dotCluster(&b, s)
	}
	source := p.dotSources()
	for _, s := range p.Stages {
		for _, pc := range s.Input.PCollections {
			dotEdge(&b, source[pc], inputNode(s), pc, false)
		}
		for _, id := range s.Transforms {
			t := p.Components.GetTransforms()[id]
			for _, local := range slices.Sorted(maps.Keys(t.GetInputs())) {
				pc := t.GetInputs()[local]
				from := source[pc]
				if pc == s.Input.Target {
					from = inputNode(s)
				}
				dotEdge(&b, from, id, pc, isSideInput(s, id, local))
			}
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// dotCluster writes the cluster of stage s.
func (p *Plan) dotCluster(b *strings.Builder, s *Stage) {
	label := string(s.ID)
	if s.Environment != "" {
		label += " (env " + s.Environment + ")"
	}
	fmt.Fprintf(b, "  subgraph %s {\n    label=%s;\n", dotQuote("cluster_"+string(s.ID)), dotQuote(label))
	in := s.Input.Kind.String()
	if s.Input.Transform != "" {
		in += "\n" + p.name(s.Input.Transform)
	}
	fmt.Fprintf(b, "    %s [shape=ellipse, label=%s];\n", dotQuote(inputNode(s)), dotQuote(in))
	for _, id := range s.Transforms {
		fmt.Fprintf(b, "    %s [label=%s];\n", dotQuote(id), dotQuote(p.name(id)))
	}
	b.WriteString("  }\n")
}

// dotSources maps each PCollection to the node producing it: a transform,
// or the input node of a stage whose runner-side transform makes it.
func (p *Plan) dotSources() map[string]string {
	source := map[string]string{}
	for _, s := range p.Stages {
		if s.Input.Transform != "" {
			source[s.Input.Target] = inputNode(s)
		}
		for _, id := range s.Transforms {
			for _, pc := range p.Components.GetTransforms()[id].GetOutputs() {
				source[pc] = id
			}
		}
	}
	return source
}

func dotEdge(b *strings.Builder, from, to, label string, dashed bool) {
	style := ""
	if dashed {
		style = ", style=dashed"
	}
	fmt.Fprintf(b, "  %s -> %s [label=%s%s];\n", dotQuote(from), dotQuote(to), dotQuote(label), style)
}

func inputNode(s *Stage) string { return "input:" + string(s.ID) }

func isSideInput(s *Stage, id, local string) bool {
	for _, si := range s.SideInputs {
		if si.Transform == id && si.Local == local {
			return true
		}
	}
	return false
}

// dotQuote quotes s as a Graphviz string.
func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
