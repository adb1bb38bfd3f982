package plan

import (
	"fmt"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
)

// Stateful describes the ParDo with user state or timers that a keyed
// stage feeds: what the engine needs to keep its state and fire its
// timers.
type Stateful struct {
	// Transform is the ParDo's id.
	Transform string
	// Families are its timer families by id (including the one that fires
	// OnWindowExpiration), with their time domains.
	Families map[string]TimeDomain
	// ExpiryFamily is the timer family that the runner fires once per key
	// and window holding state when the window expires
	// (on_window_expiration_timer_family_spec); "" if there is none.
	ExpiryFamily string
}

// TimeDomain is the time domain of a timer family.
type TimeDomain int

// The time domains of timer families.
const (
	EventTime TimeDomain = iota + 1
	ProcessingTime
)

// stateful fills in Input.Stateful of keyed stage s: the stage's
// transform that reads the keyed input.
func (f *fuser) stateful(s *Stage) error {
	for _, id := range s.Transforms {
		t := f.g.transform(id)
		if !pardoLike(t.GetSpec().GetUrn()) || len(f.g.mainInputs(id)) != 1 || f.g.mainInputs(id)[0] != s.Input.Target {
			continue
		}
		var pd pipepb.ParDoPayload
		if err := proto.Unmarshal(t.GetSpec().GetPayload(), &pd); err != nil {
			return fmt.Errorf("plan: transform %s: payload is not a ParDoPayload: %w", f.g.describe(id), err)
		}
		st := &Stateful{Transform: id, Families: map[string]TimeDomain{}, ExpiryFamily: pd.GetOnWindowExpirationTimerFamilySpec()}
		for fid, spec := range pd.GetTimerFamilySpecs() {
			st.Families[fid] = EventTime
			if spec.GetTimeDomain() == pipepb.TimeDomain_PROCESSING_TIME {
				st.Families[fid] = ProcessingTime
			}
		}
		if st.ExpiryFamily != "" {
			// The family is fired by the runner at window expiry, an
			// event-time moment, whether or not the SDK declared it.
			st.Families[st.ExpiryFamily] = EventTime
		}
		s.Input.Stateful = st
		return nil
	}
	return fmt.Errorf("plan: keyed stage reading %s has no stateful ParDo reading it", s.Input.Target)
}
