// Package rangetracker tracks how far a reader has read a range of positions
// of a bounded source, and lets other goroutines split the unread rest off
// while it reads. It follows the semantics of Apache Beam's range trackers
// (OffsetRangeTracker, OrderedPositionRangeTracker,
// LexicographicKeyRangeTracker, UnsplittableRangeTracker) case for case,
// except where noted on each type.
//
// # Positions, split points, consumed positions
//
// A source reads the range [start, stop) of positions: from the first record
// starting at or after start, up to but not including the first record
// starting at or after stop, so that reading [A, B) and [B, C) gives the same
// records as reading [A, C). Records whose position some read could start at
// are split points; the reader claims them with TryClaim, and reports other
// records (inside a compressed block, say) with SetCurrentPosition. The first
// record of a range is always a split point. Once the reader has returned the
// record at p, positions up to p are consumed, and a split may only happen
// after p: after returning the record at offset 42, splits can happen at 43
// or beyond, or that record would be read twice.
//
// # Trackers
//
//   - Offset: int64 offsets, with OffsetInfinity for "to the end, size
//     unknown".
//   - Ordered: any position type, given an Ordering (compare, and position to
//     fraction and back).
//   - LexicographicKey: byte-string keys, an empty stop meaning the end of
//     the key space, fractions by reading keys as base-256 fractions
//     (KeyFraction, KeyAtFraction).
//   - Unsplittable: wraps any tracker and refuses every split.
//
// Every tracker is safe for concurrent use: one reader claims while runners
// call TrySplit, FractionConsumed and SplitPoints from other goroutines. A
// refused split is ok == false, not an error; the optional SplitExplainer
// interface (TrySplitReason) says why. Misuse by the reader is an error that
// names the position and the one before it.
//
// # Edges
//
// What each method returns at the edges of a range [s, e), with r the last
// record claimed (Refused... are the Refusal values TrySplitReason reports):
//
//	Edge                         Call                          Result
//	---------------------------  ----------------------------  ----------------------------------------------
//	empty range [s, s)           TryClaim(p), p >= s           false, nil: the range has ended
//	                             TryClaim(p), p < s            error: before the start
//	                             SetCurrentPosition(p)         error: the first record must be a split point
//	                             TrySplit(p)                   refused: RefusedUnstarted (Offset),
//	                                                           RefusedOutOfRange (Ordered, LexicographicKey)
//	                             FractionConsumed()            0
//	                             PositionAtFraction(f)         s
//	                             SplitPoints()                 (0, callback(s)+1 or SplitPointsUnknown)
//	split at start               TrySplit(s)                   refused: RefusedConsumed once started; before
//	                                                           a claim RefusedUnstarted (Offset) or
//	                                                           RefusedOutOfRange (the others)
//	split before the first       TrySplit(p), s < p < e        Offset refuses (RefusedUnstarted); Ordered and
//	claim                                                      LexicographicKey accept
//	split at the last claimed    TrySplit(r), or before r      refused: RefusedConsumed
//	record r                     TrySplit(next after r),       accepted: the primary [s, r+1) holds nothing
//	                             TryCheckpoint()               more, the next claim returns false
//	split at stop                TrySplit(p), p >= e           refused: RefusedOutOfRange; any split of
//	                                                           [s, OffsetInfinity) is RefusedInfinite
//	                             PositionAtFraction(1)         e; an error for OffsetInfinity
//	claim after the range        TryClaim(p), p > failed one   false, nil
//	ended (a TryClaim            TryClaim(p), p <= failed one  error: claims strictly increase
//	returned false)              SetCurrentPosition(p)         nil, even past e (the rest of the last block)
//	                             TrySplit(p), r < p < e        accepted; the residual holds no split point.
//	                                                           RestrictionTracker.TrySplit refuses instead
//	                             FractionConsumed()            unchanged (1 once a record is set past e)
//	                             RestrictionTracker.IsDone()   nil
//	any                          FractionConsumed()            in [0, 1], never decreasing; 0 before a claim
//	                             SplitPoints()                 (claims-1 but >= 0, callback(e)+1 or unknown);
//	                                                           Unsplittable: always (0, 1)
//	                             Unsplittable.TrySplit(p)      refused: RefusedUnsplittable
//
// # Splittable reads and Fn API splits
//
// RestrictionTracker makes a RangeTracker the restriction tracker of a
// splittable read. A runner's split request (ProcessBundleSplitRequest) asks
// to keep fractionOfRemainder of the unread work; RestrictionTracker.TrySplit
// maps it onto the RangeTracker as Beam does: fraction = consumed +
// (1-consumed)*fractionOfRemainder, position = PositionAtFraction(fraction),
// then TrySplit(position); the primary [start, position) keeps weight*fraction
// of the restriction's weight and the residual [position, old stop) the rest.
// fractionOfRemainder == 0 is a checkpoint at the first unconsumed position
// (TryCheckpoint). Any refusal means no split.
//
// Package rangetrackertest holds the conformance suite every tracker here
// runs, for use by other implementations.
package rangetracker
