#!/usr/bin/env bash
# torch_rng.sh: proves that `--rng torch` writes exactly PyTorch's bytes.
#
# For slices of many shapes (numel < 16, numel % 16 != 0, a 768x768 W_Q,
# a 768x64 head, a 3072x768 MLP matrix), several seeds (including one above
# 2^32 and 2^64-1), torch thread counts 1-3 and torch's three CPU kernels
# (AVX2, its default here; ATEN_CPU_CAPABILITY=avx512 when the CPU has it;
# the portable one, ATEN_CPU_CAPABILITY=default), it compares
#     torch.manual_seed(S); torch.randn(R, C) * s.std() + s.mean()
# (tools/torch_randn.py) with src/lesion/torch_rng.c (through
# tests/lesion/torch_rng_driver.c) bit for bit: every output element, and
# torch's float32 mean and std. Plain torch.randn is compared too. Then
# `lesion export --rng torch` of the test fixture and the bundled model is
# compared, tensor by tensor, with the same lesion done in torch.
#
# Exit 0: all equal; 1: a case differs (one line each: elements that differ
# and by how many ulps); 77: skipped, no /usr/bin/python3 with torch.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

BUILD=${BUILD:-build}
PY=/usr/bin/python3
if ! why=$($PY -c 'import torch, numpy' 2>&1); then
    echo "SKIP: torch_rng: $PY cannot import torch and numpy (${why##*$'\n'})"
    exit 77
fi
DRIVER=$BUILD/tests/lesion/torch_rng_driver
if ! make --no-print-directory -s ${LESION_SANITIZED:+SAN=1} BUILD="$BUILD" "$DRIVER" >/dev/null; then
    echo "FAIL: torch_rng: cannot build $DRIVER"
    exit 1
fi

