#!/usr/bin/env bash
# reference_logits.sh: proves that `lesion logits` computes GPT-2, clean and
# zero-ablated, by comparing every logit with an independent PyTorch forward
# pass (tools/reference_gpt2.py, float64) on checkpoints that exercise the
# loader's variants: keys with and without "transformer.", float and bool
# attn.bias buffers, attn.masked_bias, a stored lm_head.weight, F16 and BF16
# storage, two head sizes, lesion's own bf16 weight storage (against torch's
# bfloat16 rounding), --compute bf16 (against a reference that also rounds
# the input of every weight product to bfloat16, to BF16_COMPUTE_TOL); and on
# the bundled models/kjv-gpt2 when it exists.
#
# A case passes when max |delta| <= 1e-3 and the argmax agrees at every
# position (tools/compare_npy.py). Exit 0: all passed; 1: a case failed (one
# line each says why); 77: skipped, no /usr/bin/python3 with torch (which
# scripts/setup-deps.sh installs).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

BUILD=${BUILD:-build}
PY=/usr/bin/python3
LESION=${LESION:-$BUILD/lesion}

if ! why=$($PY -c 'import torch, numpy' 2>&1); then
    echo "SKIP: reference_logits: $PY cannot import torch and numpy (${why##*$'\n'})"
    exit 77
fi
if [[ ! -x $LESION ]]; then
    echo "FAIL: reference_logits: $LESION is not built"
    echo "0 passed, 1 failed"
    exit 1
fi

