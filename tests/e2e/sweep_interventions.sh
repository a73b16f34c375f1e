#!/usr/bin/env bash
# sweep_interventions.sh: activation interventions and probes inside a sweep.
#
# On the bundled model, eval windows of 64 tokens:
#   1. a plan-file row "ablate:attn.z@L1H2" (zero) scores exactly the
#      cross-entropy `lesion eval --ablate attn.z@L1H2` prints for the same
#      window (bitwise, as JSON numbers), with prefix reuse on and off;
#   2. prefix reuse restarts at the earliest layer a weight or an
#      intervention touches: attn.q@L5 with ablate:attn.z@L1H2 restarts at
#      1, ablate:resid_pre@L3P5 at 3, attn.q@L5 alone at 5, ablate:lnf.out
#      reruns only the head (12); every row equals --no-prefix-reuse's
#      bitwise (all numbers but secs and first_layer);
#   3. sweep-wide --ablate runs in every row, the clean one included: its
#      clean row equals `lesion eval --ablate` and summary.json says the
#      baseline is "clean + ablate:...";
#   4. refusals, one line, exit 2, nothing run: bad plan-file interventions
#      name file:line (unknown site, layer out of range, head out of range,
#      patch:, an unknown "word:" item); --patch; --ablate-mode without
#      --ablate; a resume with other sweep-wide interventions (or another
#      mode, or another probe) is refused, naming it; the same command
#      resumes with nothing to do;
#   5. --probe prev-token: the clean row's accuracies equal `lesion probe`
#      with the same settings (bitwise), every row has one accuracy per site
#      (resid_pre@L0, resid_post@L0..11), the summary averages them, the
#      report draws them and results.csv has a column per site; `lesion
#      report A B --out C` draws the probe figure of the sweep that ran probes;
#   6. with build/lesion-mpi and mpirun present: mpirun -n 2 gives the rows
#      of one process (all but secs) for a sweep with a sweep-wide ablation,
#      plan-file mean and resample items and probes.
# Exit 0 pass, 1 fail; last line "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
L=${LESION:-$BUILD/lesion}
PY=/usr/bin/python3
[ -f models/kjv-gpt2/model.safetensors ] || { echo "skip: no bundled model"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/sweep_interventions.XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

SW=(sweep --mode zero --eval-tokens 64 --ctx 64 --gen-tokens 4 --threads 1 --quiet)
EV=(eval --ctx 64 --max-tokens 64 --json --threads 1)
cat >"$T/plan.txt" <<'EOF'
ablate:attn.z@L1H2
attn.q@L5 ; ablate:attn.z@L1H2   # weights at 5, activations at 1
ablate:resid_pre@L3P5
attn.q@L5
ablate:lnf.out
EOF
"$L" "${SW[@]}" --plan-file "$T/plan.txt" --out "$T/R" 2>"$T/err" || { bad "plan-file sweep: $(cat "$T/err")"; exit 1; }
"$L" "${SW[@]}" --plan-file "$T/plan.txt" --no-prefix-reuse --out "$T/N" 2>"$T/err" || { bad "no reuse: $(cat "$T/err")"; exit 1; }
"$L" "${EV[@]}" --ablate attn.z@L1H2 >"$T/ev.json" 2>"$T/err" || { bad "eval: $(cat "$T/err")"; exit 1; }
"$L" "${EV[@]}" >"$T/ev_clean.json" 2>"$T/err" || { bad "eval clean: $(cat "$T/err")"; exit 1; }

$PY - "$T" <<'PYEOF' && ok "ablate:attn.z@L1H2 row = lesion eval --ablate attn.z@L1H2 (bitwise), reuse on and off" || bad "row vs eval"
import json, sys
t = sys.argv[1]
ev = json.load(open(t + "/ev.json"))["cross_entropy"]
for d in ("R", "N"):
    rows = {r["label"]: r for r in map(json.loads, open(f"{t}/{d}/results.jsonl"))}
    ce = rows["ablate:attn.z@L1H2"]["cross_entropy"]
    assert ce == ev, (d, ce, ev)
    assert rows["clean"]["cross_entropy"] == json.load(open(t + "/ev_clean.json"))["cross_entropy"]
    assert ce != rows["clean"]["cross_entropy"]  # the ablation did something
PYEOF

$PY - "$T" <<'PYEOF' && ok "prefix reuse restarts at the earliest weight or intervention (1, 3, 5, 12); rows = --no-prefix-reuse bitwise" || bad "prefix reuse"
import json, sys
t = sys.argv[1]
load = lambda d: {r["label"]: r for r in map(json.loads, open(f"{t}/{d}/results.jsonl"))}
R, N = load("R"), load("N")
want = {"clean": 12, "ablate:attn.z@L1H2": 1, "attn.q@L5 ; ablate:attn.z@L1H2": 1, "ablate:resid_pre@L3P5": 3,
        "attn.q@L5": 5, "ablate:lnf.out": 12}
for label, first in want.items():
    assert R[label]["first_layer"] == first, (label, R[label]["first_layer"], first)
    assert N[label]["first_layer"] == 0, label
    a = {k: v for k, v in R[label].items() if k not in ("secs", "first_layer")}
    b = {k: v for k, v in N[label].items() if k not in ("secs", "first_layer")}
    assert a == b, (label, [k for k in a if a[k] != b.get(k)])
assert R["ablate:lnf.out"]["cross_entropy"] != R["clean"]["cross_entropy"]
PYEOF

# 3. sweep-wide: every row, clean included.
"$L" "${SW[@]}" --layers 0-1 --ablate attn.z@L1H2 --out "$T/W" 2>"$T/err" || { bad "sweep-wide: $(cat "$T/err")"; exit 1; }
$PY - "$T" <<'PYEOF' && ok "--ablate in every row: clean row = lesion eval --ablate; baseline stated in summary.json" || bad "sweep-wide"
import json, sys
t = sys.argv[1]
rows = {r["label"]: r for r in map(json.loads, open(t + "/W/results.jsonl"))}
assert rows["clean"]["cross_entropy"] == json.load(open(t + "/ev.json"))["cross_entropy"]
assert rows["clean"]["kl"] == 0
s = json.load(open(t + "/W/summary.json"))
assert s["baseline"].startswith("clean + ablate:attn.z@L1H2"), s["baseline"]
assert json.load(open(t + "/W/sweep.json"))["identity"]["interventions"]["sweep_wide"] == ["ablate:attn.z@L1H2"]
PYEOF

# 4. refusals
refused() { # name, expected text, command...
  local name=$1 want=$2; shift 2
  rm -rf "$T/X"
  "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  if [ $rc -eq 2 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -qF -- "$want" "$T/err" && [ ! -e "$T/X/results.jsonl" ]; then
    ok "refused: $name"
  else
    bad "$name: exit $rc: $(cat "$T/err")"
  fi
}
printf 'attn.q@L0\nablate:attn.zz@L1\n' >"$T/p1.txt"
refused "unknown site in a plan file" "p1.txt:2: ablate: site \"attn.zz@L1\": unknown name" "$L" "${SW[@]}" --plan-file "$T/p1.txt" --out "$T/X"
printf '# comment\n\nattn.q@L0; ablate:attn.z@L12H0\n' >"$T/p2.txt"
refused "layer out of range in a plan file" "p2.txt:3: ablate: site \"attn.z@L12H0\": layer 12" "$L" "${SW[@]}" --plan-file "$T/p2.txt" --out "$T/X"
printf 'ablate-mean:attn.z@L0H12\n' >"$T/p3.txt"
refused "head out of range in a plan file" "p3.txt:1: ablate-mean: site \"attn.z@L0H12\": head 12" "$L" "${SW[@]}" --plan-file "$T/p3.txt" --out "$T/X"
printf 'patch:resid_pre@L0\n' >"$T/p4.txt"
refused "patch: in a plan file" "p4.txt:1: patch:resid_pre@L0: patching is not supported in a sweep" "$L" "${SW[@]}" --plan-file "$T/p4.txt" --out "$T/X"
printf 'ablate-max:resid_pre@L0\n' >"$T/p5.txt"
refused "unknown item in a plan file" "p5.txt:1: \"ablate-max:resid_pre@L0\": unknown item" "$L" "${SW[@]}" --plan-file "$T/p5.txt" --out "$T/X"
refused "--patch" "--patch is not supported in a sweep" "$L" "${SW[@]}" --patch resid_pre@L0 --out "$T/X"
refused "--ablate-mode without --ablate" "--ablate-mode has no effect without --ablate" "$L" "${SW[@]}" --ablate-mode mean --out "$T/X"
refused "bad --ablate site" "--ablate attn.z@L1H99" "$L" "${SW[@]}" --ablate attn.z@L1H99 --out "$T/X"
refused "--probe-top without --probe" "--probe-top has no effect without --probe" "$L" "${SW[@]}" --probe-top 4 --out "$T/X"

# resume: other interventions refused, the same command resumes
rows_before=$(wc -l <"$T/W/results.jsonl")
"$L" "${SW[@]}" --layers 0-1 --ablate attn.z@L1H3 --out "$T/W" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && grep -q "the sweep-wide activation interventions changed" "$T/err" \
  && ok "resume with another --ablate refused: $(cat "$T/err")" || bad "resume --ablate: exit $rc: $(cat "$T/err")"
"$L" "${SW[@]}" --layers 0-1 --ablate attn.z@L1H2 --ablate-mode mean --out "$T/W" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && grep -q "ablate-mean:attn.z@L1H2" "$T/err" \
  && ok "resume with another --ablate-mode refused" || bad "resume --ablate-mode: exit $rc: $(cat "$T/err")"
"$L" "${SW[@]}" --layers 0-1 --out "$T/W" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && grep -q "interventions changed" "$T/err" && ok "resume without the --ablate refused" || bad "resume without: exit $rc: $(cat "$T/err")"
"$L" "${SW[@]}" --layers 0-1 --ablate attn.z@L1H2 --out "$T/W" 2>"$T/err" && [ "$(wc -l <"$T/W/results.jsonl")" -eq "$rows_before" ] \
  && ok "the same command resumes with nothing to do" || bad "same resume: $(cat "$T/err")"

# 5. probes
PR=(--probe prev-token --probe-tokens 2048 --probe-top 8)
"$L" sweep --layers 0-1 --seeds 1 --eval-tokens 512 --ctx 64 --gen-tokens 4 --threads 2 --quiet "${PR[@]}" --out "$T/P" 2>"$T/err" \
  || { bad "probe sweep: $(cat "$T/err")"; exit 1; }
"$L" probe --task prev-token --max-tokens 2048 --top 8 --ctx 64 --json --threads 2 >"$T/probe.json" 2>"$T/err" \
  || { bad "lesion probe: $(cat "$T/err")"; exit 1; }
$PY - "$T" <<'PYEOF' && ok "--probe: clean row = lesion probe (bitwise); one accuracy per site in every row; summary and report" || bad "probe"
import json, sys
t = sys.argv[1]
ref = json.load(open(t + "/probe.json"))
sites = [s["site"] for s in ref["sites"]]
assert sites == ["resid_pre@L0"] + [f"resid_post@L{l}" for l in range(12)], sites
rows = list(map(json.loads, open(t + "/P/results.jsonl")))
assert len(rows) == 3
for r in rows:
    assert r["probe"]["task"] == "prev-token" and r["probe"]["sites"] == sites
    assert len(r["probe"]["accuracy"]) == len(sites)
    assert all(0 <= a <= 1 for a in r["probe"]["accuracy"])
clean = [r for r in rows if r["label"] == "clean"][0]
assert clean["probe"]["accuracy"] == [s["accuracy"] for s in ref["sites"]], (clean["probe"]["accuracy"], ref["sites"])
assert max(clean["probe"]["accuracy"]) > ref["majority"] + 0.2  # the probe reads something real
s = json.load(open(t + "/P/summary.json"))
for c in s["configs"]:
    assert len(c["probe"]["center"]) == len(sites) and c["probe"]["lo"][0] is None  # one seed: no interval
assert s["configs"][0]["probe"]["center"] == clean["probe"]["accuracy"]
html = open(t + "/P/report.html").read()
assert "Probe accuracy (prev-token) by layer" in html and html.count("<polyline") >= 3
import csv
table = list(csv.DictReader(open(t + "/P/results.csv")))
assert [float(table[0]["probe_" + s]) for s in sites] == clean["probe"]["accuracy"]
PYEOF
"$L" sweep --layers 0 --seeds 1 --eval-tokens 512 --ctx 64 --gen-tokens 4 --threads 2 --quiet --out "$T/P0" 2>"$T/err" \
  && "$L" report "$T/P" "$T/P0" --out "$T/PC" 2>"$T/err" || bad "comparison with a probe sweep: $(cat "$T/err")"
$PY - "$T" <<'PYEOF' && ok "lesion report A B --out C draws A's probe figure (B ran no probes)" || bad "comparison probes"
import sys
html = open(sys.argv[1] + "/PC/report.html").read()
assert html.count("<h2>Probes</h2>") == 1 and html.count("Probe accuracy (prev-token) by layer") == 1, html[:200]
PYEOF
"$L" sweep --layers 0-1 --seeds 1 --eval-tokens 512 --ctx 64 --gen-tokens 4 --threads 2 --quiet --probe prev-token \
  --probe-tokens 2048 --probe-top 4 --out "$T/P" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && grep -q -- "--probe-top differs" "$T/err" && ok "resume with another --probe-top refused" || bad "probe resume: exit $rc: $(cat "$T/err")"

# 6. the same rows from MPI ranks
LM=${LESION_MPI:-$BUILD/lesion-mpi}
if [ -x "$LM" ] && command -v mpirun >/dev/null && [ -z "${LESION_SANITIZED:-}" ]; then
  printf 'attn.q@L0\nablate-mean:attn.z@L1H2\nattn.q@L2; ablate-resample:mlp.out@L1\n' >"$T/pm.txt"
  A=(sweep --plan-file "$T/pm.txt" --seeds 2 --eval-tokens 256 --ctx 64 --gen-tokens 4 --ablate resid_post@L0P3
     --probe prev-token --probe-tokens 1024 --probe-top 4 --quiet --threads 1)
  "$L" "${A[@]}" --out "$T/MA" 2>"$T/err" || bad "one process: $(cat "$T/err")"
  mpirun -q --allow-run-as-root --oversubscribe -n 2 "$LM" "${A[@]}" --out "$T/MB" >"$T/out" 2>&1 || bad "mpirun: $(tail -3 "$T/out")"
  $PY - "$T" <<'PYEOF' && ok "mpirun -n 2: rows with interventions and probes equal one process's" || bad "mpirun rows differ"
import json, sys
t = sys.argv[1]
load = lambda d: {r["key"]: {k: v for k, v in r.items() if k != "secs"} for r in map(json.loads, open(f"{t}/{d}/results.jsonl"))}
a, b = load("MA"), load("MB")
assert len(a) == 7 and a == b
assert a["c3-s0"]["first_layer"] == 1 and a["c2-s0"]["first_layer"] == 1
PYEOF
else
  echo "skip: mpirun -n 2 (no $LM or mpirun, or sanitized)"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
