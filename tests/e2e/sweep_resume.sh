#!/usr/bin/env bash
# sweep_resume.sh: no result is ever lost or duplicated when a sweep dies.
#
# On a tiny random model (4 layers, 2 heads, n_embd 16, context 64) with the
# bundled model's tokenizer and a few KB of its held-out text, so that a
# whole sweep takes about a second:
#   1. sweep into A without interruption;
#   2. the same sweep into B, SIGKILLed at several points (after 0.2 s, then
#      longer and longer, resuming each time, until a run completes), with
#      half a JSON line (no newline) appended to B/results.jsonl before one
#      resume, as a kill in the middle of a write would leave;
#   3. B/results.jsonl has exactly A's keys (none missing, none twice), each
#      row equal to A's except for "secs", and is valid UTF-8 JSON;
#      B/summary.json equals A/summary.json byte for byte (but for the
#      --out in the command it records);
#   4. a second sweep into an --out that one is still writing is refused
#      (the results file is locked), leaving no duplicate rows; a different
#      command on an existing --out is refused (exit 2, the results
#      untouched) unless --force, which moves the old files aside and starts
#      over (--weights bf16 counts as different, --weights f32-copy does not);
#   5. report.html is a whole document: <!DOCTYPE html> ... </html>, at least
#      3 <svg> plots, and every sample text of noise seed 0.
# Exit 0 pass, 1 fail (77 skip without the bundled tokenizer); last line
# "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
L=${LESION:-$BUILD/lesion}
PY=/usr/bin/python3
TOK=models/kjv-gpt2
[ -f $TOK/vocab.json ] && [ -f $TOK/merges.txt ] && [ -f $TOK/heldout.txt ] || { echo "skip: no $TOK tokenizer"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/sweep_resume.XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

M="$T/model"
V=$($PY -c 'import json, sys; print(len(json.load(open(sys.argv[1], encoding="utf-8"))))' $TOK/vocab.json)
"$L" init --layers 4 --heads 2 --embd 16 --vocab "$V" --ctx 64 --out "$M" >/dev/null || { echo "init failed"; exit 1; }
cp $TOK/vocab.json $TOK/merges.txt "$M/"
head -c 6000 $TOK/heldout.txt >"$M/heldout.txt"
SWEEP=(sweep --model "$M" --seeds 3 --eval-tokens 256 --ctx 64 --gen-tokens 8 --threads 1 --quiet)
sweep() { "$L" "${SWEEP[@]}" "$@"; }

start=$(date +%s.%N)
sweep --out "$T/A" 2>"$T/A.err" && ok "uninterrupted sweep" || { bad "uninterrupted sweep failed: $(cat "$T/A.err")"; exit 1; }
total=$(wc -l <"$T/A/results.jsonl")
echo "     $total rows in $(echo "$(date +%s.%N) - $start" | bc) s"

# ---- kill and resume ---------------------------------------------------------

delay=0.2 runs=0 mid=0 torn=0 done=0
while [ $runs -lt 60 ]; do
  runs=$((runs + 1))
  "$L" "${SWEEP[@]}" --out "$T/B" 2>>"$T/B.err" & # not through a function: $! must be lesion itself
  pid=$!
  sleep "$delay"
  kill -KILL $pid 2>/dev/null
  wait $pid 2>/dev/null
  rc=$?
  rows=$(cat "$T/B/results.jsonl" 2>/dev/null | wc -l)
  if [ $rc -eq 0 ]; then done=1; echo "     run $runs completed (${delay} s allowed)"; break; fi
  if [ $rc -ne 137 ]; then bad "resumed sweep failed with exit $rc: $(tail -n 2 "$T/B.err")"; break; fi
  echo "     run $runs killed after $delay s with $rows of $total rows"
  if [ "$rows" -gt 0 ] && [ "$rows" -lt "$total" ]; then
    mid=$((mid + 1))
    if [ $torn -eq 0 ]; then # a kill in the middle of write(): half a row, no newline
      head -n 1 "$T/B/results.jsonl" | sed 's/"key":"c0-s0"/"key":"c9-s9"/' | head -c 57 >>"$T/B/results.jsonl"
      torn=1
    fi
  fi
  delay=$(echo "$delay * 1.3" | bc -l | cut -c1-6)
done
[ $done -eq 1 ] && ok "the killed sweep completed after $runs runs" || bad "the killed sweep never completed"
[ $mid -ge 1 ] && ok "killed $mid times with some but not all rows written" \
  || bad "no kill landed in the middle of the sweep (runs too fast or too slow to test)"
[ $torn -eq 1 ] && ok "a torn last line was appended before a resume" || bad "no torn line was tested"

# ---- compare -------------------------------------------------------------------

$PY - "$T/A" "$T/B" <<'PYEOF' && ok "B/results.jsonl: A's keys exactly once each, rows equal to A's but for secs" || bad "B/results.jsonl differs from A"
import json, sys
def rows(d):
    text = open(d + "/results.jsonl", "rb").read().decode("utf-8")   # must be UTF-8
    assert text.endswith("\n"), "last line has no newline"
    return [json.loads(line) for line in text.splitlines()]
a, b = rows(sys.argv[1]), rows(sys.argv[2])
ka, kb = [r["key"] for r in a], [r["key"] for r in b]
assert len(set(ka)) == len(ka), "A has duplicate keys"
dup = sorted({k for k in kb if kb.count(k) > 1})
assert not dup, "B has duplicate keys %s" % dup
assert set(ka) == set(kb), "missing in B: %s; extra in B: %s" % (sorted(set(ka) - set(kb)), sorted(set(kb) - set(ka)))
by = {r["key"]: r for r in a}
for r in b:
    x = dict(by[r["key"]]); y = dict(r)
    x.pop("secs"); y.pop("secs")
    assert x == y, "row %s differs:\n  A %s\n  B %s" % (r["key"], x, y)
print(len(b), "rows equal")
PYEOF
# The files differ only in the command that made them (its --out): compare with B's folder named A.
sed "s|$T/B|$T/A|g" "$T/B/summary.json" >"$T/B.summary.json"
sed "s|$T/B|$T/A|g" "$T/B/report.html" >"$T/B.report.html"
cmp -s "$T/A/summary.json" "$T/B.summary.json" && ok "B/summary.json equals A/summary.json (but for --out)" \
  || { bad "summary.json differs"; diff "$T/A/summary.json" "$T/B.summary.json" | head -20; }
cmp -s "$T/A/report.html" "$T/B.report.html" && ok "B/report.html equals A/report.html (but for --out)" || bad "report.html differs"

# ---- two sweeps into one --out at once ------------------------------------------------

# (a longer sweep, so that the second starts well before the first ends)
"$L" "${SWEEP[@]}" --eval-tokens 1024 --gen-tokens 32 --out "$T/D" 2>"$T/D1.err" &
pid=$!
for _ in $(seq 1 500); do [ -s "$T/D/results.jsonl" ] && break; sleep 0.02; done
sweep --eval-tokens 1024 --gen-tokens 32 --out "$T/D" 2>"$T/D2.err"
rc=$?
wait $pid
rc1=$?
[ $rc -eq 1 ] && grep -q "another process is writing" "$T/D2.err" && [ $rc1 -eq 0 ] \
  && ok "a second sweep into a --out being written is refused (exit 1), the first completes" \
  || bad "concurrent sweeps: second exit $rc ($(cat "$T/D2.err")), first exit $rc1"
$PY - "$T/D/results.jsonl" "$total" <<'PYEOF' && ok "no duplicate rows after the concurrent attempt" || bad "concurrent sweeps duplicated rows"
import json, sys
keys = [json.loads(l)["key"] for l in open(sys.argv[1], encoding="utf-8")]
assert len(keys) == len(set(keys)) == int(sys.argv[2]), (len(keys), len(set(keys)))
PYEOF

# ---- a different sweep on the same --out ------------------------------------------

cp -r "$T/A" "$T/C"
sum0=$(md5sum <"$T/C/results.jsonl")
sweep --out "$T/C" --seeds 2 2>"$T/C.err"
rc=$?
[ $rc -eq 2 ] && grep -q "different sweep" "$T/C.err" && [ "$(wc -l <"$T/C.err")" -eq 1 ] \
  && ok "a different sweep on an existing --out is refused (exit 2)" || bad "different sweep: exit $rc, $(cat "$T/C.err")"
[ "$(md5sum <"$T/C/results.jsonl")" = "$sum0" ] && ok "the refused sweep left results.jsonl untouched" || bad "refused sweep changed results.jsonl"
sweep --out "$T/C" --seeds 2 --force 2>"$T/C.err" && [ "$(wc -l <"$T/C/results.jsonl")" -eq $((1 + 4 * 2)) ] \
  && [ "$(cat "$T"/C/replaced-*/results.jsonl | md5sum)" = "$sum0" ] \
  && ok "--force starts over (9 rows for 2 seeds), the old rows moved to replaced-*/" \
  || bad "--force: $(cat "$T/C.err"), $(wc -l <"$T/C/results.jsonl") rows"
sweep --out "$T/C" --seeds 2 2>"$T/C.err" && [ "$(wc -l <"$T/C/results.jsonl")" -eq 9 ] \
  && ok "rerunning a finished sweep adds nothing" || bad "rerun of a finished sweep: $(cat "$T/C.err")"
# Weight storage: bf16 changes the numbers, so it is part of the sweep's
# identity; f32-copy changes no bit, so it resumes an f32 sweep.
sweep --out "$T/C" --seeds 2 --weights bf16 2>"$T/C.err"
rc=$?
[ $rc -eq 2 ] && grep -q "different sweep" "$T/C.err" && ok "a bf16 sweep on an f32 sweep's --out is refused (exit 2)" \
  || bad "bf16 over f32: exit $rc, $(cat "$T/C.err")"
sweep --out "$T/C" --seeds 2 --weights f32-copy 2>"$T/C.err" && [ "$(wc -l <"$T/C/results.jsonl")" -eq 9 ] \
  && ok "--weights f32-copy resumes the f32 sweep (nothing to add)" || bad "f32-copy resume: $(cat "$T/C.err")"

# ---- report.html ---------------------------------------------------------------------

$PY - "$T/A" <<'PYEOF' && ok "report.html: whole document, >= 3 <svg> plots, every seed-0 sample" || bad "report.html incomplete"
import html, json, sys
d = sys.argv[1]
r = open(d + "/report.html", "rb").read().decode("utf-8")
assert r.lstrip().lower().startswith("<!doctype html>"), r[:40]
assert r.rstrip().endswith("</html>"), r[-40:]
n = r.count("<svg")
assert n >= 3, "%d <svg" % n
rows = [json.loads(l) for l in open(d + "/results.jsonl", encoding="utf-8")]
missing = [(row["key"], s) for row in rows if row["seed_index"] == 0 for s in row["samples"]
           if html.escape(s, quote=False) not in r and html.escape(s) not in r]
assert not missing, "samples not in the report: %s" % missing[:3]
print(n, "plots,", sum(len(row["samples"]) for row in rows if row["seed_index"] == 0), "samples")
PYEOF

echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
