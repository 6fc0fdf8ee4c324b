#!/bin/sh
# A small bundled pipeline for the demo: five steps, coreutils and python3 only, ~2 s.
# simulate → sort → count → summarise (python, ~100 MB) → compress. Runs in a private temp dir.
set -eu
case $0 in */*) here=${0%/*} ;; *) here=. ;; esac   # no subshell: it would show up as a step
case $here in /*) ;; *) here=$PWD/$here ;; esac
PY=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

echo "[1/5] simulate 300k reads" >&2
"$PY" "$here/simulate.py" 300000

echo "[2/5] sort by gene" >&2
sort -k2,2 -S 64M reads.tsv > sorted.tsv

echo "[3/5] count reads per gene" >&2
cut -f2 sorted.tsv | uniq -c | sort -rn > counts.txt

echo "[4/5] summarise quality (in memory)" >&2
"$PY" "$here/summarise.py"

echo "[5/5] compress" >&2
gzip -6 -c sorted.tsv > sorted.tsv.gz
ls -l sorted.tsv.gz | awk '{print "compressed bytes=" $5}'
