#!/usr/bin/env bash
# sites_reference.sh: proves that every named activation site holds what its
# name says, and that activation interventions do what they say, against the
# independent PyTorch references' intermediates (tools/reference_*.py --dump,
# float64):
#   - `lesion activations` of every site at every layer, on the bundled GPT-2
#     and on random Llama (grouped-query, rotary, SwiGLU) and GPT-NeoX
#     (parallel residual, partial rotary) checkpoints: max |delta| <= 1e-4
#     times max(1, max |reference|) per site;
#   - patching identities, bitwise: a patch from the same input is the clean
#     run; patching resid_pre@L0 at every position from input B gives B's
#     logits;
#   - zeroing attn.z@L1H2 (the hook) equals the reference with the rows of
#     W_o that read head 2 zeroed (attn.o@L1H2), within 1e-4, and moves the logits.
# Exit 0 pass, 1 fail, 77 skip (no torch).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

BUILD=${BUILD:-build}
PY=/usr/bin/python3
LESION=${LESION:-$BUILD/lesion}
if ! why=$($PY -c 'import torch, numpy, regex' 2>&1); then
    echo "SKIP: sites_reference: $PY cannot import torch, numpy and regex (${why##*$'\n'})"
    exit 77
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sites_reference.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
passed=0 failed=0
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

IDS=$($PY -c 'import random; r = random.Random(11); print(",".join(str(r.randrange(250)) for _ in range(24)))')
echo "$IDS" | tr ',' ' ' >"$TMP/ids.txt"
SITES=(resid_pre ln1.out attn.q attn.k attn.v attn.pattern attn.z attn.out resid_mid ln2.out mlp.pre mlp.up mlp.post
    mlp.out resid_post)

# sites LABEL MODEL REFERENCE: every site of the model vs the reference's dump.
sites() {
    local label=$1 model=$2 ref=$3 args=()
    local have
    have=$("$LESION" activations --model "$model" --ids 1 --site bogus --out "$TMP/x" 2>&1 | sed 's/.*it has: //; s/)$//')
    for s in "${SITES[@]}"; do
        [[ ", $have," == *", $s,"* ]] && args+=(--site "$s@all")
    done
    args+=(--site lnf.out --site logits)
    rm -rf "$TMP/got" "$TMP/ref"
    if ! "$LESION" activations --model "$model" --ids "$IDS" "${args[@]}" --out "$TMP/got" 2>"$TMP/err"; then
        fail "$label" "lesion activations: $(tail -n 1 "$TMP/err")"
        return
    fi
    if ! $PY "$ref" --model "$model" --ids-file "$TMP/ids.txt" --dump "$TMP/ref" 2>"$TMP/err"; then
        fail "$label" "reference: $(tail -n 1 "$TMP/err")"
        return
    fi
    if out=$($PY - "$TMP/got" "$TMP/ref" <<'EOF'
import os, sys
import numpy as np
got_dir, ref_dir = sys.argv[1:]
worst, bad, n = ("", 0.0), [], 0
for name in sorted(os.listdir(got_dir)):
    g = np.load(os.path.join(got_dir, name)).astype(np.float64)
    r = np.load(os.path.join(ref_dir, name)).astype(np.float64)
    site = name.split("@")[0]
    if site in ("attn.q", "attn.k", "attn.v", "attn.z"):
        g = g.transpose(1, 0, 2)  # lesion (T,H,D), the reference (H,T,D)
    if g.shape != r.shape:
        bad.append("%s: shape %s vs %s" % (name, g.shape, r.shape))
        continue
    d = np.abs(g - r).max() / max(1.0, np.abs(r).max())
    n += 1
    if d > worst[1]:
        worst = (name, d)
    if not d <= 1e-4:
        bad.append("%s: scaled max |delta| %.3g" % (name, d))
print("%d site files, worst scaled max |delta| %.2e (%s)" % (n, worst[1], worst[0]))
if bad:
    print("; ".join(bad[:4]))
    sys.exit(1)
EOF
    ); then
        echo "ok   $label: $out"
        passed=$((passed + 1))
    else
        fail "$label" "$out"
    fi
}

