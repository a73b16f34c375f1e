#!/usr/bin/env bash
# family_reference.sh: proves that lesion computes the Llama family (llama,
# mistral, qwen2) and GPT-NeoX exactly, by comparing every logit of `lesion
# logits` with the independent PyTorch references (tools/reference_llama.py,
# tools/reference_neox.py, float64) on random checkpoints in each family's
# exact download layout (tools/make_family_checkpoint.py): grouped-query
# attention with 1 and 2 groups, tied and untied heads, head_dim other than
# C/H, llama3 and linear rope scaling, qwen2's biases, a Mistral sliding
# window shorter than the sequence, GPT-NeoX parallel and sequential with
# partial rotary, shards, F16 and BF16 storage, stored buffers; clean and
# with zero ablations of every component the family has (the reference
# zeroes the same rows). A case passes when max |delta logit| <= 1e-3 and the
# argmax agrees everywhere (tools/compare_npy.py), and the ablation really
# moved the logits (so a spec that selected nothing would fail).
# Exit 0 pass, 1 fail, 77 skip (no torch).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

BUILD=${BUILD:-build}
PY=/usr/bin/python3
LESION=${LESION:-$BUILD/lesion}

if ! why=$($PY -c 'import torch, numpy, regex' 2>&1); then
    echo "SKIP: family_reference: $PY cannot import torch, numpy and regex (${why##*$'\n'})"
    exit 77
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/family_reference.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

IDS=$($PY -c 'import random; r = random.Random(7); print(",".join(str(r.randrange(250)) for _ in range(40)))')
echo "$IDS" | tr ',' ' ' >"$TMP/ids.txt"

# make NAME FAMILY ARGS...: a checkpoint in $TMP/NAME.
make_ckpt() {
    local name=$1 fam=$2
    shift 2
    if ! $PY tools/make_family_checkpoint.py --family "$fam" --out "$TMP/$name" --vocab 260 --ctx 64 "$@" \
        >"$TMP/make.log" 2>&1; then
        fail "$name" "make_family_checkpoint: $(tail -n 1 "$TMP/make.log")"
        return 1
    fi
}

# check NAME FAMILY [SPEC [STORAGE]]: lesion vs the reference on $IDS, clean or with SPEC zeroed on
# both sides; STORAGE bf16: lesion stores the matrices as bf16, the reference rounds them with torch.
check() {
    local name=$1 fam=$2 spec=${3:-} storage=${4:-f32} ref=tools/reference_llama.py label=$1
    [[ $fam == gpt_neox ]] && ref=tools/reference_neox.py
    local largs=(--weights "$storage") rargs=()
    [[ $storage == bf16 ]] && rargs=(--round-bf16) label="$label, --weights bf16"
    if [[ -n $spec ]]; then
        largs+=(--lesion "$spec" --mode zero)
        rargs+=(--zero "$spec")
        label="$label, $spec zeroed"
    fi
    rm -f "$TMP/got.npy" "$TMP/ref.npy"
    if ! "$LESION" logits --model "$TMP/$name" --ids "$IDS" --out "$TMP/got.npy" "${largs[@]}" >/dev/null 2>"$TMP/err"; then
        fail "$label" "lesion logits: $(tail -n 1 "$TMP/err")"
        return
    fi
    if ! $PY "$ref" --model "$TMP/$name" --ids-file "$TMP/ids.txt" --out "$TMP/ref.npy" "${rargs[@]}" 2>"$TMP/err"; then
        fail "$label" "reference: $(tail -n 1 "$TMP/err")"
        return
    fi
    if ! out=$($PY tools/compare_npy.py "$TMP/got.npy" "$TMP/ref.npy" --tol 1e-3 2>&1); then
        fail "$label" "$out"
        return
    fi
    if [[ $storage != f32 ]]; then
        : # compared with its own reference above; the clean fp32 logits are not its baseline
    elif [[ -n $spec ]]; then # the ablation must change something
        if $PY -c 'import numpy as n, sys; a = n.load(sys.argv[1]); b = n.load(sys.argv[2]); sys.exit(0 if n.abs(a - b).max() > 1e-3 else 1)' \
            "$TMP/got.npy" "$TMP/$name.clean.npy"; then :; else
            fail "$label" "zeroing $spec did not move the logits (the spec selected nothing?)"
            return
        fi
    else
        cp "$TMP/got.npy" "$TMP/$name.clean.npy"
    fi
    echo "ok   $label: $out"
    passed=$((passed + 1))
}

