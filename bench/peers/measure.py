"""measure: run one command and report its wall time and peak memory.

The peak is of every process involved, added up: the command and all its
descendants (PyFlink and PySpark start JVMs and Python workers; our
PROCESS workers are children too), plus the processes named with --also
(a job server that runs before and after the command, whose memory the
job uses). Memory is the resident set (VmRSS) read from /proc every
--every seconds, so a peak shorter than that can be missed.

CPU time is the user and system time the same processes spent during the
run, read from /proc at the same samples: for each process its last
sample, less what an --also process had spent before the command started.
A process that lives less than one interval is missed, and the last
interval of each process too; on a shared machine CPU seconds compare
programs more fairly than wall time, which mostly measures the load.

    python3 measure.py --label ours --also 1234 -- ./wordcount --input=x

prints one JSON object on stdout: label, wall seconds, CPU seconds, peak
MiB, exit code.
"""

import argparse
import json
import os
import subprocess
import sys
import time


def children_of():
    """Maps each running process id to the ids of its children."""
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # ended while we looked
        # The parent id follows the command name, which may hold spaces.
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        kids.setdefault(ppid, []).append(int(name))
    return kids


def tree(roots):
    """The ids of roots and all their descendants."""
    kids = children_of()
    seen, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        todo.extend(kids.get(pid, ()))
    return seen


def rss_kib(pid):
    """The resident set of pid in KiB, 0 if it has ended."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    """The user plus system CPU seconds pid has spent, 0 if it has ended."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    # utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    return (int(fields[11]) + int(fields[12])) / TICKS


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", required=True)
    ap.add_argument("--also", type=int, action="append", default=[], help="a process id to count too (with its descendants)")
    ap.add_argument("--every", type=float, default=0.1)
    ap.add_argument("--log", help="file for the command's output (default: discarded)")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        ap.error("no command")
    out = open(args.log, "w") if args.log else subprocess.DEVNULL
    # cpu maps every process seen to its CPU seconds at its last sample;
    # the --also processes start at minus what they had spent before.
    also = tree(args.also)
    cpu = {pid: -cpu_s(pid) for pid in also}
    before = dict(cpu)
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    peak = 0
    while proc.poll() is None:
        pids = tree([proc.pid] + args.also)
        peak = max(peak, sum(rss_kib(p) for p in pids))
        for p in pids:
            now = cpu_s(p)
            if now:
                cpu[p] = now + before.get(p, 0.0)
        time.sleep(args.every)
    wall = time.monotonic() - start
    used = sum(max(v, 0.0) for v in cpu.values())
    json.dump({"label": args.label, "wall_s": round(wall, 2), "cpu_s": round(used, 1), "peak_mib": round(peak / 1024),
               "exit": proc.returncode}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
