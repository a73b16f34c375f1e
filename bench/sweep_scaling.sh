#!/usr/bin/env bash
# bench/sweep_scaling.sh: rows per second of one sweep on this machine,
# 1 process x 2 threads against 2 MPI ranks x 1 thread (and 1 process x 1
# thread, the per-rank baseline), for docs/scaling.md.
#
# The sweep: the bundled model, --plan heads --layers 0-1 (24 heads), 2
# seeds: 49 rows, each a forward over 1024 held-out tokens (4 windows of
# 256) from the first lesioned block plus 4 generations of 16 tokens. The
# settings alternate (A B C A B C ...) for ROUNDS rounds so that the
# machine's drifts hit all alike. Prints one line per run, then the
# medians, and measures the cost of one append + fdatasync of a row-sized
# line in the output's file system.
#
# Usage: bash bench/sweep_scaling.sh   (BUILD, ROUNDS=3)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-3}
[ -x "$BUILD/lesion" ] && [ -x "$BUILD/lesion-mpi" ] || { echo "needs $BUILD/lesion and $BUILD/lesion-mpi (make MPI=1)"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
T=$(mktemp -d "${TMPDIR:-/tmp}/sweep_scaling.XXXXXX")
trap 'rm -rf "$T"' EXIT
SWEEP=(sweep --plan heads --layers 0-1 --seeds 2 --eval-tokens 1024 --ctx 256 --gen-tokens 16 --quiet)
echo "cpu: $(lscpu | grep 'Model name' | sed 's/Model name: *//'), $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
run() { # name, command...
  local name=$1; shift
  rm -rf "$T/out"
  local t0 t1
  t0=$(date +%s.%N)
  "$@" --out "$T/out" >"$T/log" 2>&1 || { echo "$name failed: $(tail -n 3 "$T/log")"; exit 1; }
  t1=$(date +%s.%N)
  /usr/bin/python3 - "$name" "$t0" "$t1" "$T/out/results.jsonl" <<'PYEOF'
import json, sys
name, t0, t1, path = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
rows = [json.loads(l) for l in open(path)]
wall = t1 - t0
secs = [r["secs"] for r in rows]
lesioned = sorted(secs[1:])
print("%-22s %3d rows  %6.2f s wall  %5.2f rows/s  row secs: median %.3f  sum %.2f  clean row %.3f  wall - sum %.2f"
      % (name, len(rows), wall, len(rows) / wall, lesioned[len(lesioned) // 2], sum(secs), secs[0], wall - sum(secs)))
PYEOF
}
for r in $(seq 1 "$ROUNDS"); do
  run "1 process x 2 threads" "$BUILD/lesion" "${SWEEP[@]}" --threads 2
  run "2 ranks x 1 thread" mpirun -q --allow-run-as-root --oversubscribe -n 2 "$BUILD/lesion-mpi" "${SWEEP[@]}" --threads 1
  run "1 process x 1 thread" "$BUILD/lesion" "${SWEEP[@]}" --threads 1
done
/usr/bin/python3 - "$T" <<'PYEOF'
import os, sys, time
path = os.path.join(sys.argv[1], "fsync-probe.jsonl")
line = ("x" * 1500 + "\n").encode()
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
n = 200
t0 = time.perf_counter()
for _ in range(n):
    os.write(fd, line)
    os.fdatasync(fd)
dt = (time.perf_counter() - t0) / n
os.close(fd)
print("append + fdatasync of a 1.5 KB line in %s: %.3f ms" % (sys.argv[1], dt * 1e3))
PYEOF
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
