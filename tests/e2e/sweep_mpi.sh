#!/usr/bin/env bash
# sweep_mpi.sh: `mpirun -n 2 lesion-mpi sweep` gives the rows of one
# process, and survives a rank killed anywhere.
# sanitizers: skip (lesion-mpi is not built with sanitizers)
#
# On the bundled model, with --threads 1 per rank:
#   1. cumulative attn.q over all 12 layers, 3 seeds (37 rows): one process
#      (build/lesion) into REF, 2 ranks into M: the same keys, each row equal
#      but for "secs", summary.json equal but for the command;
#   2. kill and resume, the same sweep into K. A 2-rank run is
#      started, and once a few rows are stored the worker rank is SIGKILLed
#      (mpirun then ends the job); results.jsonl holds only whole rows, none
#      twice. The same command again is started and rank 0 (the writer) is
#      SIGKILLed after more rows; same check; then mpirun itself. A fourth run is sent SIGUSR1
#      (mpirun forwards it): rank 0 stops after the rows in flight, writes
#      the partial summary, exit 130. The same command a fifth time
#      completes, and its rows equal a one-process run's but for "secs";
#   3. usage errors are rank 0's alone: one line, exit 2.
# Open MPI refuses to run as root unless told: the flags and variables
# below are the ones a container run needs (README, "Sweeps on a cluster").
# Exit 0 pass, 1 fail, 77 skip (no mpirun or no build/lesion-mpi); last line
# "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
L=${LESION:-$BUILD/lesion}
LM=$BUILD/lesion-mpi
PY=/usr/bin/python3
command -v mpirun >/dev/null || { echo "skip: no mpirun (Debian: openmpi-bin; make MPI=1)"; exit 77; }
[ -x "$LM" ] || { echo "skip: no $LM (build it with make MPI=1; needs libopenmpi-dev)"; exit 77; }
[ -f models/kjv-gpt2/model.safetensors ] || { echo "skip: no bundled model"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN=(mpirun -q --allow-run-as-root --oversubscribe -n 2)
T=$(mktemp -d "${TMPDIR:-/tmp}/sweep_mpi.XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

# same_rows A B: same keys, no key twice, rows equal but for secs; summaries equal but for the command.
same_rows() {
  $PY - "$1" "$2" <<'PYEOF'
import json, sys
def rows(d):
    text = open(d + "/results.jsonl", "rb").read().decode("utf-8")
    assert text.endswith("\n"), "last line has no newline"
    out = {}
    for line in text.splitlines():
        r = json.loads(line); r.pop("secs")
        assert r["key"] not in out, "key %s twice" % r["key"]
        out[r["key"]] = r
    return out
a, b = rows(sys.argv[1]), rows(sys.argv[2])
assert a.keys() == b.keys(), (sorted(set(a) ^ set(b)))
for k in a:
    assert a[k] == b[k], "row %s differs" % k
def summary(d):
    s = json.load(open(d + "/summary.json"))
    s["provenance"].pop("command", None)
    return s
assert summary(sys.argv[1]) == summary(sys.argv[2]), "summary.json differs"
print(len(a), "rows equal")
PYEOF
}

# ---- 1. two ranks = one process ----------------------------------------------------------
BIG=(--seeds 3 --eval-tokens 128 --ctx 64 --gen-tokens 8 --threads 1 --quiet)
"$L" sweep "${BIG[@]}" --out "$T/REF" 2>"$T/err" || { bad "one process: $(cat "$T/err")"; exit 1; }
"${MPIRUN[@]}" "$LM" sweep "${BIG[@]}" --out "$T/M" >"$T/out" 2>&1 && ok "mpirun -n 2: completed" \
  || { bad "mpirun -n 2 failed: $(tail -n 5 "$T/out")"; exit 1; }
same_rows "$T/REF" "$T/M" && ok "mpirun -n 2 rows equal one process's (all but secs), summary too" || bad "mpirun -n 2 rows differ"
"${MPIRUN[@]}" "$LM" sweep "${BIG[@]}" --out "$T/M" >"$T/out" 2>&1 && [ "$(wc -l <"$T/M/results.jsonl")" -eq 37 ] \
  && ok "rerunning the finished MPI sweep adds nothing" || bad "rerun: $(tail -n 3 "$T/out")"

# ---- 2. kill a rank, resume ------------------------------------------------------------------
# whole_rows DIR: every line a whole JSON row ending in a newline, no key twice; prints the count.
whole_rows() {
  $PY - "$1/results.jsonl" <<'PYEOF'
import json, sys
text = open(sys.argv[1], "rb").read().decode("utf-8")
assert text == "" or text.endswith("\n"), "torn last line"
keys = [json.loads(l)["key"] for l in text.splitlines()]
assert len(keys) == len(set(keys)), "duplicate rows"
print(len(keys))
PYEOF
}
# kill_rank RANK AFTER_ROWS: starts the big sweep, SIGKILLs that rank once AFTER_ROWS rows are stored.
kill_rank() {
  "${MPIRUN[@]}" "$LM" sweep "${BIG[@]}" --out "$T/K" >>"$T/kill.log" 2>&1 &
  local mp=$! victim=""
  for _ in $(seq 1 600); do
    [ "$(cat "$T/K/results.jsonl" 2>/dev/null | wc -l)" -ge "$2" ] && break
    kill -0 $mp 2>/dev/null || break
    sleep 0.05
  done
  if [ "$1" = mpirun ]; then
    victim=$mp
  else
    for p in $(pgrep -P $mp); do
      tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1" && victim=$p
    done
  fi
  [ -n "$victim" ] && kill -KILL "$victim"
  wait $mp
  local rc=$?
  # the ranks end with their job (mpirun itself killed: they lose their daemon); wait until none writes
  for _ in $(seq 1 200); do pgrep -f -- "--out $T/K" >/dev/null || break; sleep 0.05; done
  echo "     $1 (pid ${victim:-none}) killed; mpirun exit $rc"
  [ -n "$victim" ] && [ $rc -ne 0 ]
}
kill_rank 1 3 && ok "a worker rank SIGKILLed mid-sweep: the job ends" || bad "killing the worker rank"
n1=$(whole_rows "$T/K") && [ "$n1" -ge 3 ] && [ "$n1" -lt 37 ] && ok "after the worker's kill: $n1 whole rows, none twice" \
  || bad "after the worker's kill: $n1"
kill_rank 0 $((n1 + 3)) && ok "rank 0 (the writer) SIGKILLed mid-sweep: the job ends" || bad "killing rank 0"
n2=$(whole_rows "$T/K") && [ "$n2" -gt "$n1" ] && [ "$n2" -lt 37 ] && ok "after rank 0's kill: $n2 whole rows, none twice" \
  || bad "after rank 0's kill: $n2 (before: $n1)"
kill_rank mpirun $((n2 + 2)) && ok "mpirun itself SIGKILLed mid-sweep: the ranks end too" || bad "killing mpirun"
n2b=$(whole_rows "$T/K") && [ "$n2b" -gt "$n2" ] && [ "$n2b" -lt 37 ] && ok "after mpirun's kill: $n2b whole rows, none twice" \
  || bad "after mpirun's kill: $n2b (before: $n2)"
n2=$n2b
# SIGUSR1 to mpirun (forwarded to every rank): rank 0 stops after the rows in flight, writes the partial outputs, exit 130.
"${MPIRUN[@]}" "$LM" sweep "${BIG[@]}" --out "$T/K" >"$T/usr1.log" 2>&1 &
mp=$!
for _ in $(seq 1 600); do
  [ "$(cat "$T/K/results.jsonl" 2>/dev/null | wc -l)" -ge $((n2 + 2)) ] && break
  kill -0 $mp 2>/dev/null || break
  sleep 0.05
done
kill -USR1 $mp
wait $mp
rc=$?
n3=$(whole_rows "$T/K")
[ $rc -eq 130 ] && grep -q "interrupted: $n3 of 37 rows" "$T/usr1.log" && [ "$n3" -lt 37 ] \
  && grep -q '"partial":[[:space:]]*true' "$T/K/summary.json" \
  && ok "SIGUSR1 to mpirun: exit 130 with $n3 whole rows, partial summary written" \
  || bad "SIGUSR1: exit $rc, $n3 rows, $(cat "$T/usr1.log")"
"${MPIRUN[@]}" "$LM" sweep "${BIG[@]}" --out "$T/K" >"$T/out" 2>&1 && [ "$(whole_rows "$T/K")" -eq 37 ] \
  && ok "the same command again completes the sweep (37 rows)" || bad "resume: $(tail -n 5 "$T/out")"
same_rows "$T/REF" "$T/K" && ok "killed twice and resumed: rows equal one process's (all but secs)" || bad "resumed rows differ"

# ---- 3. usage errors --------------------------------------------------------------------------
"${MPIRUN[@]}" "$LM" sweep "${BIG[@]}" --target attn.x --out "$T/U" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && [ "$(grep -c . "$T/err")" -eq 1 ] && grep -q "^lesion sweep: .*unknown component" "$T/err" \
  && ok "a bad --target: exit 2, one line ($(cat "$T/err"))" || bad "bad target: exit $rc, $(cat "$T/err")"

echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
