// Package window defines Beam's event-time model: timestamps, windows, panes,
// windowed values, the window functions (global, fixed, sliding, sessions)
// that assign elements to windows, and windowing strategies (Strategy):
// triggers, accumulation, allowed lateness, timestamp combiners, closing
// and on-time behaviours.
//
// # Representation
//
// Beam has two standard window types, the global window and the interval
// window [start, end). Both are represented by the one comparable struct
// Window, so windows can be map keys and windowed values carry no interface
// values (and so no allocation) on the hot path.
//
// Timestamps are milliseconds since the Unix epoch, as in Beam's model
// (Time). The bounds are Beam's: MinTime and MaxTime, and the global window
// ends at EndOfGlobalWindow, one day before MaxTime.
//
// The types are aliases of an internal package that runners share, so a
// value built here is the very value a runner sees; nothing is converted.
package window