mkdir -p "$BUILD"
TMP=$(mktemp -d "$BUILD/torch_rng.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# case list: name seed rows cols threads kernel(avx2|avx512|default) input(mean,std or "-" for plain randn)
cat >"$TMP/cases" <<'EOF'
n2        0                    1    2    1 avx2   0.0001,0.02
n5        1                    1    5    1 avx2   -0.003,0.14
n15       42                   3    5    1 avx2   0.5,1.0
n16       7                    1   16    1 avx2   0,0.02
n16b      123456789            4    4    1 avx2   0.0001,0.14
n17       3                   17    1    1 avx2   -0.003,0.02
n35       4294967301           5    7    1 avx2   0.5,0.14
n300      18446744073709551615 3  100    1 avx2   0.0001,1.0
n4096     11                  64   64    1 avx2   -0.003,0.02
bias192   5                    1  192    1 avx2   0.0001,0.14
bias768   5                    1  768    1 avx2   0.01,0.02
sq192     2                  192  192    1 avx2   0.0001,0.14
sq192t2   2                  192  192    2 avx2   0.0001,0.14
qkv192    9                  192  576    1 avx2   -0.003,0.14
qkv192t3  9                  192  576    3 avx2   -0.003,0.14
head768   1                  768   64    1 avx2   0.0001,0.14
head768t2 1                  768   64    2 avx2   0.0001,0.14
wq768     0                  768  768    1 avx2   0.00002,0.14
wq768t2   0                  768  768    2 avx2   0.00002,0.14
wq768s1   1                  768  768    1 avx2   -0.0001,0.2
fc3072    8                 3072  768    1 avx2   0.0003,0.1
s5        1                    1    5    1 default -0.003,0.14
s17       3                   17    1    1 default -0.003,0.02
s4096     11                  64   64    1 default 0.0001,0.02
swq768    0                  768  768    1 default 0.00002,0.14
swq768t2  0                  768  768    2 default 0.00002,0.14
x17       3                   17    1    1 avx512 -0.003,0.02
x4096     11                  64   64    1 avx512 0.0001,0.02
xwq768    0                  768  768    1 avx512 0.00002,0.14
xwq768t2  0                  768  768    2 avx512 0.00002,0.14
xfc3072   8                 3072  768    3 avx512 0.0003,0.1
r1        9                    1    1    1 avx2   -
r15       9                    3    5    1 avx2   -
r1000     42                  10  100    1 avx2   -
r1000s    42                  10  100    1 default -
EOF

# torch picks AVX-512 kernels only when asked and the CPU has them.
kernels=(avx2 default)
cap=$(ATEN_CPU_CAPABILITY=avx512 $PY -c 'import torch; print(torch.__config__.show().split("CPU capability usage: ")[1].split()[0])' 2>/dev/null)
if [[ $cap == AVX512 ]]; then kernels+=(avx512); else echo "note: this CPU has no AVX-512: avx512 cases skipped"; fi

# Inputs (numpy, seeded) and one batch file for torch per kernel.
$PY - "$TMP" <<'EOF' || exit 1
import sys, numpy as np
tmp = sys.argv[1]
batch = {k: open(f"{tmp}/batch_{k}", "w") for k in ("avx2", "avx512", "default")}
for k, line in enumerate(open(f"{tmp}/cases")):
    name, seed, rows, cols, threads, kernel, inp = line.split()
    args = f"--seed {seed} --rows {rows} --cols {cols} --threads {threads} --out {tmp}/{name}.ref"
    if inp != "-":
        mean, std = map(float, inp.split(","))
        x = np.random.default_rng(1000 + k).standard_normal(int(rows) * int(cols)) * std + mean
        x.astype("<f4").tofile(f"{tmp}/{name}.in")
        args += f" --in {tmp}/{name}.in"
    batch[kernel].write(args + "\n")
EOF
for k in "${kernels[@]}"; do
    ATEN_CPU_CAPABILITY=$k $PY tools/torch_randn.py --batch "$TMP/batch_$k" >"$TMP/stats_$k" || exit 1
done

passed=0 failed=0 skipped=0
declare -A line_no=([avx2]=0 [avx512]=0 [default]=0)
while read -r name seed rows cols threads kernel inp; do
    n=$((rows * cols))
    if [[ ! -f $TMP/stats_$kernel ]]; then skipped=$((skipped + 1)); continue; fi
    flags=(--threads "$threads" --kernel "$kernel")
    in=-
    [[ $inp != - ]] && in=$TMP/$name.in
    ours=$("$DRIVER" "${flags[@]}" "$seed" "$n" "$in" "$TMP/$name.out") || { echo "FAIL $name: driver failed"; failed=$((failed + 1)); continue; }
    line_no[$kernel]=$((line_no[$kernel] + 1))
    theirs=$(sed -n "${line_no[$kernel]}p" "$TMP/stats_$kernel")
    [[ $inp == - ]] && theirs="mean 00000000 std 00000000"
    if [[ $ours != "$theirs" ]]; then
        echo "FAIL $name: statistics differ: torch $theirs, lesion $ours"
        failed=$((failed + 1))
    elif ! cmp -s "$TMP/$name.ref" "$TMP/$name.out"; then
        echo "FAIL $name ($rows x $cols, seed $seed, $kernel, $threads threads): $($PY -c '
import sys, numpy as np
a = np.fromfile(sys.argv[1], dtype="<i4").astype(np.int64); b = np.fromfile(sys.argv[2], dtype="<i4").astype(np.int64)
d = np.abs(a - b); bad = np.nonzero(d)[0]
print(f"{len(bad)} of {len(a)} elements differ, max {d.max()} ulp, first at {bad[:5].tolist()}")' "$TMP/$name.ref" "$TMP/$name.out")"
        failed=$((failed + 1))
    else
        echo "ok   $name ($rows x $cols, seed $seed, $kernel, $threads threads): $n elements bitwise equal, $ours"
        passed=$((passed + 1))
    fi
done <"$TMP/cases"

# The whole path, CLI to file: `lesion export --rng torch` against the same
# lesion done in torch on the checkpoint (each block its own manual_seed).
# blocks: tensor row0 rows col0 cols (HF names; C = n_embd, D = C / n_head).
LESION=${LESION:-$BUILD/lesion}
export_case() { # label model spec seed rng flags... -- python block list
    local label=$1 model=$2 spec=$3 seed=$4 rng=$5 threads=$6 blocks=$7
    shift 7
    local out=$TMP/export_$label
    if ! "$LESION" export --model "$model" --lesion "$spec" --lesion-seed "$seed" --rng "$rng" "$@" --out "$out" >"$TMP/export.log" 2>&1; then
        echo "FAIL export $label: lesion export failed: $(tail -n 2 "$TMP/export.log")"
        failed=$((failed + 1))
        return
    fi
    if msg=$($PY - "$model/model.safetensors" "$out/model.safetensors" "$seed" "$threads" "$blocks" <<'PYEOF'
import sys, numpy as np, torch
sys.path.insert(0, "tools")
import safetensors_np as st
clean, _ = st.load(sys.argv[1]); les, _ = st.load(sys.argv[2])
seed, threads = int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
strip = lambda k: k[len("transformer."):] if k.startswith("transformer.") else k
clean = {strip(k): v.astype(np.float32) for k, v in clean.items()}
les = {strip(k): v for k, v in les.items()}
want = {k: torch.from_numpy(v.copy()) for k, v in clean.items()}
for line in sys.argv[5].split(";"):
    name, r0, nr, c0, nc = line.split()
    r0, nr, c0, nc = map(int, (r0, nr, c0, nc))
    w = want[name] if want[name].dim() == 2 else want[name].view(1, -1)
    s = w[r0:r0 + nr, c0:c0 + nc].contiguous()
    torch.manual_seed(seed)
    w[r0:r0 + nr, c0:c0 + nc] = torch.randn(s.shape) * s.std() + s.mean()
bad = [k for k in clean if k in les or print("missing", k)
       if not np.array_equal(want[k].numpy().view(np.int32), les[k].view(np.int32))]
n = sum(int((want[k].numpy().view(np.int32) != les[k].view(np.int32)).sum()) for k in bad)
print(f"{len(bad)} tensors differ ({n} elements): {bad[:4]}" if bad else f"{len(clean)} tensors bitwise equal")
sys.exit(1 if bad else 0)
PYEOF
    ); then
        echo "ok   export $label ($spec, $rng, seed $seed): $msg"
        passed=$((passed + 1))
    else
        echo "FAIL export $label ($spec, $rng, seed $seed): $msg"
        failed=$((failed + 1))
    fi
}
if [[ -x $LESION ]]; then
    T=tests/fixtures/tiny-gpt2 # C = 16, 2 heads, D = 8
    export_case tiny_q "$T" attn.q@L0-1 42 torch 1 "h.0.attn.c_attn.weight 0 16 0 16;h.1.attn.c_attn.weight 0 16 0 16"
    export_case tiny_k_bias "$T" attn.k@L1H1 7 torch 1 \
        "h.1.attn.c_attn.weight 0 16 24 8;h.1.attn.c_attn.bias 0 1 24 8" --with-bias
    export_case tiny_o_heads "$T" attn.o@L0 3 torch 1 "h.0.attn.c_proj.weight 0 8 0 16;h.0.attn.c_proj.weight 8 8 0 16" \
        --match head
    export_case tiny_fc_bias "$T" mlp.fc@L1D3-9 5 torch 1 "h.1.mlp.c_fc.weight 0 16 3 7;h.1.mlp.c_fc.bias 0 1 3 7" --with-bias
    export_case tiny_wte "$T" wte@D0-3 9 torch 1 "wte.weight 0 64 0 4"
    K=models/kjv-gpt2 # C = 288, 12 heads, D = 24
    if [[ -f $K/model.safetensors ]]; then
        export_case kjv_q_t2 "$K" attn.q@L0 1 torch:2 2 "h.0.attn.c_attn.weight 0 288 0 288"
        export_case kjv_v_heads "$K" attn.v@L5H2,7 11 torch 1 \
            "h.5.attn.c_attn.weight 0 288 624 24;h.5.attn.c_attn.weight 0 288 744 24" --match head
        export_case kjv_fc "$K" mlp.fc@L11 2 torch 1 "h.11.mlp.c_fc.weight 0 288 0 1152"
    fi
else
    echo "note: $LESION is not built: the export cases are skipped"
    skipped=$((skipped + 1))
fi

echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
