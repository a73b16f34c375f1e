#!/usr/bin/env bash
# context_reference.sh: proves that `lesion eval --by-position` and
# `lesion attention` measure what they say, against an independent PyTorch
# computation in float64 (tools/reference_context.py):
#   - cross-entropy at every window position and the in-context score, within 1e-4;
#   - every head's mean normalised attention entropy, within 1e-4;
#   - every head's most-attended offset, equal wherever the reference's
#     winner leads the runner-up by more than 2 rows (closer races may flip
#     between float32 and float64 argmaxes);
# on the bundled model (clean and with attn.q of blocks 0-3 zeroed, the
# lesioned side of `lesion attention --lesion`), and on a random 4-layer
# GPT-2 with a 48-token window (in-context score undefined: null).
# Exit 0 pass, 1 fail, 77 skip (no torch).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

BUILD=${BUILD:-build}
PY=/usr/bin/python3
LESION=${LESION:-$BUILD/lesion}
BUNDLED=models/kjv-gpt2

if ! why=$($PY -c 'import torch, numpy' 2>&1); then
    echo "SKIP: context_reference: $PY cannot import torch and numpy (${why##*$'\n'})"
    exit 77
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/context_reference.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
failed=0
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# The first N+1 held-out ids, as lesion tokenizes them.
ids_of() { # model n out
    "$LESION" tokenize --model "$1" --file "$BUNDLED/heldout.txt" | tr ',' '\n' | head -n "$2" | paste -sd, >"$3"
}

# compare LABEL LESION_JSON REF_JSON KIND [SIDE]: KIND is position or attention.
compare() {
    $PY - "$@" <<'EOF'
import json, math, sys
label, got_path, ref_path, kind = sys.argv[1:5]
side = sys.argv[5] if len(sys.argv) > 5 else "clean"
got, ref = json.load(open(got_path)), json.load(open(ref_path))
bad = []
if kind == "position":
    bp = got["by_position"]
    if bp["windows"] != ref["windows"]:
        bad.append("windows %s vs %s" % (bp["windows"], ref["windows"]))
    d = max(abs(a - b) for a, b in zip(bp["cross_entropy"], ref["cross_entropy"]))
    if not d <= 1e-4 or len(bp["cross_entropy"]) != len(ref["cross_entropy"]):
        bad.append("cross-entropy by position differs by %.3g" % d)
    g, r = bp["in_context_score"], ref["in_context_score"]
    if (g is None) != (r is None) or (r is not None and abs(g - r) > 1e-4):
        bad.append("in-context score %s vs %s" % (g, r))
    print("%s: %d windows, max |delta| by position %.2e, in-context score %s (reference %s)"
          % (label, ref["windows"], d, g, r))
else:
    s = got[side]
    d = max(abs(a - b) for gl, rl in zip(s["entropy"], ref["entropy"]) for a, b in zip(gl, rl))
    if not d <= 1e-4:
        bad.append("entropy differs by %.3g" % d)
    rows = ref["windows"] * (got["ctx"] - got["min_pos"])
    mism = close = 0
    for l, (gl, rl) in enumerate(zip(s["top_offset"], ref["top_offset"])):
        for h, (a, b) in enumerate(zip(gl, rl)):
            if a != b:
                if ref["top_offset_lead"][l][h] <= 2:
                    close += 1
                else:
                    mism += 1
                    bad.append("L%dH%d offset %s vs %s" % (l, h, a, b))
    print("%s: max |delta entropy| %.2e, offsets: %d mismatches, %d near-ties skipped; sharp heads %d"
          % (label, d, mism, close, s["sharp_heads"]))
if bad:
    print("FAIL %s: %s" % (label, "; ".join(bad[:5])))
    sys.exit(1)
EOF
}

check() { # LABEL MODEL CTX N_IDS [SPEC]
    local label=$1 model=$2 ctx=$3 n=$4 spec=${5:-}
    local ids=$TMP/ids.txt lesion_args=() ref_args=() side=clean
    ids_of "$model" "$n" "$ids"
    if [[ -n $spec ]]; then
        lesion_args=(--lesion "$spec" --mode zero)
        ref_args=(--zero "$spec")
        side=lesioned
    fi
    if ! $PY tools/reference_context.py --model "$model" --ids-file "$ids" --ctx "$ctx" "${ref_args[@]}" \
        --out "$TMP/ref.json" 2>"$TMP/err"; then
        fail "$label" "reference: $(tail -n 1 "$TMP/err")"
        return
    fi
    if [[ -z $spec ]]; then
        if ! "$LESION" eval --model "$model" --file "$BUNDLED/heldout.txt" --max-tokens "$n" --ctx "$ctx" \
            --stride $((ctx / 2)) --by-position --json >"$TMP/eval.json" 2>"$TMP/err"; then
            fail "$label" "lesion eval: $(tail -n 1 "$TMP/err")"
            return
        fi
        compare "$label by position" "$TMP/eval.json" "$TMP/ref.json" position || failed=$((failed + 1))
    fi
    if ! "$LESION" attention --model "$model" --file "$BUNDLED/heldout.txt" --max-tokens "$n" --ctx "$ctx" \
        "${lesion_args[@]}" --json >"$TMP/att.json" 2>"$TMP/err"; then
        fail "$label" "lesion attention: $(tail -n 1 "$TMP/err")"
        return
    fi
    compare "$label attention" "$TMP/att.json" "$TMP/ref.json" attention "$side" || failed=$((failed + 1))
}

check "bundled" "$BUNDLED" 256 1025
check "bundled, attn.q@L0-3 zeroed" "$BUNDLED" 256 1025 "attn.q@L0-3"

rand=$TMP/random
if "$LESION" init --layers 4 --heads 4 --embd 64 --vocab 8192 --ctx 64 --seed 3 --out "$rand" >/dev/null; then
    cp "$BUNDLED/vocab.json" "$BUNDLED/merges.txt" "$rand/"
    check "random 4x4, ctx 48" "$rand" 48 193
else
    fail "random" "lesion init failed"
fi

[[ $failed -eq 0 ]] && echo "context_reference: all passed" || exit 1
