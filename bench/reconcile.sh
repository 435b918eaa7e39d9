#!/usr/bin/env bash
# exc reconcile at monorepo scale, against ripgrep with the same patterns in the same run.
#
#   bench/reconcile.sh                 100,000 files, about 1 GB of source
#   FILES=20000 bench/reconcile.sh
#
# Generates (once) a tree of source files in several languages, about 10 KB each,
# a few with suppressions, plus a .gitignore'd build directory; then times, as the
# median of RUNS runs (wall time, peak memory):
#   exc reconcile               (walks in parallel, honours .gitignore, reads each file once)
#   rg with the same markers    (ripgrep 13+, also parallel and .gitignore-aware)
# Prints a small table; not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FILES=${FILES:-100000}
RUNS=${RUNS:-3}
WORK=${WORK:-/tmp/exc-bench}
TREE=$WORK/monorepo-$FILES
command -v rg >/dev/null || { echo "installing ripgrep"; apt-get update -qq && apt-get install -y -qq ripgrep >/dev/null; }
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
cargo build --release --quiet --bin exc
EXC=$ROOT/target/release/exc

if [ ! -f "$TREE/.done" ]; then
  echo "generating $FILES files in $TREE"
  rm -rf "$TREE" && mkdir -p "$TREE"
  python3 - "$TREE" "$FILES" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
random.seed(7)
langs = [("py", "# "), ("go", "// "), ("js", "// "), ("tf", "# "), ("java", "// ")]
marks = {"py": "x = eval(y)  # nosec B307", "go": "var pw = \"x\" // #nosec G101",
         "js": "eval(x); // nosemgrep: no-eval", "tf": "  #checkov:skip=CKV_AWS_18:reason", "java": "// nosemgrep"}
body_line = "value = compute(alpha, beta, gamma) + transform(delta, epsilon)  # ordinary code line\n"
for i in range(n):
    ext, c = langs[i % len(langs)]
    d = os.path.join(root, f"svc{i % 200:03d}", f"pkg{(i // 200) % 50:02d}")
    os.makedirs(d, exist_ok=True)
    lines = [body_line] * 120
    if i % 100 == 0:
        lines[random.randrange(120)] = marks[ext] + "\n"
    with open(os.path.join(d, f"file{i:06d}.{ext}"), "w") as f:
        f.write("".join(lines))
os.makedirs(os.path.join(root, "build"), exist_ok=True)
for i in range(1000):
    with open(os.path.join(root, "build", f"gen{i}.py"), "w") as f:
        f.write("x = eval(y)  # nosec\n" * 100)
with open(os.path.join(root, ".gitignore"), "w") as f:
    f.write("build/\n")
PY
  (cd "$TREE" && git init -q && "$EXC" init >/dev/null && sed -i 's/signatures: required/signatures: off/' exc.yaml)
  touch "$TREE/.done"
fi
bytes=$(du -sb --exclude=build --exclude=.git "$TREE" | cut -f1)
echo "tree: $FILES files, $((bytes / 1000000)) MB (plus 1,000 ignored files)"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_it() {
  local name=$1; shift
  local walls=() rss=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$WORK/t.txt" "$@" >/dev/null 2>&1 || true
    read -r w m < <(tail -n 1 "$WORK/t.txt")
    walls+=("$w"); [ "$m" -gt "$rss" ] && rss=$m
  done
  printf '| %s | %s | %d |\n' "$name" "$(printf '%s\n' "${walls[@]}" | median)" "$((rss / 1024))"
}
echo "| command | wall s (median of $RUNS) | peak MB |"
echo "|---|---|---|"
cd "$TREE"
# Drop the page cache's advantage for neither: both run warm, after one untimed pass each.
"$EXC" reconcile >/dev/null 2>&1 || true
rg -c 'nosec|nolint|nosemgrep|checkov:skip|trivy:ignore|noqa|eslint-disable' >/dev/null || true
time_it "exc reconcile" "$EXC" reconcile --format json
time_it "rg (same markers)" rg -c -i 'nosec|nolint|nosemgrep|checkov:skip|trivy:ignore|noqa|eslint-disable'
"$EXC" reconcile | tail -n 1
