#!/usr/bin/env bash
# probe.sh: proves `lesion probe` measures what it says, through the CLI.
#
# 1. On a GPT-2 built by hand with a perfect previous-token head in block 0
#    (tools/make_prev_token_model.py; lesion attention shows it: entropy 0,
#    offset 1), so that the answers are known:
#    - prev-token accuracy after block 0 (resid_post@L0, @L1) is >= 0.98,
#      far above the embedding (resid_pre@L0), the majority baseline and the
#      current-token baseline;
#    - zeroing attn.v@all (no value reaches the stream) brings it down to
#      the embedding's accuracy (within 0.03), and zeroing attn.q@all
#      (uniform attention) far below the clean one; with --probe-from clean
#      too;
#    - resid_pre@L0, which no attention lesion touches, has bitwise the same
#      accuracy clean and lesioned, with either kind of probe;
#    - the token task (a control that needs no attention) stays >= 0.98.
# 2. On the bundled model (models/kjv-gpt2), a fast configuration (8
#    classes, 4000 tokens, windows of 64):
#    - prev-token accuracy at the layers after the first block is well above
#      the majority baseline (by 0.2 at least);
#    - the accuracies are identical on 1 and 2 threads;
#    - the labels task, given the token task's own labels as a file, gives
#      the token task's accuracies, majority and baselines exactly.
#    - the previous token is built up by the blocks (after block 5 it is
#      read 0.15 better than after block 1), and noising W_Q of blocks 0-5
#      lowers it there by 0.08 at least (measured 0.157 on the model of
#      2026-11-30) while leaving the embedding's accuracy bitwise alone.
# Exit 0 pass, 1 fail; last line "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
L=${LESION:-$BUILD/lesion}
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/probe.XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
# check NAME PYTHON-EXPRESSION: evaluated with every $T/*.json loaded as a variable of its name.
check() {
  if $PY - "$T" "$2" <<'PYEOF'; then ok "$1"; else bad "$1"; fi
import glob, json, os, sys
env = {}
for f in glob.glob(os.path.join(sys.argv[1], "*.json")):
    with open(f) as fh:
        env[os.path.basename(f)[:-5]] = json.load(fh)
def acc(r, site, key="accuracy"):
    return next(s[key] for s in r["sites"] if s["site"] == site)
env["acc"] = acc
ok = eval(sys.argv[2], env)
if not ok:
    print("   ", sys.argv[2])
    for k, v in sorted(env.items()):
        if isinstance(v, dict):
            print("   ", k, json.dumps({x: v[x] for x in ("sites", "majority", "token_baseline") if x in v}))
sys.exit(0 if ok else 1)
PYEOF
}
probe() { # NAME ARGS...: lesion probe --json ... > $T/NAME.json
  local name=$1; shift
  "$L" probe --json "$@" >"$T/$name.json" 2>"$T/$name.err" || { bad "lesion probe $*: exit $?: $(head -c 300 "$T/$name.err")"; : >"$T/$name.json"; }
}

# ---- 1. the hand-made previous-token model ---------------------------------------

M=$T/prev-token-model
$PY tools/make_prev_token_model.py --tokenizer-from models/kjv-gpt2 --out "$M" || { echo "model generation failed"; exit 1; }
HM=(--model "$M" --train models/kjv-gpt2/heldout.txt --site resid_pre@L0 --site resid_post@all --top 8 --max-tokens 4000 --threads 2)
probe hm_v "${HM[@]}" --lesion attn.v@all --mode zero
probe hm_q "${HM[@]}" --lesion attn.q@all --mode zero
probe hm_qc "${HM[@]}" --lesion attn.q@all --mode zero --probe-from clean
probe hm_tok "${HM[@]}" --task token --lesion attn.v@all --mode zero
check "hand-made model: prev-token after block 0 >= 0.98" \
  'min(acc(hm_v, s, "clean") for s in ("resid_post@L0", "resid_post@L1")) >= 0.98'
check "hand-made model: ... far above the embedding, majority and current-token baselines" \
  'acc(hm_v, "resid_post@L0", "clean") - max(acc(hm_v, "resid_pre@L0", "clean"), hm_v["majority"], hm_v["token_baseline"]) >= 0.3'
