package webui

import (
	"fmt"
	"html"
	"io"
	"strings"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/engine"
)

// Layout of the plan graph, in SVG pixels.
const (
	nodeWidth   = 260
	lineHeight  = 15
	nodePad     = 8
	colGap      = 40
	rowGap      = 56
	maxNodeRows = 8
	maxLabel    = 38
)

// node is a stage placed on the drawing.
type node struct {
	s          engine.StageStatus
	x, y, h    int
	layer, col int
	lines      []string
}

// writePlanSVG draws st's plan as layers top to bottom: a stage sits one
// layer below the lowest of the stages it reads from, so that data flows
// downwards, and edges are labelled with the elements that crossed them.
// Hand-written on purpose: plans are small DAGs that are mostly chains,
// for which longest-path layering reads well without a layout library.
func writePlanSVG(w io.Writer, st engine.Status) error {
	nodes, width, height := layout(st)
	byID := map[string]*node{}
	for _, n := range nodes {
		byID[n.s.ID] = n
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="plan" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`, width, height, width, height)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#667"/></marker></defs>`)
	for _, e := range st.Edges {
		from, to := byID[e.From], byID[e.To]
		if from == nil || to == nil {
			continue
		}
		writeEdge(&b, e, from, to)
	}
	for _, n := range nodes {
		writeNode(&b, n)
	}
	b.WriteString(`</svg>`)
	_, err := io.WriteString(w, b.String())
	return err
}

// layout places the stages and returns them with the drawing's size.
func layout(st engine.Status) ([]*node, int, int) {
	layer := map[string]int{}
	for _, s := range st.Stages { // plan order is topological
		layer[s.ID] = 0
	}
	for _, s := range st.Stages {
		for _, e := range st.Edges {
			if e.To == s.ID {
				layer[s.ID] = max(layer[s.ID], layer[e.From]+1)
			}
		}
	}
	var nodes []*node
	cols := map[int]int{}
	rowHeight := map[int]int{}
	maxCols := 1
	for _, s := range st.Stages {
		n := &node{s: s, layer: layer[s.ID], col: cols[layer[s.ID]], lines: nodeLines(s)}
		cols[n.layer]++
		maxCols = max(maxCols, cols[n.layer])
		n.h = 2*nodePad + lineHeight*len(n.lines)
		rowHeight[n.layer] = max(rowHeight[n.layer], n.h)
		nodes = append(nodes, n)
	}
	rowY := map[int]int{}
	y := 10
	for l := 0; l <= len(st.Stages); l++ {
		if _, ok := rowHeight[l]; !ok {
			continue
		}
		rowY[l] = y
		y += rowHeight[l] + rowGap
	}
	width := 20 + maxCols*(nodeWidth+colGap)
	for _, n := range nodes {
		// Centre each row under the widest one.
		offset := (maxCols - cols[n.layer]) * (nodeWidth + colGap) / 2
		n.x = 10 + offset + n.col*(nodeWidth+colGap)
		n.y = rowY[n.layer]
	}
	return nodes, width, max(y-rowGap+10, 40)
}

// nodeLines are the text lines of a stage's box: its id and input, its
// transforms (the first few), and its output watermark.
func nodeLines(s engine.StageStatus) []string {
	head := s.ID + " · " + s.Input
	lines := []string{head}
	if s.InputTransform != "" {
		lines = append(lines, "⇢ "+s.InputTransform)
	}
	for i, t := range s.Transforms {
		if i == maxNodeRows-1 && len(s.Transforms) > maxNodeRows {
			lines = append(lines, fmt.Sprintf("… %d more", len(s.Transforms)-i))
			break
		}
		lines = append(lines, t)
	}
	lines = append(lines, "OW "+newWatermark(s.OW).Text)
	for i, l := range lines {
		if r := []rune(l); len(r) > maxLabel {
			lines[i] = string(r[:maxLabel-1]) + "…"
		}
	}
	return lines
}

// stageClass is the CSS class of a stage's box: done, running or waiting.
func stageClass(s engine.StageStatus) string {
	switch {
	case s.Failed > 0:
		return "failed"
	case s.OW >= window.MaxTime:
		return "done"
	case s.Running > 0:
		return "running"
	}
	return "waiting"
}

var fills = map[string]string{"failed": "#fde2e2", "done": "#e3f4e1", "running": "#dde9fb", "waiting": "#f1f1f4"}

func writeNode(b *strings.Builder, n *node) {
	class := stageClass(n.s)
	fmt.Fprintf(b, `<g class="stage %s" data-stage="%s"><title>%s</title>`, class, html.EscapeString(n.s.ID), html.EscapeString(strings.Join(append([]string{n.s.ID}, n.s.Transforms...), "\n")))
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="%s" stroke="#889"/>`, n.x, n.y, nodeWidth, n.h, fills[class])
	for i, l := range n.lines {
		weight := ""
		if i == 0 {
			weight = ` font-weight="bold"`
		}
		fmt.Fprintf(b, `<text x="%d" y="%d"%s>%s</text>`, n.x+nodePad, n.y+nodePad+lineHeight*(i+1)-3, weight, html.EscapeString(l))
	}
	b.WriteString(`</g>`)
}

func writeEdge(b *strings.Builder, e engine.EdgeStatus, from, to *node) {
	x1, y1 := from.x+nodeWidth/2, from.y+from.h
	x2, y2 := to.x+nodeWidth/2, to.y
	mid := (y1 + y2) / 2
	dash := ""
	if e.Side {
		dash = ` stroke-dasharray="5,4"`
	}
	fmt.Fprintf(b, `<g class="edge" data-from="%s" data-to="%s"><path d="M%d,%d C%d,%d %d,%d %d,%d" fill="none" stroke="#667"%s marker-end="url(#arrow)"/>`,
		html.EscapeString(e.From), html.EscapeString(e.To), x1, y1, x1, mid, x2, mid, x2, y2, dash)
	label := fmt.Sprintf("%d elements", e.Elements)
	if e.Side {
		label += " (side input)"
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" fill="#445" font-size="11">%s</text></g>`, (x1+x2)/2+6, mid+4, html.EscapeString(label))
}
