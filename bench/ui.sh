#!/usr/bin/env bash
# Measures the web UI's overhead on the 200 MB word count: RUNS pairs of
# bench/wordcount without and with -ui (a web UI and a client following the
# job's event stream, as an open page does), interleaved, the order
# alternating from pair to pair; prints each run's wall and CPU (user+sys)
# seconds and the medians. Usage: bench/ui.sh CORPUS [RUNS]
# (CORPUS from /tmp/anchors/gencorpus -mode text -size 200MB -o FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:?usage: bench/ui.sh CORPUS [RUNS]}
runs=${2:-5}
bin=$(mktemp -d)/wordcount
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./bench/wordcount
measure() { # mode: prints "mode wall cpu"
  local flags=()
  [ "$1" = on ] && flags=(-ui)
  /usr/bin/time -f '%e %U %S' -o "$bin.time" "$bin" -input "$corpus" "${flags[@]}" >/dev/null 2>&1
  read -r wall user sys <"$bin.time"
  echo "$1 $wall $(echo "$user + $sys" | bc)"
}
results=$(mktemp)
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$runs"); do
  if [ $((i % 2)) = 1 ]; then order="off on"; else order="on off"; fi
  for m in $order; do measure "$m" | tee -a "$results"; done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
for m in off on; do
  echo "median $m: wall $(awk -v m=$m '$1==m {print $2}' "$results" | median) s, cpu $(awk -v m=$m '$1==m {print $3}' "$results" | median) s"
done
rm -f "$results"