mkdir -p "$BUILD"
TMP=$(mktemp -d "$BUILD/reference_logits.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0

fail() { # label, reason
    echo "FAIL $1: $2"
    failed=$((failed + 1))
}

# check LABEL MODEL_DIR IDS_FILE [SPEC] [bf16|bf16-compute]: lesion vs the
# reference on the ids in IDS_FILE, clean, or with SPEC zero-ablated on both
# sides; with bf16, lesion stores the matrices as bf16 and the reference
# rounds them with torch; with bf16-compute, lesion also runs --compute bf16
# and the reference rounds the input of every weight product to bf16 too.
# That case compares to BF16_COMPUTE_TOL, not 1e-3: near a rounding boundary
# lesion's fp32 activation and the reference's float64 one can round to
# neighbouring bf16 values (measured on the bundled model, 256 tokens:
# 3.7e-3 from the rounded reference, 2.7e-2 from the unrounded one).
BF16_COMPUTE_TOL=6e-3
# On a trained 12-layer model the flips add up, and how many there are
# depends on the fp32 parts of the pass (attention runs on the BLAS, whose
# kernel differs between CPUs, and a one-ulp change there moves a bf16
# rounding): for the bundled model (256 tokens) lesion was 0.048 from the
# reference with bf16 weights only on one machine and 0.106 on an AMD EPYC
# with OpenBLAS's Cooperlake kernel (logits span +-23). So a
# bf16-compute-cost case checks the cost of the mode, not its exactness
# (which the c48h6 case and tests/kernels assert): within
# BF16_COMPUTE_COST of the bf16-weights reference (about 1% of the logits'
# range), argmax agreeing.
BF16_COMPUTE_COST=0.25
check() {
    local label=$1 dir=$2 ids_file=$3 spec=${4:-} storage=${5:-f32}
    local got=$TMP/got.npy ref=$TMP/ref.npy err=$TMP/err.txt
    local lesion_args=(--weights "${storage%-compute}") ref_args=() cmp_args=() moved_args=()
    if [[ -n $spec ]]; then
        lesion_args+=(--lesion "$spec" --mode zero)
        ref_args=(--zero "$spec")
    fi
    [[ $storage == bf16* ]] && ref_args+=(--round-bf16)
    if [[ $storage == bf16-compute ]]; then
        lesion_args+=(--compute bf16)
        moved_args=("${ref_args[@]}")
        ref_args+=(--round-activations-bf16)
        cmp_args=(--tol $BF16_COMPUTE_TOL --tie-gap $BF16_COMPUTE_TOL)
    elif [[ $storage == bf16-compute-cost ]]; then
        lesion_args=(--weights bf16 --compute bf16 "${lesion_args[@]:2}")
        cmp_args=(--tol $BF16_COMPUTE_COST --tie-gap $BF16_COMPUTE_COST)
    fi
    rm -f "$got" "$ref"
    if ! "$LESION" logits --model "$dir" --ids "$(tr -s ' \n' ',' <"$ids_file" | sed 's/,$//')" \
        --out "$got" "${lesion_args[@]}" >/dev/null 2>"$err"; then
        fail "$label" "lesion logits failed: $(tail -n 1 "$err")"
        return
    fi
    if ! $PY tools/reference_gpt2.py --model "$dir" --ids-file "$ids_file" --out "$ref" \
        "${ref_args[@]}" 2>"$err"; then
        fail "$label" "reference failed: $(tail -n 1 "$err")"
        return
    fi
    local line
    if ! line=$($PY tools/compare_npy.py "$got" "$ref" "${cmp_args[@]}" 2>&1); then
        fail "$label" "$(tail -n 1 <<<"$line")"
        return
    fi
    # An ablation (or the bf16 rounding) must move the logits, or agreeing on it proves nothing.
    # For bf16-compute: the rounding of the activations alone, by more than twice the tolerance.
    local moved_by=1e-2
    [[ $storage == bf16-compute ]] && moved_by=$(awk -v t=$BF16_COMPUTE_TOL 'BEGIN { print 2 * t }')
    if [[ $storage != bf16-compute-cost ]] && [[ -n $spec || $storage == bf16* ]] && ! { $PY tools/reference_gpt2.py --model "$dir" --ids-file "$ids_file" \
        --out "$TMP/clean.npy" "${moved_args[@]}" 2>"$err" && $PY -c 'import sys, numpy as np
sys.exit(int(np.abs(np.load(sys.argv[1]) - np.load(sys.argv[2])).max() <= float(sys.argv[3])))' "$ref" "$TMP/clean.npy" $moved_by; }; then
        fail "$label" "${spec:-bf16 rounding} does not change the reference logits by $moved_by, so this case proves nothing"
        return
    fi
    echo "ok   $label: $line"
    passed=$((passed + 1))
}

# kjv_ids DIR TEXT OUT: the first n_ctx ids of TEXT as lesion tokenizes it.
kjv_ids() {
    "$LESION" tokenize --model "$1" --file "$2" --json >"$TMP/ids.json" 2>"$TMP/err.txt" || {
        echo "lesion tokenize failed: $(tail -n 1 "$TMP/err.txt")"
        return 1
    }
    $PY -c 'import json, sys
cfg = json.load(open(sys.argv[1] + "/config.json"))
ids = json.load(open(sys.argv[2]))["ids"][:cfg.get("n_positions", cfg.get("n_ctx"))]
open(sys.argv[3], "w").write(" ".join(map(str, ids)) + "\n")' "$1" "$TMP/ids.json" "$3" 2>&1 || {
        echo "cannot read the output of lesion tokenize --json"
        return 1
    }
}

# Token id sequences: 1 token, 7 tokens, and the full 64-token context.
$PY - "$TMP" <<'EOF'
import sys, numpy as np
rng = np.random.default_rng(7)
for n in (1, 7, 64):
    with open("%s/ids%d.txt" % (sys.argv[1], n), "w") as f:
        f.write(" ".join(str(int(i)) for i in rng.integers(0, 97, n)) + "\n")
EOF

# name: make_checkpoint.py arguments (all with ctx 64 and vocab 97).
models=(
    "plain:        --layers 3 --heads 4 --embd 32"
    "prefix:       --layers 3 --heads 4 --embd 32 --prefix"
    "float-mask:   --layers 3 --heads 4 --embd 32 --attn-bias float --masked-bias"
    "bool-mask:    --layers 3 --heads 4 --embd 32 --attn-bias bool --prefix"
    "lm-head:      --layers 3 --heads 4 --embd 32 --lm-head --prefix"
    "f16:          --layers 3 --heads 4 --embd 32 --dtype F16 --attn-bias float --masked-bias"
    "bf16:         --layers 3 --heads 4 --embd 32 --dtype BF16 --attn-bias bool --prefix"
    "c48h6:        --layers 3 --heads 6 --embd 48"
)
seed=1
for m in "${models[@]}"; do
    name=${m%%:*}
    # shellcheck disable=SC2086  # the argument list is split on purpose
    if ! $PY tools/make_checkpoint.py ${m#*:} --vocab 97 --ctx 64 --std 0.2 --seed $seed \
        --out "$TMP/$name" 2>"$TMP/err.txt"; then
        fail "$name" "make_checkpoint failed: $(tail -n 1 "$TMP/err.txt")"
        continue
    fi
    seed=$((seed + 1))
    for n in 1 7 64; do
        check "$name T=$n" "$TMP/$name" "$TMP/ids$n.txt"
    done
done

# Zero ablations on the 6-head model, the whole context; bf16 storage, with
# one token (the decode kernels) and 64 (the panel kernels).
if [[ -d $TMP/c48h6 ]]; then
    for spec in attn.q@L0-2 attn.k@L1H3 attn.v@L2H0,5 attn.o@L1H2; do
        check "c48h6 zero $spec" "$TMP/c48h6" "$TMP/ids64.txt" "$spec"
    done
    for n in 1 64; do
        check "c48h6 T=$n --weights bf16" "$TMP/c48h6" "$TMP/ids$n.txt" "" bf16
    done
    check "c48h6 T=64 --weights bf16, zero attn.v@L2H0,5" "$TMP/c48h6" "$TMP/ids64.txt" attn.v@L2H0,5 bf16
    check "c48h6 T=64 --weights bf16 --compute bf16" "$TMP/c48h6" "$TMP/ids64.txt" "" bf16-compute
fi

# The bundled model, on a full context of held-out text. Copied first: it may
# be rewritten by a training run while the test reads it.
kjv=models/kjv-gpt2
if [[ -f $kjv/model.safetensors ]]; then
    mkdir -p "$TMP/kjv"
    cp "$kjv/config.json" "$kjv/model.safetensors" "$kjv/vocab.json" "$kjv/merges.txt" "$TMP/kjv/"
    head -c 4000 "$kjv/heldout.txt" >"$TMP/kjv-text.txt"
    if why=$(kjv_ids "$TMP/kjv" "$TMP/kjv-text.txt" "$TMP/kjv-ids.txt"); then
        n=$(wc -w <"$TMP/kjv-ids.txt")
        check "kjv-gpt2 heldout T=$n" "$TMP/kjv" "$TMP/kjv-ids.txt"
        check "kjv-gpt2 heldout T=$n zero attn.o@L1H2" "$TMP/kjv" "$TMP/kjv-ids.txt" attn.o@L1H2
        check "kjv-gpt2 heldout T=$n --weights bf16" "$TMP/kjv" "$TMP/kjv-ids.txt" "" bf16
        check "kjv-gpt2 heldout T=$n --weights bf16, zero attn.q@L0-5" "$TMP/kjv" "$TMP/kjv-ids.txt" attn.q@L0-5 bf16
        check "kjv-gpt2 heldout T=$n --weights bf16 --compute bf16 (cost)" "$TMP/kjv" "$TMP/kjv-ids.txt" "" bf16-compute-cost
    else
        fail "kjv-gpt2" "${why##*$'\n'}"
    fi
else
    echo "note: $kjv/model.safetensors not found; the bundled model is not checked"
fi

echo "$passed passed, $failed failed"
((failed == 0))