check "hand-made model: zero attn.v@all brings it down to the embedding's accuracy" \
  'abs(acc(hm_v, "resid_post@L0", "lesioned") - acc(hm_v, "resid_pre@L0", "clean")) <= 0.03'
check "hand-made model: zero attn.q@all (uniform attention) lowers it by 0.3 at least" \
  'acc(hm_q, "resid_post@L1", "clean") - acc(hm_q, "resid_post@L1", "lesioned") >= 0.3'
check "hand-made model: clean probes on the attn.q@all-lesioned stream drop by 0.3 at least" \
  'hm_qc["probe_from"] == "clean" and acc(hm_qc, "resid_post@L0", "clean") - acc(hm_qc, "resid_post@L0", "lesioned") >= 0.3'
check "hand-made model: resid_pre@L0 bitwise unchanged by attention lesions, either probe" \
  'all(acc(r, "resid_pre@L0", "clean") == acc(r, "resid_pre@L0", "lesioned") for r in (hm_v, hm_q, hm_qc))'
check "hand-made model: the token task (control) stays >= 0.98 with attention zeroed" \
  'min(s["lesioned"] for s in hm_tok["sites"]) >= 0.98'

# ---- 2. the bundled model ----------------------------------------------------------

BM=(--site resid_pre@L0 --site resid_post@L1 --site resid_post@L5 --top 8 --max-tokens 4000 --ctx 64)
probe b1 "${BM[@]}" --threads 1
probe b2 "${BM[@]}" --threads 2
check "bundled model: prev-token after block 1 and 5 well above the majority baseline" \
  'b2["task"] == "prev-token" and b2["classes"] == 8 and min(acc(b2, s) for s in ("resid_post@L1", "resid_post@L5")) >= b2["majority"] + 0.2'
check "bundled model: chance is 1/classes, baselines in range" \
  'b2["chance"] == 1 / 8 and 0 < b2["majority"] < b2["token_baseline"] < 1'
check "bundled model: identical accuracies on 1 and 2 threads" 'b1["sites"] == b2["sites"]'
probe bq "${BM[@]}" --threads 2 --lesion attn.q@L0-5
check "bundled model: blocks 2-5 add the previous token (resid_post@L5 >= resid_post@L1 + 0.15)" \
  'acc(b2, "resid_post@L5") >= acc(b2, "resid_post@L1") + 0.15'
check "bundled model: W_Q of blocks 0-5 noised lowers it after block 5 by 0.08+, embedding unchanged" \
  'acc(bq, "resid_post@L5", "lesioned") <= acc(bq, "resid_post@L5", "clean") - 0.08 and acc(bq, "resid_pre@L0", "lesioned") == acc(bq, "resid_pre@L0", "clean") and acc(bq, "resid_post@L5", "clean") == acc(b2, "resid_post@L5")'

# The token task's own labels as a labels file: one line per token of the
# whole file, the id for the 8 most frequent of the first 80% of the first
# 4000 tokens, "-" otherwise.
"$L" tokenize --file models/kjv-gpt2/heldout.txt --json >"$T/ids.out" || bad "tokenize failed"
$PY - "$T/ids.out" "$T/labels.txt" <<'PYEOF' || bad "labels file generation failed"
import collections, json, sys
ids = json.load(open(sys.argv[1]))["ids"]
train = ids[:min(len(ids), 4000) * 8 // 10]
count = collections.Counter(train)
top = set(sorted(count, key=lambda t: (-count[t], t))[:8])
with open(sys.argv[2], "w") as f:
    f.writelines(("%d\n" % t) if t in top else "-\n" for t in ids)
PYEOF
probe bt "${BM[@]}" --task token
probe bl "${BM[@]}" --task labels --labels "$T/labels.txt"
check "bundled model: labels file of the token task's labels = the token task" \
  'bl["sites"] == bt["sites"] and bl["classes"] == bt["classes"] == 8 and bl["majority"] == bt["majority"] and bl["token_baseline"] == bt["token_baseline"] == 1'

echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
