#!/usr/bin/env bash
# sweep_shards.sh: a sweep split into shards (--shard K/N, as a job array
# runs it) and merged (`lesion merge`) gives the rows of one process.
#
# On the bundled model (cumulative attn.q over layers 0-3, 2 seeds: 9 rows):
#   1. one process into FULL; shards 0/2 and 1/2 into S0 and S1: each holds
#      exactly the rows with index % 2 == K, and its sweep.json records the
#      shard while its identity equals FULL's;
#   2. `lesion merge M S0 S1`: M/results.jsonl has FULL's keys in FULL's
#      order, each row equal to FULL's but for "secs"; M/summary.json equals
#      FULL's but for the command; merging again adds nothing;
#   3. refusals, each one line, exit 2, nothing written: folders of
#      different sweeps; a row present twice with different numbers; a
#      folder that is not a sweep; --shard 2/2; shard 1/2 resumed into
#      shard 0/2's folder. Rows present twice with equal numbers (FULL
#      merged with the shards) are accepted.
# Exit 0 pass, 1 fail; last line "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
L=${LESION:-$BUILD/lesion}
PY=/usr/bin/python3
[ -f models/kjv-gpt2/model.safetensors ] || { echo "skip: no bundled model"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/sweep_shards.XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

SWEEP=(sweep --seeds 2 --layers 0-3 --eval-tokens 256 --ctx 64 --gen-tokens 8 --threads 1 --quiet)
"$L" "${SWEEP[@]}" --out "$T/FULL" 2>"$T/err" && ok "one process: $(wc -l <"$T/FULL/results.jsonl") rows" \
  || { bad "one process: $(cat "$T/err")"; exit 1; }
for k in 0 1; do
  "$L" "${SWEEP[@]}" --shard $k/2 --out "$T/S$k" 2>"$T/err" || { bad "shard $k/2: $(cat "$T/err")"; exit 1; }
done

$PY - "$T" <<'PYEOF' && ok "shards hold rows index % 2 == K; sweep.json records the shard, identity equal" || bad "shard contents"
import json, sys
t = sys.argv[1]
full = [json.loads(l)["key"] for l in open(t + "/FULL/results.jsonl")]
rec = json.load(open(t + "/FULL/sweep.json"))
assert "shard" not in rec
for k in (0, 1):
    keys = [json.loads(l)["key"] for l in open("%s/S%d/results.jsonl" % (t, k))]
    assert keys == [key for i, key in enumerate(full) if i % 2 == k], (k, keys)
    r = json.load(open("%s/S%d/sweep.json" % (t, k)))
    assert r["shard"] == {"index": k, "count": 2}, r.get("shard")
    assert r["identity"] == rec["identity"]
PYEOF

"$L" merge "$T/M" "$T/S0" "$T/S1" --quiet 2>"$T/err" && ok "merge M S0 S1" || bad "merge: $(cat "$T/err")"
$PY - "$T/FULL" "$T/M" <<'PYEOF' && ok "merged rows equal one process's (order and numbers, all but secs); summary equal but for the command" || bad "merged rows differ"
import json, sys
def rows(d):
    out = []
    for line in open(d + "/results.jsonl", encoding="utf-8"):
        r = json.loads(line); r.pop("secs"); out.append(r)
    return out
a, b = rows(sys.argv[1]), rows(sys.argv[2])
assert [r["key"] for r in a] == [r["key"] for r in b], ([r["key"] for r in a], [r["key"] for r in b])
for x, y in zip(a, b):
    assert x == y, "row %s differs" % x["key"]
def summary(d):
    s = json.load(open(d + "/summary.json"))
    s["provenance"].pop("command", None)
    return s
sa, sb = summary(sys.argv[1]), summary(sys.argv[2])
assert sa == sb, [k for k in sa if sa[k] != sb.get(k)]
assert "shard" not in json.load(open(sys.argv[2] + "/sweep.json"))
print(len(a), "rows equal")
PYEOF
[ -s "$T/M/report.html" ] && [ -s "$T/M/results.csv" ] && ok "merge wrote report.html and results.csv" || bad "merge outputs missing"
sum0=$(md5sum <"$T/M/results.jsonl")
"$L" merge "$T/M" "$T/S0" "$T/S1" --quiet 2>"$T/err" && [ "$(md5sum <"$T/M/results.jsonl")" = "$sum0" ] \
  && ok "merging again adds nothing" || bad "second merge: $(cat "$T/err")"
"$L" merge "$T/M2" "$T/S0" "$T/S1" "$T/FULL" --quiet 2>"$T/err" && [ "$(wc -l <"$T/M2/results.jsonl")" -eq 9 ] \
  && ok "a row present twice with equal numbers (but secs) is one row" || bad "merge with duplicates: $(cat "$T/err")"

# ---- refusals ----------------------------------------------------------------------
refused() { # name, expected message part, command...
  local name=$1 want=$2; shift 2
  "$@" 2>"$T/err"
  local rc=$?
  if [ $rc -eq 2 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "$want" "$T/err" && [ ! -e "$T/X" ]; then ok "$name: exit 2, $(cat "$T/err")"
  else bad "$name: exit $rc, $(cat "$T/err")"; fi
  rm -rf "$T/X"
}
"$L" "${SWEEP[@]}" --seeds 3 --shard 1/2 --out "$T/OTHER" 2>/dev/null
refused "a different sweep" "different sweeps: --seeds differs" "$L" merge "$T/X" "$T/S0" "$T/OTHER"
cp -r "$T/S1" "$T/S1bad"
$PY - "$T/S1bad/results.jsonl" <<'PYEOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
r = json.loads(lines[0]); r["kl"] = r["kl"] + 1e-9
lines[0] = json.dumps(r, separators=(",", ":"))
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PYEOF
refused "a row with different numbers" "differs between" "$L" merge "$T/X" "$T/S0" "$T/S1" "$T/S1bad"
mkdir -p "$T/junk"
refused "a folder that is not a sweep" "not a lesion sweep folder" "$L" merge "$T/X" "$T/S0" "$T/junk"
refused "--shard 2/2" "expected K/N" "$L" "${SWEEP[@]}" --shard 2/2 --out "$T/X"
sum0=$(md5sum <"$T/S0/results.jsonl")
"$L" "${SWEEP[@]}" --shard 1/2 --out "$T/S0" 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && grep -q "the shard differs (--shard): was 0/2, now 1/2" "$T/err" && [ "$(md5sum <"$T/S0/results.jsonl")" = "$sum0" ] \
  && ok "shard 1/2 into shard 0/2's folder is refused, its rows untouched" || bad "shard into another shard's folder: exit $rc, $(cat "$T/err")"

echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
