"""Beam Python pipelines submitted to a Beam job server, each checked.

Run by scripts/interop-python.sh against our job server (cmd/jobserver):

    python pipelines.py --job_endpoint=HOST:PORT --environment_type=LOOPBACK [--only=NAME,...]

Every pipeline checks its own output with assert_that, so a job that ends
DONE passed; one line per pipeline is printed: "PASS name env seconds",
"FAIL name env: error", or "UNSUPPORTED name env: refusal" for a feature
the job server is known to refuse (KNOWN_UNSUPPORTED). The exit status is 1 if any failed.
"""

import argparse
import sys
import time
import traceback

import apache_beam as beam
from apache_beam import window
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import userstate
from apache_beam.coders import VarIntCoder
from apache_beam.utils.timestamp import Timestamp

LINES = ["the quick brown fox", "jumps over the lazy dog", "the dog barks"]


def word_count(p):
    counts = (p | beam.Create(LINES) | beam.FlatMap(str.split)
              | beam.combiners.Count.PerElement())
    want = {}
    for line in LINES:
        for w in line.split():
            want[w] = want.get(w, 0) + 1
    assert_that(counts, equal_to(list(want.items())))


def group_by_key(p):
    grouped = (p | beam.Create([("a", 1), ("b", 2), ("a", 3), ("c", 4), ("a", 5)])
               | beam.GroupByKey() | beam.MapTuple(lambda k, vs: (k, sorted(vs))))
    assert_that(grouped, equal_to([("a", [1, 3, 5]), ("b", [2]), ("c", [4])]))


def combine_per_key(p):
    kvs = p | beam.Create([("x", i) for i in range(10)] + [("y", i) for i in range(5)])
    sums = kvs | "Sum" >> beam.CombinePerKey(sum)
    assert_that(sums, equal_to([("x", 45), ("y", 10)]), label="sums")
    means = kvs | "Mean" >> beam.combiners.Mean.PerKey()
    assert_that(means, equal_to([("x", 4.5), ("y", 2.0)]), label="means")
    total = kvs | beam.Values() | "Global" >> beam.CombineGlobally(sum)
    assert_that(total, equal_to([55]), label="global")


def side_inputs(p):
    main = p | "Main" >> beam.Create([1, 2, 3])
    scale = p | "Scale" >> beam.Create([10])
    offsets = p | "Offsets" >> beam.Create([100, 200])
    names = p | "Names" >> beam.Create([(1, "one"), (2, "two"), (3, "three")])
    out = main | beam.Map(
        lambda x, s, offs, d: (d[x], x * s + sum(offs)),
        s=beam.pvalue.AsSingleton(scale),
        offs=beam.pvalue.AsList(offsets),
        d=beam.pvalue.AsDict(names))
    assert_that(out, equal_to([("one", 310), ("two", 320), ("three", 330)]))


class _WithWindow(beam.DoFn):
    def process(self, kv, w=beam.DoFn.WindowParam):
        yield (kv[0], int(w.start), kv[1])


def windows(p):
    events = [("a", 1, 1), ("a", 2, 5), ("a", 3, 12), ("b", 4, 15), ("b", 5, 31)]
    out = (p | beam.Create(events)
           | beam.Map(lambda e: window.TimestampedValue((e[0], e[1]), e[2]))
           | beam.WindowInto(window.FixedWindows(10))
           | beam.CombinePerKey(sum)
           | beam.ParDo(_WithWindow()))
    assert_that(out, equal_to([("a", 0, 3), ("a", 10, 3), ("b", 10, 4), ("b", 30, 5)]))


def sliding_windows(p):
    out = (p | beam.Create([1, 2, 3])
           | beam.Map(lambda x: window.TimestampedValue(("k", x), x * 4))
           | beam.WindowInto(window.SlidingWindows(10, 5))
           | beam.GroupByKey()
           | beam.MapTuple(lambda k, vs: sorted(vs))
           | beam.Map(tuple))
    # timestamps 4, 8, 12: windows [-5,5) {1}, [0,10) {1,2}, [5,15) {2,3}, [10,20) {3}
    assert_that(out, equal_to([(1,), (1, 2), (2, 3), (3,)]))


class _RunningCount(beam.DoFn):
    COUNT = userstate.CombiningValueStateSpec("count", VarIntCoder(), beam.combiners.CountCombineFn())

    def process(self, kv, count=beam.DoFn.StateParam(COUNT)):
        count.add(1)
        yield (kv[0], kv[1], count.read())


def stateful_dofn(p):
    out = (p | beam.Create([("a", 1), ("a", 2), ("b", 3), ("a", 4)])
           | beam.ParDo(_RunningCount())
           | beam.MapTuple(lambda k, v, c: (k, c))
           | beam.GroupByKey()
           | beam.MapTuple(lambda k, cs: (k, sorted(cs))))
    assert_that(out, equal_to([("a", [1, 2, 3]), ("b", [1])]))


