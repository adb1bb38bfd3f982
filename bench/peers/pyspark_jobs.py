"""The peers benchmark's jobs written directly in PySpark's DataFrame API.

    python pyspark_jobs.py wordcount INPUT OUTPUT
    python pyspark_jobs.py windowed INPUT OUTPUT

The same jobs and output as pyflink_jobs.py: wordcount counts the words
([a-zA-Z]+('[a-z])?) of INPUT into "word: count" lines; windowed counts
the "key<TAB>int" events (event time int+500 s) per key in 60 s tumbling
windows into "start key count" lines.

Both run on Spark's local mode with 2 threads (local[2], the machine's
cores) in the JVM that pyspark starts; the work stays in Spark's JVM
(built-in functions, no Python UDF), as a PySpark user would write it.
"""

import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

WORD = r"[a-zA-Z]+('[a-z])?"
WINDOW = "60 seconds"


def session():
    return (SparkSession.builder.master("local[2]").appName("peers")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate())


def wordcount(spark, path):
    words = spark.read.text(path).select(
        F.explode(F.expr(f"regexp_extract_all(value, \"{WORD}\", 0)")).alias("word"))
    counts = words.groupBy("word").count()
    return (f"{r['word']}: {r['count']}" for r in counts.collect())


def windowed(spark, path):
    events = spark.read.csv(path, sep="\t", schema="key STRING, v LONG")
    stamped = events.select("key", F.timestamp_seconds(F.col("v") + 500).alias("t"))
    counts = stamped.groupBy(F.window("t", WINDOW), "key").count()
    rows = counts.select(F.unix_timestamp(F.col("window.start")).alias("start"), "key", "count").collect()
    return (f"{r['start']} {r['key']} {r['count']}" for r in rows)


def main():
    job, path, out = sys.argv[1:4]
    spark = session()
    try:
        rows = {"wordcount": wordcount, "windowed": windowed}[job](spark, path)
        with open(out, "w") as f:
            for row in rows:
                f.write(row + "\n")
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
