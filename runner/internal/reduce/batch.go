package reduce

// OnePaneInBatch reports whether, over bounded input, every window of
// strategy s fires exactly one pane: ON_TIME, first and last, holding all
// its elements, at the window's maximum timestamp. Bounded input is Beam's
// batch case: the input watermark stays at its minimum until every
// element has arrived and then jumps to the end, and processing-time
// timers fire only at the end (the reference's section 1), so a trigger
// whose firings before the end of a window depend on processing time or
// on the watermark never fires early there. Only a firing on elements
// alone (AfterCount, Always, anywhere in the tree) can make another pane.
// Under EndOfWindow such a strategy groups as the default one does, so
// the engine gives it the batch shuffle, whose memory is bounded, instead
// of a reducer that keeps every window until the input ends.
func OnePaneInBatch(s Strategy) bool {
	return s.Combiner == EndOfWindow && !firesOnElements(s.Trigger)
}

// firesOnElements reports whether trigger t, or one of its subtriggers,
// may fire on the arrival of elements alone.
func firesOnElements(t Trigger) bool {
	switch t := t.(type) {
	case AfterCount, Always:
		return true
	case AfterWatermark:
		return firesOnElements(t.Early) || firesOnElements(t.Late)
	case Repeat:
		return firesOnElements(t.T)
	case OrFinally:
		return firesOnElements(t.Main) || firesOnElements(t.Until)
	case AfterAny:
		return anyFiresOnElements(t.Ts)
	case AfterAll:
		return anyFiresOnElements(t.Ts)
	case AfterEach:
		return anyFiresOnElements(t.Ts)
	}
	return false
}

func anyFiresOnElements(ts []Trigger) bool {
	for _, t := range ts {
		if firesOnElements(t) {
			return true
		}
	}
	return false
}