class _BufferUntilEnd(beam.DoFn):
    BUF = userstate.BagStateSpec("buf", VarIntCoder())
    END = userstate.TimerSpec("end", userstate.TimeDomain.WATERMARK)

    def process(self, kv, w=beam.DoFn.WindowParam,
                buf=beam.DoFn.StateParam(BUF), end=beam.DoFn.TimerParam(END)):
        buf.add(kv[1])
        end.set(w.end)

    @userstate.on_timer(END)
    def flush(self, key=beam.DoFn.KeyParam, buf=beam.DoFn.StateParam(BUF)):
        yield (key, sorted(buf.read()))
        buf.clear()


class _OrderedSeen(beam.DoFn):
    SEEN = userstate.OrderedListStateSpec("seen", VarIntCoder())

    def process(self, kv, seen=beam.DoFn.StateParam(SEEN)):
        key, v = kv
        seen.add((Timestamp(v), v))
        got = [x for _, x in seen.read()]
        if len(got) == 3:
            seen.clear_range(Timestamp(0), Timestamp(2))
            got = ["cleared"] + [x for _, x in seen.read()]
        yield (key, got)


def ordered_list_state(p):
    # Sort key v seconds; whatever order a key's values come in, its third
    # read is ascending, and clearing [0s, 2s) leaves the values from 2 on.
    out = (p | beam.Create([("a", 3), ("a", 1), ("a", 2), ("b", 5)])
           | beam.ParDo(_OrderedSeen())
           | beam.Filter(lambda kv: kv[0] == "b" or kv[1][0] == "cleared"))
    assert_that(out, equal_to([("a", ["cleared", 2, 3]), ("b", [5])]))


def event_time_timer(p):
    out = (p | beam.Create([("a", 1, 1), ("a", 2, 3), ("b", 3, 4), ("a", 4, 12)])
           | beam.Map(lambda e: window.TimestampedValue((e[0], e[1]), e[2]))
           | beam.WindowInto(window.FixedWindows(10))
           | beam.ParDo(_BufferUntilEnd()))
    assert_that(out, equal_to([("a", [1, 2]), ("b", [3]), ("a", [4])]))


class _Ranges(beam.transforms.core.RestrictionProvider):
    def initial_restriction(self, n):
        return OffsetRange(0, n)

    def create_tracker(self, restriction):
        return OffsetRestrictionTracker(restriction)

    def restriction_size(self, n, restriction):
        return restriction.size()


class _Count(beam.DoFn):
    def process(self, n, tracker=beam.DoFn.RestrictionParam(_Ranges())):
        r = tracker.current_restriction()
        i = r.start
        while tracker.try_claim(i):
            yield i
            i += 1


def splittable_dofn(p):
    out = p | beam.Create([3, 5]) | beam.ParDo(_Count())
    assert_that(out, equal_to([0, 1, 2, 0, 1, 2, 3, 4]))


def flatten_reshuffle(p):
    a = p | "A" >> beam.Create(["x", "y"])
    b = p | "B" >> beam.Create(["z"])
    out = (a, b) | beam.Flatten() | beam.Reshuffle() | beam.Map(str.upper)
    assert_that(out, equal_to(["X", "Y", "Z"]))


PIPELINES = [word_count, group_by_key, combine_per_key, side_inputs, windows,
             sliding_windows, stateful_dofn, ordered_list_state, event_time_timer, splittable_dofn,
             flatten_reshuffle]


# Features our job server refuses at planning time, with the words of its
# refusal. Such a pipeline is reported UNSUPPORTED, not failed, as long as it
# fails with exactly that refusal; once it passes it is reported PASS (and
# should leave this list).
KNOWN_UNSUPPORTED = {}


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="", help="comma-separated pipeline names")
    ap.add_argument("--label", default="", help="label printed with each line (the environment)")
    args, beam_args = ap.parse_known_args(argv)
    only = set(filter(None, args.only.split(",")))
    env = args.label or next((a.split("=", 1)[1] for a in beam_args
                              if a.startswith("--environment_type=")), "?")
    failed = 0
    for fn in PIPELINES:
        if only and fn.__name__ not in only:
            continue
        start = time.monotonic()
        try:
            opts = PipelineOptions(["--runner=PortableRunner"] + beam_args)
            with beam.Pipeline(options=opts) as p:
                fn(p)
            print(f"PASS {fn.__name__} env={env} {time.monotonic() - start:.1f}s", flush=True)
        except Exception as e:  # report every pipeline, then fail
            text = str(e)
            refusal = KNOWN_UNSUPPORTED.get(fn.__name__)
            if refusal and refusal in text:
                print(f"UNSUPPORTED {fn.__name__} env={env}: {refusal}", flush=True)
                continue
            failed += 1
            lines = [l for l in text.strip().splitlines() if l.strip() not in ("", ">")]
            print(f"FAIL {fn.__name__} env={env}: {lines[-1] if lines else type(e).__name__}", flush=True)
            traceback.print_exc(file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
