#!/usr/bin/env bash
# Fleet benchmark: reading 50 registries of 2,000 records each (a fleet file)
# against one registry of 100,000 records, in the same run, so the machine's
# noise hits both alike. Not part of CI.
#
#   bench/fleet.sh
#   REGISTRIES=20 PER=1000 RUNS=5 bench/fleet.sh
#
# The registries come from examples/synth.rs (seed 1..REGISTRIES for the
# fleet, seed 42 for the big one); every history batches about 100 changes
# per commit (PER/100 commits each, REGISTRIES*PER/100 for the big one), so
# both sides have as many commits in all. For each command it prints the
# median wall time and peak memory of RUNS runs (/usr/bin/time), and the
# ratio fleet ÷ single, and writes bench/FLEET.md.
#   exc report --format json           vs  exc report --fleet fleet.yaml --format json
#   exc list --format json             vs  exc list --fleet fleet.yaml --format json
#   exc remind --format json           vs  exc remind --fleet fleet.yaml --format json
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
REGISTRIES=${REGISTRIES:-50}
PER=${PER:-2000}
RUNS=${RUNS:-3}
WORK=${WORK:-/tmp/exc-bench-fleet}
AS_OF=2026-11-27
TOTAL=$((REGISTRIES * PER))

if [ ! -x /usr/bin/time ]; then
  echo "installing GNU time"; apt-get update -qq && apt-get install -y -qq time >/dev/null
fi
cargo build --release --quiet --bin exc --example synth
EXC=$ROOT/target/release/exc
SYNTH=$ROOT/target/release/examples/synth
mkdir -p "$WORK"
RAW=$WORK/raw.tsv
: > "$RAW"

# The fleet: REGISTRIES registries of PER records, and the fleet file listing them.
fleet=$WORK/fleet-$REGISTRIES-$PER
mkdir -p "$fleet"
echo "registries:" > "$fleet/fleet.yaml"
for i in $(seq "$REGISTRIES"); do
  dir=$fleet/reg-$i
  if [ ! -d "$dir/.git" ]; then
    echo "generating registry $i of $REGISTRIES ($PER records)"
    rm -rf "$dir"
    "$SYNTH" --records "$PER" --commits $((PER / 100 > 0 ? PER / 100 : 1)) --seed "$i" "$dir" 2>/dev/null
  fi
  echo "  - { name: reg-$i, path: reg-$i }" >> "$fleet/fleet.yaml"
done
# The single registry with as many records.
big=$WORK/single-$TOTAL
if [ ! -d "$big/.git" ]; then
  echo "generating one registry of $TOTAL records"
  rm -rf "$big"
  "$SYNTH" --records "$TOTAL" --commits $((TOTAL / 100)) "$big"
fi

# measure NAME RUNS CMD... : appends "name wall_s rss_kb" per run to $RAW.
measure() {
  local name=$1 runs=$2; shift 2
  for _ in $(seq "$runs"); do
    /usr/bin/time -v -o "$WORK/time.txt" "$@" >/dev/null 2>"$WORK/err.txt" || true
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/time.txt" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
    printf '%s\t%s\t%s\n' "$name" "$wall" "$rss" >> "$RAW"
  done
}

# Warm the page cache for both, then alternate them run by run.
"$EXC" --dir "$big" list --format json --as-of $AS_OF >/dev/null
"$EXC" list --fleet "$fleet/fleet.yaml" --format json --as-of $AS_OF >/dev/null 2>&1 || true
for _ in $(seq "$RUNS"); do
  for cmd in report list remind; do
    measure "single $cmd" 1 "$EXC" --dir "$big" "$cmd" --format json --as-of $AS_OF
    measure "fleet $cmd" 1 "$EXC" "$cmd" --fleet "$fleet/fleet.yaml" --format json --as-of $AS_OF
  done
done

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$RAW" "$ROOT/bench/FLEET.md" "$RUNS" "$REGISTRIES" "$PER" "$TOTAL" "$LOAD" <<'PY'
import sys, statistics, subprocess, datetime, collections
raw, out, runs, regs, per, total = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
load = sys.argv[7]
data = collections.defaultdict(list)
for line in open(raw):
    name, wall, rss = line.rstrip("\n").split("\t")
    data[name].append((float(wall or 0), int(rss or 0)))
med = {k: (statistics.median(w for w, _ in v), max(r for _, r in v)) for k, v in data.items()}
nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
lines = ["# exc fleet benchmark", "",
         f"Run on {datetime.date.today()} with `bench/fleet.sh`: {nproc} cores, median of {runs} runs, "
         f"the two sides alternating run by run. {regs} registries of {per:,} records (a fleet file) against "
         f"one registry of {total:,}. Wall time in seconds, peak RSS in MB. Load average at the end: {load} "
         "(a busy machine inflates every time alike; read the ratios).", "",
         "| command | one registry, s | fleet, s | fleet ÷ one | one registry, MB | fleet, MB |", "|---|---|---|---|---|---|"]
for cmd in ["report", "list", "remind"]:
    s, f = med[f"single {cmd}"], med[f"fleet {cmd}"]
    lines.append(f"| exc {cmd} --format json | {s[0]:.2f} | {f[0]:.2f} | {f[0] / s[0]:.2f}× | {s[1] / 1024:.0f} | {f[1] / 1024:.0f} |")
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
