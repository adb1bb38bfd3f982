"""The peers benchmark's jobs written directly in PyFlink's Table API.

    python pyflink_jobs.py wordcount INPUT OUTPUT
    python pyflink_jobs.py windowed INPUT OUTPUT

wordcount: the words of INPUT's lines (the regular expression
[a-zA-Z]+('[a-z])?, as examples/wordcount), counted; OUTPUT gets one
"word: count" line per word.

windowed: INPUT's "key<TAB>int" lines (gencorpus -mode kv) as events whose
event time is int+500 seconds, counted per key in fixed (tumbling)
event-time windows of 60 s; OUTPUT gets "start key count" lines, start in
seconds.

Both run in batch mode on Flink's local (mini) cluster inside the JVM that
PyFlink starts, with parallelism 2 (the machine's cores).

Why the Table API and not the DataStream API: the DataStream version of
the word count (flat_map, key_by and reduce, each a Python function) sent
every word through PyFlink's Python worker three times and kept the
running counts in keyed state that the worker reads and writes over gRPC,
one round trip a word: it took 6 minutes for a 1 MB text. Written as a
PyFlink user writes for speed, and as Flink's own PyFlink word count
example does, only the tokenizer is Python (a table function, since
Flink 1.19's SQL has no built-in that splits a string into rows), and the
grouping and counting are Flink's built-in batch hash aggregation in the
JVM. The windowed count needs no Python at all: SQL's TUMBLE window over
a watermarked event-time column. A vectorized (pandas) tokenizer with
UNNEST, and PyFlink's thread execution mode, took the same CPU time as
the table function on a 5 MB text, so the plainer one is kept.
"""

import re
import sys

from pyflink.table import DataTypes, EnvironmentSettings, TableEnvironment
from pyflink.table.udf import udtf

WORD = re.compile(r"[a-zA-Z]+(?:'[a-z])?")
WINDOW_S = 60


def environment():
    env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    config = env.get_config()
    config.set("parallelism.default", "2")
    # The Python workers run this interpreter (its virtual environment),
    # not whatever "python" is first on PATH.
    config.set("python.executable", sys.executable)
    config.set("table.local-time-zone", "UTC")
    return env


@udtf(result_types=[DataTypes.STRING()])
def words(line):
    """The words of one line, each a row."""
    return WORD.findall(line)


def quoted(path):
    """path as a SQL string literal."""
    return "'" + path.replace("'", "''") + "'"


def wordcount(env, path):
    # The raw format makes each line of the file one STRING row.
    env.execute_sql(f"CREATE TEMPORARY TABLE lines (line STRING) WITH "
                    f"('connector' = 'filesystem', 'path' = {quoted(path)}, 'format' = 'raw')")
    env.create_temporary_function("words", words)
    result = env.execute_sql("SELECT word, COUNT(*) FROM lines, LATERAL TABLE(words(line)) AS T(word) GROUP BY word")
    with result.collect() as rows:
        for word, n in rows:
            yield f"{word}: {n}"


def windowed(env, path):
    # Event time is the int plus 500 s; the watermark follows it exactly
    # (batch mode ends every window once the input is read).
    env.execute_sql(f"""CREATE TEMPORARY TABLE events (
            k STRING, v BIGINT,
            t AS TO_TIMESTAMP_LTZ((v + 500) * 1000, 3),
            WATERMARK FOR t AS t
        ) WITH ('connector' = 'filesystem', 'path' = {quoted(path)}, 'format' = 'csv',
                'csv.field-delimiter' = U&'\\0009', 'csv.disable-quote-character' = 'true')""")
    result = env.execute_sql(f"""SELECT UNIX_TIMESTAMP(CAST(window_start AS STRING)), k, COUNT(*)
        FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(t), INTERVAL '{WINDOW_S}' SECOND))
        GROUP BY window_start, window_end, k""")
    with result.collect() as rows:
        for start, key, n in rows:
            yield f"{start} {key} {n}"


def main():
    job, path, out = sys.argv[1:4]
    rows = {"wordcount": wordcount, "windowed": windowed}[job](environment(), path)
    with open(out, "w") as f:
        for row in rows:
            f.write(row + "\n")


if __name__ == "__main__":
    main()
