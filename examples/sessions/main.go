// Command sessions groups each user's clicks into sessions with a
// stateful DoFn: a session stays open while clicks keep coming, and an
// event-time timer closes it once the watermark shows that the user was
// idle for the gap (30 minutes); the session is then emitted with its
// first and last click and the number of clicks, and its state cleared.
// For on-time input the sessions are those of Beam's Sessions windows; a
// click that arrives after its session was closed (late data) makes a
// session of its own instead of being dropped.
//
// The input is a script of lines, "<user> <minute>" and
// "watermark <minute>", played by a TestStream.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"strconv"
	"strings"
	"time"

	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Gap is how long a user must be idle for a session to close.
const Gap = 30 * time.Minute

// Session is one closed session of a user: the times of its first and
// last click and how many clicks it had.
type Session struct {
	User        string
	First, Last time.Time
	Clicks      int
}

func (s Session) String() string {
	return fmt.Sprintf("%s [%d,%d] %d", s.User, s.First.Unix()/60, s.Last.Unix()/60, s.Clicks)
}

// sessionize keeps each user's clicks of open sessions in an ordered list
// and one event-time timer at the earliest time a session may close: the
// end of its Beam session window, the last click plus the gap, minus 1ms.
// The timer fires once the watermark reaches the session's last click
// plus the gap, when no on-time click can extend it; OnTimer then emits
// every closed session (with the timestamp of its window's end), drops its
// clicks, and sets the timer for the earliest session still open. Clicks
// may arrive in any order.
type sessionize struct {
	Gap    time.Duration
	Clicks sdk.OrderedListState[int64]
	// Next is the time the timer is set to, if it is.
	Next sdk.ValueState[time.Time]
	Idle sdk.EventTimeTimer
}

func (f *sessionize) ProcessElement(ctx context.Context, click sdk.KV[string, time.Time], emit func(Session)) error {
	at := click.Value
	if err := f.Clicks.Add(ctx, at, at.UnixMilli()); err != nil {
		return err
	}
	// The click's session closes no earlier than this; if it merged into a
	// session closing later, the timer fires early, finds nothing closed
	// and moves on.
	end := at.Add(f.Gap - time.Millisecond)
	next, set, err := f.Next.Read(ctx)
	if err != nil || set && !end.Before(next) {
		return err
	}
	return f.setTimer(ctx, end)
}

func (f *sessionize) setTimer(ctx context.Context, at time.Time) error {
	if err := f.Next.Write(ctx, at); err != nil {
		return err
	}
	return f.Idle.Set(ctx, at)
}

// OnTimer emits the sessions that closed by the timer's time.
func (f *sessionize) OnTimer(ctx context.Context, t sdk.FiredTimer, emit func(Session)) error {
	user, err := sdk.CurrentKey[string](ctx)
	if err != nil {
		return err
	}
	clicks, err := f.Clicks.Read(ctx)
	if err != nil {
		return err
	}
	if err := f.Next.Clear(ctx); err != nil {
		return err
	}
	for _, s := range split(clicks, f.Gap) {
		end := s.Last.Add(f.Gap - time.Millisecond)
		if end.After(t.FireTime) {
			// The earliest session still open: wait for it.
			return f.setTimer(ctx, end)
		}
		s.User = user
		emit(s)
		if err := f.Clicks.ClearRange(ctx, s.First, s.Last.Add(time.Millisecond)); err != nil {
			return err
		}
	}
	return nil
}

// split splits clicks, ascending by time, into sessions: a click less
// than gap after the previous one belongs to its session.
func split(clicks []sdk.TimestampedValue[int64], gap time.Duration) []Session {
	var out []Session
	for _, c := range clicks {
		if n := len(out); n > 0 && c.Timestamp.Sub(out[n-1].Last) < gap {
			out[n-1].Last = c.Timestamp
			out[n-1].Clicks++
			continue
		}
		out = append(out, Session{First: c.Timestamp, Last: c.Timestamp, Clicks: 1})
	}
	return out
}

// Sessions groups clicks (user, time) into sessions per user.
func Sessions(s sdk.Scope, clicks sdk.PCollection[sdk.KV[string, time.Time]], gap time.Duration) sdk.PCollection[Session] {
	return sdk.ParDo(s, sdk.DoFn[sdk.KV[string, time.Time], Session](&sessionize{Gap: gap}), clicks)
}

// Script plays the lines as a TestStream of clicks, each stamped with
// its time.
func Script(s sdk.Scope, lines []string) (sdk.PCollection[sdk.KV[string, time.Time]], error) {
	ts := sdk.NewTestStream[sdk.KV[string, time.Time]](s)
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) != 2 {
			return sdk.PCollection[sdk.KV[string, time.Time]]{}, fmt.Errorf("sessions: bad line %q", line)
		}
		minute, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return sdk.PCollection[sdk.KV[string, time.Time]]{}, fmt.Errorf("sessions: bad line %q: %w", line, err)
		}
		at := time.Unix(minute*60, 0).UTC()
		if f[0] == "watermark" {
			ts.AdvanceWatermarkTo(at)
			continue
		}
		ts.AddElementsAt(at, sdk.Pair(f[0], at))
	}
	ts.AdvanceWatermarkToInfinity()
	return ts.Output(), nil
}

// Run sessionizes the script's clicks on r, handing every session to out.
func Run(ctx context.Context, r runner.Runner, lines []string, gap time.Duration, out func(context.Context, Session) error) error {
	p := sdk.NewPipeline()
	s := p.Root()
	clicks, err := Script(s, lines)
	if err != nil {
		return err
	}
	sdk.ForEachFunc(s, out, Sessions(s, clicks, gap))
	_, err = r.Run(ctx, p)
	return err
}

// demo: ann clicks in two bursts; bob's clicks arrive out of order, and
// the one at minute 20 joins his sessions at 5 and 40 into one; a late
// click of bob's arrives after that session closed.
var demo = []string{
	"ann 0", "ann 10", "bob 40", "ann 35", "bob 5",
	"watermark 30",
	"bob 20",
	"watermark 80",
	"ann 100", "bob 30",
	"watermark 200",
}

func main() {
	flag.Parse()
	err := Run(context.Background(), local.New(nil), demo, Gap, func(_ context.Context, s Session) error {
		fmt.Println(s)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
}
