"""The peers benchmark's jobs written directly in PyFlink's DataStream API.

    python pyflink_jobs.py wordcount INPUT OUTPUT
    python pyflink_jobs.py windowed INPUT OUTPUT

wordcount: the words of INPUT's lines (the regular expression
[a-zA-Z]+('[a-z])?, as examples/wordcount), counted; OUTPUT gets one
"word: count" line per word.

windowed: INPUT's "key<TAB>int" lines (gencorpus -mode kv) as events whose
event time is int+500 seconds, counted per key in fixed (tumbling)
event-time windows of 60 s; OUTPUT gets "start key count" lines, start in
seconds.

Both run in batch mode on Flink's local (mini) cluster inside this
process's JVM, with parallelism 2 (the machine's cores); the Python
functions run in PyFlink's Python worker, as a PyFlink user's would.
"""

import re
import sys

from pyflink.common import Duration, Types, WatermarkStrategy
from pyflink.common.watermark_strategy import TimestampAssigner
from pyflink.datastream import RuntimeExecutionMode, StreamExecutionEnvironment
from pyflink.datastream.connectors.file_system import FileSource, StreamFormat
from pyflink.datastream.window import TumblingEventTimeWindows
from pyflink.common.time import Time

WORD = re.compile(r"[a-zA-Z]+(?:'[a-z])?")
WINDOW_S = 60


def environment():
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_runtime_mode(RuntimeExecutionMode.BATCH)
    env.set_parallelism(2)
    # The Python workers run this interpreter (its virtual environment),
    # not whatever "python" is first on PATH.
    env.set_python_executable(sys.executable)
    return env


def lines(env, path):
    source = FileSource.for_record_stream_format(StreamFormat.text_line_format(), path).build()
    return env.from_source(source, WatermarkStrategy.no_watermarks(), "lines")


def wordcount(env, path):
    words = lines(env, path).flat_map(lambda line: ((w, 1) for w in WORD.findall(line)),
                                      output_type=Types.TUPLE([Types.STRING(), Types.LONG()]))
    counts = words.key_by(lambda kv: kv[0]).reduce(lambda a, b: (a[0], a[1] + b[1]))
    return (f"{w}: {n}" for w, n in counts.execute_and_collect())


class EventTime(TimestampAssigner):
    """The event's time, in milliseconds: its int plus 500 seconds."""

    def extract_timestamp(self, value, record_timestamp):
        return value[1] * 1000


def windowed(env, path):
    def parse(line):
        key, v = line.split("\t")
        return key, int(v) + 500

    events = lines(env, path).map(parse, output_type=Types.TUPLE([Types.STRING(), Types.LONG()]))
    stamped = events.assign_timestamps_and_watermarks(
        WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_seconds(0)).with_timestamp_assigner(EventTime()))
    ones = stamped.map(lambda e: (e[0], e[1] // WINDOW_S * WINDOW_S, 1),
                       output_type=Types.TUPLE([Types.STRING(), Types.LONG(), Types.LONG()]))
    counts = (ones.key_by(lambda e: e[0], key_type=Types.STRING())
              .window(TumblingEventTimeWindows.of(Time.seconds(WINDOW_S)))
              .reduce(lambda a, b: (a[0], a[1], a[2] + b[2])))
    return (f"{start} {key} {n}" for key, start, n in counts.execute_and_collect())


def main():
    job, path, out = sys.argv[1:4]
    rows = {"wordcount": wordcount, "windowed": windowed}[job](environment(), path)
    with open(out, "w") as f:
        for row in rows:
            f.write(row + "\n")


if __name__ == "__main__":
    main()
