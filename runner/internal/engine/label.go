package engine

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// label names the stage in error messages by its transforms, as the user
// named them: its plan id (s3) means nothing to the user. A stage of one
// or two transforms lists them; a longer one its first and last
// ("Read" … "Sink" (5 transforms)); a stage without user transforms the
// runner-side transform that feeds it (a GroupByKey), or its id.
func (s *stage) label() string {
	names := s.j.pl.Components.GetTransforms()
	var ts []string
	for _, id := range s.st.Transforms {
		ts = append(ts, strconv.Quote(cmp.Or(names[id].GetUniqueName(), id)))
	}
	switch {
	case len(ts) == 0 && s.st.Input.Transform != "":
		return strconv.Quote(cmp.Or(names[s.st.Input.Transform].GetUniqueName(), s.st.Input.Transform))
	case len(ts) == 0:
		return "stage " + string(s.st.ID)
	case len(ts) <= 2:
		return strings.Join(ts, ", ")
	}
	return fmt.Sprintf("%s … %s (%d transforms)", ts[0], ts[len(ts)-1], len(ts))
}
