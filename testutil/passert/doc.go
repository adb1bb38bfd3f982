// Package passert adds assertions to pipelines under test: transforms that
// check the contents of a PCollection when the pipeline runs, and fail the
// run with a readable difference when the check does not hold.
//
//	p := sdk.NewPipeline()
//	s := p.Root()
//	words := sdk.FlatMap(s, splitWords, sdk.Create(s, []string{"a b", "b c"}))
//	passert.Equals(s, words, "a", "b", "b", "c") // any order
//	passert.Count(s, words, 4)
//	passert.True(s, words, func(w string) bool { return w != "" })
//	if err := runner.Run(ctx, p); err != nil { // fails if an assertion does
//		t.Fatal(err)
//	}
//
// A failed Equals names what is missing and what is unexpected:
//
//	passert.Equals: got 4 elements, want 4: missing 1: "d"; unexpected 1: "b" (2 of it, want 1)
//
// # How it works
//
// Each assertion is a composite transform: it re-windows the collection
// into the global window, reads all of it as an iterable side input of a
// ParDo over a single Impulse element, and returns the check's error from
// ProcessElement, which fails the bundle and so the run, naming the
// transform. It uses only sdk primitives (Impulse, WindowInto, ParDo, an
// iterable side input), so any runner with side inputs runs it. An element
// in several windows (sliding windows) counts once per window.
//
// Elements are compared with == when their type is made of numbers,
// strings and bools, and with cmp.Equal otherwise (EqualsWith takes cmp
// options). A type cmp.Equal cannot compare (unexported fields without
// cmp.AllowUnexported) makes the assertion panic when it is built, naming
// the caller.
package passert