# Llama: GQA with 2 groups (4 query heads over 2 kv heads), llama3 rope, untied.
if make_ckpt llama llama --hidden 32 --heads 4 --kv-heads 2 --layers 2 --rope-scaling llama3; then
    for s in "" attn.q@L0H1 attn.k@L1H0 attn.v@L0 attn.o@L1H3 mlp.gate@L0 mlp.up@L1 mlp.down@L0 ln1@L1 ln2@L0 lnf \
        wte@D0-7 head@D2-5; do check llama llama "$s"; done
fi
# Llama, multi-query (1 kv head), head_dim 16 != C/H, tied, linear rope, BF16, two shards, stored buffers.
if make_ckpt llama_mq llama --hidden 24 --heads 3 --kv-heads 1 --head-dim 16 --layers 2 --tied --rope-scaling linear \
    --dtype BF16 --shards 2 --buffers; then
    for s in "" attn.k@L0H0 attn.q@L1H2 wte@D1; do check llama_mq llama "$s"; done
fi
# bf16 storage of the matrices (clean and lesioned) against torch's bf16 rounding.
if [[ -d $TMP/llama ]]; then check llama llama "" bf16; check llama llama attn.q@L1 bf16; fi
# Mistral with a sliding window of 8 over 40 tokens, F16.
if make_ckpt mistral mistral --hidden 32 --heads 4 --kv-heads 2 --layers 2 --sliding-window 8 --dtype F16; then
    for s in "" attn.v@L1H1; do check mistral mistral "$s"; done
fi
# Qwen2: q/k/v biases, tied.
if make_ckpt qwen2 qwen2 --hidden 32 --heads 4 --kv-heads 2 --layers 2 --tied; then
    for s in "" attn.q@L0H2 attn.k@L1; do check qwen2 qwen2 "$s"; done
    check qwen2 qwen2 "" # (clean again: the reference with --with-bias below)
fi
# GPT-NeoX: parallel residual, partial rotary (25%), untied.
if make_ckpt neox gpt_neox --hidden 32 --heads 4 --layers 2 --rotary-pct 0.25; then
    for s in "" attn.q@L0H1 attn.k@L1H3 attn.v@L0H0,2 attn.o@L1H2 mlp.fc@L0 mlp.proj@L1 ln1@L0 ln2@L1 lnf \
        wte@D4 head; do check neox gpt_neox "$s"; done
fi
# GPT-NeoX: sequential residual, full rotary, shards, buffers.
if make_ckpt neox_seq gpt_neox --hidden 32 --heads 2 --layers 3 --parallel-residual false --rotary-pct 1 \
    --shards 3 --buffers; then
    for s in "" attn.q@L2; do check neox_seq gpt_neox "$s"; done
fi

# Export keeps every family's names and layout: the exported lesioned model,
# merged or with its shards kept, gives bitwise the in-memory lesioned logits.
if [[ -d $TMP/llama_mq ]]; then
    for keep in "" --keep-shards; do
        out=$TMP/exported$keep
        if "$LESION" export --model "$TMP/llama_mq" --lesion attn.k@L1 --lesion mlp.up@L0 --mode zero --out "$out" $keep \
            >/dev/null 2>"$TMP/err" &&
            "$LESION" logits --model "$TMP/llama_mq" --ids "$IDS" --lesion attn.k@L1 --lesion mlp.up@L0 --mode zero \
                --out "$TMP/a.npy" >/dev/null 2>>"$TMP/err" &&
            "$LESION" logits --model "$out" --ids "$IDS" --out "$TMP/b.npy" >/dev/null 2>>"$TMP/err" &&
            cmp -s "$TMP/a.npy" "$TMP/b.npy"; then
            shards=$(ls "$out" | grep -c 'safetensors$')
            echo "ok   export${keep:+ $keep} of a lesioned sharded llama: bitwise the in-memory logits ($shards file(s))"
            passed=$((passed + 1))
        else
            fail "export${keep:+ $keep}" "$(tail -n 1 "$TMP/err")"
        fi
    done
fi

echo
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