sites "bundled gpt2" models/kjv-gpt2 tools/reference_gpt2.py
if $PY tools/make_family_checkpoint.py --family llama --out "$TMP/llama" --hidden 32 --heads 4 --kv-heads 2 --layers 2 \
    --vocab 260 --ctx 64 --rope-scaling llama3 >/dev/null 2>"$TMP/err"; then
    sites "llama (GQA, llama3 rope, SwiGLU)" "$TMP/llama" tools/reference_llama.py
else
    fail llama "make_family_checkpoint: $(tail -n 1 "$TMP/err")"
fi
if $PY tools/make_family_checkpoint.py --family gpt_neox --out "$TMP/neox" --hidden 32 --heads 4 --layers 2 --vocab 260 \
    --ctx 64 >/dev/null 2>"$TMP/err"; then
    sites "gpt_neox (parallel residual, partial rotary)" "$TMP/neox" tools/reference_neox.py
else
    fail neox "make_family_checkpoint: $(tail -n 1 "$TMP/err")"
fi

# Patching identities, bitwise.
B_IDS=$($PY -c 'import random; r = random.Random(12); print(",".join(str(r.randrange(250)) for _ in range(24)))')
M=models/kjv-gpt2
if "$LESION" logits --model $M --ids "$IDS" --out "$TMP/a.npy" 2>"$TMP/err" &&
    "$LESION" logits --model $M --ids "$IDS" --patch resid_post@all --from-ids "$IDS" --out "$TMP/b.npy" 2>>"$TMP/err" &&
    cmp -s "$TMP/a.npy" "$TMP/b.npy"; then
    echo "ok   patch resid_post@all from the same input: the clean logits, bitwise"
    passed=$((passed + 1))
else
    fail "patch from the same input" "differs from clean $(tail -n 1 "$TMP/err")"
fi
if "$LESION" logits --model $M --ids "$B_IDS" --out "$TMP/c.npy" 2>"$TMP/err" &&
    "$LESION" logits --model $M --ids "$IDS" --patch resid_pre@L0 --from-ids "$B_IDS" --out "$TMP/d.npy" 2>>"$TMP/err" &&
    cmp -s "$TMP/c.npy" "$TMP/d.npy" && ! cmp -s "$TMP/a.npy" "$TMP/c.npy"; then
    echo "ok   patch resid_pre@L0 at every position from input B: B's logits, bitwise"
    passed=$((passed + 1))
else
    fail "full residual patch" "not B's logits $(tail -n 1 "$TMP/err")"
fi

# Zeroing a head's output through the hook = the reference without the rows of W_o that read it.
if "$LESION" logits --model $M --ids "$IDS" --ablate attn.z@L1H2 --out "$TMP/e.npy" 2>"$TMP/err" &&
    $PY tools/reference_gpt2.py --model $M --ids-file "$TMP/ids.txt" --zero attn.o@L1H2 --out "$TMP/f.npy" 2>>"$TMP/err" &&
    out=$($PY tools/compare_npy.py "$TMP/e.npy" "$TMP/f.npy" --tol 1e-4 2>&1) &&
    $PY -c 'import numpy as n, sys; sys.exit(0 if n.abs(n.load(sys.argv[1]) - n.load(sys.argv[2])).max() > 1e-3 else 1)' \
        "$TMP/e.npy" "$TMP/a.npy"; then
    echo "ok   --ablate attn.z@L1H2 (zero) vs the reference with attn.o@L1H2 zeroed: $out"
    passed=$((passed + 1))
else
    fail "ablate attn.z@L1H2" "${out:-} $(tail -n 1 "$TMP/err")"
fi

echo
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
