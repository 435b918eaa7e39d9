#!/usr/bin/env bash
# Scale benchmark: exc against the tools a team would otherwise script together.
#
#   bench/run.sh                  # 1,000 / 10,000 / 100,000 records
#   SIZES="1000 10000" RUNS=5 bench/run.sh
#
# Histories have 3 commits per record (request, approval, a later step), except
# at 100,000 records and up: every commit rewrites the flat 100,000-entry
# exceptions/ tree, so generating 300,000 of them would take hours; those
# registries get BIG_COMMITS (default 2,000) commits, each batching many changes.
# CJS_MAX_RECORDS (default 100000) skips check-jsonschema above that size.
#
# For each size it generates a synthetic registry (examples/synth.rs, fixed seed),
# then times, as the median of RUNS runs, wall time and peak memory (/usr/bin/time -v):
#   exc validate | check --fail-on-expired | list --format json | report --format json
#   exc export --format trivyignore (a suppression file)
#   exc audit | report --trend quarterly | evidence (the whole pack)
#   exc audit --checkpoint after one new commit (going on from HEAD~1's checkpoint)
#   exc check on the same records rewritten as people write them (bench/handwrite.py)
# and on the same files and history:
#   check-jsonschema --schemafile schema/exception.schema.json (from PyPI, in a venv)
#   git log --name-status
#   cat of every record file (the floor for reading the bytes)
# It prints a table with the ratios, writes bench/RESULTS.md and copies its
# tables into docs/performance.md (bench/publish.py). Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SIZES=${SIZES:-"1000 10000 100000"}
RUNS=${RUNS:-3}
WORK=${WORK:-/tmp/exc-bench}
AS_OF=2026-11-27

need() { command -v "$1" >/dev/null 2>&1; }
if [ ! -x /usr/bin/time ]; then
  echo "installing GNU time"; apt-get update -qq && apt-get install -y -qq time >/dev/null
fi
if [ ! -x "$WORK/venv/bin/check-jsonschema" ]; then
  echo "installing check-jsonschema into $WORK/venv"
  mkdir -p "$WORK" && python3 -m venv "$WORK/venv" && "$WORK/venv/bin/pip" install -q check-jsonschema
fi
cargo build --release --quiet --bin exc --example synth
EXC=$ROOT/target/release/exc
SYNTH=$ROOT/target/release/examples/synth
CJS=$WORK/venv/bin/check-jsonschema
RAW=$WORK/raw.tsv
: > "$RAW"

# measure NAME SIZE RUNS CMD... : appends "size name wall_s rss_kb" per run to $RAW.
measure() {
  local name=$1 size=$2 runs=$3; shift 3
  for _ in $(seq "$runs"); do
    /usr/bin/time -v -o "$WORK/time.txt" "$@" >/dev/null 2>"$WORK/err.txt" || true
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/time.txt" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
    printf '%s\t%s\t%s\t%s\n' "$size" "$name" "$wall" "$rss" >> "$RAW"
  done
}

for n in $SIZES; do
  dir=$WORK/reg-$n
  if [ ! -d "$dir/.git" ]; then
    echo "generating $n records"
    rm -rf "$dir"
    commits=$((n * 3)); [ "$n" -ge 100000 ] && commits=${BIG_COMMITS:-2000}
    "$SYNTH" --records "$n" --commits "$commits" "$dir"
  fi
  cd "$dir"
  ncommits=$(git rev-list --count HEAD)
  echo "timing $n records ($ncommits commits)"
  printf '%s\tcommits\t%s\t0\n' "$n" "$ncommits" >> "$RAW"
  runs=$RUNS; [ "$n" -ge 100000 ] && runs=1
  measure "exc validate" "$n" "$runs" "$EXC" validate
  measure "exc check --fail-on-expired" "$n" "$runs" "$EXC" check --fail-on-expired --as-of $AS_OF
  measure "exc list --format json" "$n" "$runs" "$EXC" list --format json --as-of $AS_OF
  measure "exc report --format json" "$n" "$runs" "$EXC" report --format json --as-of $AS_OF
  measure "exc export --format trivyignore" "$n" "$runs" "$EXC" export --format trivyignore --as-of $AS_OF
  measure "exc audit" "$n" "$runs" "$EXC" audit
  # The audit CI runs on a push: one new commit on top of an audited history,
  # going on from the checkpoint of the commit before it.
  export EXC_CHECKPOINT_KEY=bench-checkpoint-key-0123456789
  git checkout -q --detach HEAD~1
  "$EXC" audit --checkpoint "$WORK/ck-base-$n" >/dev/null 2>&1 || true
  git checkout -q -
  # Cheap at every size, so the median of $RUNS runs even at 100,000 records.
  measure "exc audit, resumed after 1 commit" "$n" "$RUNS" sh -c "cp '$WORK/ck-base-$n' '$WORK/ck-$n' && '$EXC' audit --checkpoint '$WORK/ck-$n'"
  unset EXC_CHECKPOINT_KEY
  measure "exc report --trend quarterly" "$n" "$runs" "$EXC" report --trend quarterly --as-of $AS_OF
  measure "exc evidence" "$n" "$runs" "$EXC" evidence --out "$WORK/pack-$n" --as-of $AS_OF
  # The same records as people write them by hand (unquoted dates, flow lists,
  # comments, blank lines): the same values, so the same work.
  hand=$WORK/hand-$n
  rm -rf "$hand" && mkdir -p "$hand" && cp -r exc.yaml exceptions "$hand/" && { [ ! -d keys ] || cp -r keys "$hand/"; }
  python3 "$ROOT/bench/handwrite.py" "$hand/exceptions"
  measure "exc check (hand-written style)" "$n" "$runs" "$EXC" --dir "$hand" check --fail-on-expired --as-of $AS_OF
  measure "git log --name-status" "$n" "$runs" git log --name-status
  measure "cat records" "$n" "$runs" sh -c 'find exceptions -name "*.yaml" -print0 | xargs -0 cat'
  cjs_runs=$runs; [ "$n" -ge 100000 ] && cjs_runs=1
  [ "$n" -le "${CJS_MAX_RECORDS:-100000}" ] && measure "check-jsonschema" "$n" "$cjs_runs" sh -c "find exceptions -name '*.yaml' -print0 | xargs -0 '$CJS' --schemafile '$ROOT/schema/exception.schema.json'"
  cd "$ROOT"
