package window

import iwindow "github.com/beamgo-dev/beamgo/internal/window"

// The declarations below re-export the windowing strategies and triggers
// of the internal window package, as model.go does for the event-time
// model, so that the SDK, the proto translation and the runner side share
// one set of plain values.

// Trigger says when the panes of a window are emitted: a tree of plain
// values whose zero value is Beam's default trigger. Package sdk has its
// constructors (sdk.AfterWatermark, sdk.AfterCount, ...).
type Trigger = iwindow.Trigger

// TriggerKind names one of Beam's triggers.
type TriggerKind = iwindow.TriggerKind

// The triggers of Beam's model; see the internal definitions for each.
const (
	TriggerDefault                         = iwindow.TriggerDefault
	TriggerAfterWatermark                  = iwindow.TriggerAfterWatermark
	TriggerAfterCount                      = iwindow.TriggerAfterCount
	TriggerAfterProcessingTime             = iwindow.TriggerAfterProcessingTime
	TriggerAfterSynchronizedProcessingTime = iwindow.TriggerAfterSynchronizedProcessingTime
	TriggerAfterAll                        = iwindow.TriggerAfterAll
	TriggerAfterAny                        = iwindow.TriggerAfterAny
	TriggerAfterEach                       = iwindow.TriggerAfterEach
	TriggerRepeatedly                      = iwindow.TriggerRepeatedly
	TriggerOrFinally                       = iwindow.TriggerOrFinally
	TriggerNever                           = iwindow.TriggerNever
	TriggerAlways                          = iwindow.TriggerAlways
)

// MaxTriggerDepth is how deeply subtriggers may nest.
const MaxTriggerDepth = iwindow.MaxTriggerDepth

// TimeTransform shifts the processing time at which an AfterProcessingTime
// trigger fires: a delay, or an alignment to a period.
type TimeTransform = iwindow.TimeTransform

// Strategy is a windowing strategy: window function, trigger,
// accumulation, allowed lateness, timestamp combiner, closing and on-time
// behaviours. Apart from Fn, its zero value holds Beam Java's defaults.
type Strategy = iwindow.Strategy

// GlobalStrategy returns the strategy of collections that were never
// windowed: the global window with Beam's defaults.
func GlobalStrategy() Strategy { return iwindow.GlobalStrategy() }

// ErrUnsafeTrigger is the cause of the construction errors of groupings
// whose trigger may drop data (see Strategy.CheckTriggerSafe).
var ErrUnsafeTrigger = iwindow.ErrUnsafeTrigger

// AccumulationMode says what the panes after the first of a window hold.
type AccumulationMode = iwindow.AccumulationMode

// The accumulation modes; Discarding is the default.
const (
	Discarding   = iwindow.Discarding
	Accumulating = iwindow.Accumulating
)

// TimestampCombiner says which timestamp a pane's output gets.
type TimestampCombiner = iwindow.TimestampCombiner

// The timestamp combiners; OutputAtEndOfWindow is the default.
const (
	OutputAtEndOfWindow = iwindow.OutputAtEndOfWindow
	OutputAtEarliest    = iwindow.OutputAtEarliest
	OutputAtLatest      = iwindow.OutputAtLatest
)

// ClosingBehavior says whether a window's final pane is emitted when it is
// empty.
type ClosingBehavior = iwindow.ClosingBehavior

// The closing behaviours; ClosingFireIfNonEmpty is the default.
const (
	ClosingFireIfNonEmpty = iwindow.ClosingFireIfNonEmpty
	ClosingFireAlways     = iwindow.ClosingFireAlways
)

// OnTimeBehavior says whether a window's on-time pane is emitted when it
// is empty.
type OnTimeBehavior = iwindow.OnTimeBehavior

// The on-time behaviours; OnTimeFireAlways is the default, as in Beam Java.
const (
	OnTimeFireAlways     = iwindow.OnTimeFireAlways
	OnTimeFireIfNonEmpty = iwindow.OnTimeFireIfNonEmpty
)