done

python3 - "$RAW" "$ROOT/bench/RESULTS.md" "$RUNS" <<'PY'
import sys, statistics, subprocess, datetime, collections
raw, out, runs = sys.argv[1], sys.argv[2], sys.argv[3]
data = collections.defaultdict(list)
for line in open(raw):
    size, name, wall, rss = line.rstrip("\n").split("\t")
    data[(int(size), name)].append((float(wall or 0), int(rss or 0)))
commits = {s: int(v[0][0]) for (s, n), v in data.items() if n == "commits"}
med = {k: (statistics.median(w for w, _ in v), max(r for _, r in v)) for k, v in data.items() if k[1] != "commits"}
sizes = sorted({s for s, _ in med})
names = ["exc validate", "exc check --fail-on-expired", "exc check (hand-written style)", "exc list --format json",
         "exc report --format json", "exc export --format trivyignore", "exc audit", "exc audit, resumed after 1 commit", "exc report --trend quarterly",
         "exc evidence", "check-jsonschema",
         "git log --name-status", "cat records"]
mem_kb = int(open("/proc/meminfo").read().split()[1])
nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
lines = [f"# exc benchmark", "",
         f"Run on {datetime.date.today()} with `bench/run.sh`: {nproc} cores, {mem_kb // 1024} MiB memory, "
         f"median of {runs} runs (1 run at 100,000 records). Wall time in seconds, peak RSS in MB.", "",
         "Histories: " + ", ".join(f"{s:,} records with {c:,} commits" for s, c in sorted(commits.items())) + ".", "",
         "| records | command | wall s | peak MB | per 1,000 records (s) |", "|---|---|---|---|---|"]
for s in sizes:
    for n in names:
        if (s, n) in med:
            w, r = med[(s, n)]
            lines.append(f"| {s:,} | {n} | {w:.3f} | {r / 1024:.1f} | {w / s * 1000:.4f} |")
lines += ["", "## Ratios", "", "| records | check-jsonschema ÷ exc check | exc audit ÷ git log --name-status | exc check ÷ cat | hand-written ÷ exc-written (check) |", "|---|---|---|---|---|"]
for s in sizes:
    g = lambda n: med.get((s, n), (float("nan"), 0))[0]
    ratio = lambda a, b: f"{a / b:.1f}×" if b > 0 and a == a else "n/a"
    lines.append(f"| {s:,} | {ratio(g('check-jsonschema'), g('exc check --fail-on-expired'))} | "
                 f"{ratio(g('exc audit'), g('git log --name-status'))} | {ratio(g('exc check --fail-on-expired'), g('cat records'))} | "
                 f"{ratio(g('exc check (hand-written style)'), g('exc check --fail-on-expired'))} |")
lines += ["", "## Scaling", "",
          "Wall time per 1,000 records at each size: flat means the cost grows linearly. "
          "(audit and trend follow the number of commits, not records.)", "",
          "| command | " + " | ".join(f"{s:,}" for s in sizes) + " |", "|---|" + "---|" * len(sizes)]
for n in names[:5]:
    cells = [f"{med[(s, n)][0] / s * 1000:.4f}" if (s, n) in med else "" for s in sizes]
    lines.append(f"| {n} | " + " | ".join(cells) + " |")
lines += ["", "## Targets (10,000 records, 30,000 commits)", ""]
s = 10000
if (s, "exc check --fail-on-expired") in med:
    c = med[(s, "exc check --fail-on-expired")]; r = med.get((s, "exc report --format json"), (0, 0))
    a = med.get((s, "exc audit"), (0, 0)); gl = med.get((s, "git log --name-status"), (1, 0))
    cj = med.get((s, "check-jsonschema"), (0, 0))
    peak = max(med[(s, n)][1] for n in names[:5] if (s, n) in med)
    def row(name, ok, got): lines.append(f"| {name} | {'met' if ok else 'MISSED'} | {got} |")
    lines += ["| target | result | measured |", "|---|---|---|"]
    row("exc check ≥ 50× faster than check-jsonschema", cj[0] >= 50 * c[0], f"{cj[0] / c[0]:.0f}×" if c[0] else "n/a")
    row("exc check < 0.5 s", c[0] < 0.5, f"{c[0]:.3f} s")
    row("exc report < 0.5 s", r[0] < 0.5, f"{r[0]:.3f} s")
    row("exc audit within 3× of git log --name-status", a[0] <= 3 * gl[0], f"{a[0] / gl[0]:.1f}×" if gl[0] else "n/a")
    h = med.get((s, "exc check (hand-written style)"), (0, 0))
    row("hand-written records check within 1.5× of exc-written", h[0] <= 1.5 * c[0], f"{h[0] / c[0]:.2f}×" if c[0] else "n/a")
    row("validate, check, list, report peak < 150 MB", peak < 150 * 1024, f"{peak / 1024:.0f} MB")
    ra = med.get((s, "exc audit, resumed after 1 commit"), (0, 0))
    if ra[0]:
        row("exc audit after one new commit (checkpoint) < 1 s", ra[0] < 1, f"{ra[0]:.3f} s")
    ev = med.get((s, "exc evidence"), (0, 0))
    if ev[0] and a[0]:
        row("exc evidence ≤ 1.5× exc audit", ev[0] <= 1.5 * a[0], f"{ev[0] / a[0]:.2f}×")
        row("exc evidence peak < 150 MB", ev[1] < 150 * 1024, f"{ev[1] / 1024:.0f} MB")
big = 100000
if (big, "exc check --fail-on-expired") in med:
    lines += ["", "## Targets (100,000 records)", "", "| target | result | measured |", "|---|---|---|"]
    c = med[(big, "exc check --fail-on-expired")]; cat = med.get((big, "cat records"), (0, 0))
    small = med.get((10000, "exc check --fail-on-expired"))
    def row(name, ok, got): lines.append(f"| {name} | {'met' if ok else 'MISSED'} | {got} |")
    row("exc check ≤ 2.5 s", c[0] <= 2.5, f"{c[0]:.2f} s")
    row("exc check peak < 250 MB", c[1] < 250 * 1024, f"{c[1] / 1024:.0f} MB")
    if small:
        per = (c[0] / big) / (small[0] / 10000)
        row("check's cost per record within 1.1× of 10,000's", per <= 1.1, f"{per:.2f}×")
    for n in ["exc validate", "exc list --format json", "exc report --format json", "exc export --format trivyignore"]:
        if (big, n) in med:
            row(f"{n} peak < 250 MB", med[(big, n)][1] < 250 * 1024, f"{med[(big, n)][1] / 1024:.0f} MB")
    a = med.get((big, "exc audit"), (0, 0)); gl = med.get((big, "git log --name-status"), (0, 0))
    if a[0] and gl[0]:
        row("exc audit ≤ 2× git log --name-status", a[0] <= 2 * gl[0], f"{a[0] / gl[0]:.1f}×")
    ra = med.get((big, "exc audit, resumed after 1 commit"), (0, 0))
    if ra[0]:
        row("exc audit after one new commit (checkpoint) < 1 s", ra[0] < 1, f"{ra[0]:.3f} s")
    t = med.get((big, "exc report --trend quarterly"), (0, 0))
    if t[0] and a[0]:
        row("report --trend no slower than audit", t[0] <= a[0], f"{t[0] / a[0]:.2f}×")
text = "\n".join(lines) + "\n"
# Hand-written notes (profiles, what changed) below the marker survive a re-run.
marker = "<!-- notes: kept by bench/run.sh -->"
try:
    old = open(out).read()
    if marker in old:
        text += "\n" + old[old.index(marker):]
except FileNotFoundError:
    pass
open(out, "w").write(text)
print(text)
PY
# The figures docs/performance.md shows, copied from the results.
python3 "$ROOT/bench/publish.py"
