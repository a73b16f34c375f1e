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
# Usage: bash bench/run.sh [--smoke]
#   --smoke   a 2-layer model and one round, to check the harness in seconds;
#             writes build/bench/results-smoke.json, never bench/results.json
# Environment: BUILD (default build), BENCH_ROUNDS (default 3; 5 takes about 1.6x longer).
# OPENBLAS_* and OMP_* are left as they are and recorded in the results.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=2
STEPS=128
PY=/usr/bin/python3
OUT=$BUILD/bench
SMOKE=0
[ "${1:-}" = "--smoke" ] && SMOKE=1
mkdir -p "$OUT"
t_begin=$(date +%s.%N)

# The Makefile's value of a variable, so the harness compiles exactly like the library.
mkvar() { make -s --no-print-directory BUILD="$BUILD" --eval "bench-print-$1: ; @echo \$($1)" "bench-print-$1"; }
BL=$OUT/bench_lesion
# shellcheck disable=SC2046
$(mkvar CC) $(mkvar CFLAGS) bench/bench_lesion.c "$BUILD/liblesion.a" $(mkvar LDFLAGS) $(mkvar LDLIBS) -o "$BL"

if [ $SMOKE = 1 ]; then
    MODEL=$OUT/smoke ROUNDS=1 RESULTS=$OUT/results-smoke.json
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
    line=$("$@")
    echo "${line%\}}, \"wall_secs\": $(secs_since "$t0")}" >>"$RAW"
}
lesion() { record "$BL" --model "$MODEL" --threads $THREADS "$@"; }
torch() { record $PY tools/bench_torch.py --model "$MODEL" --threads $THREADS "$@"; }

# sgemm runs every round too: the peak is the best rate seen during the whole run.
# prefill-1x1024 and decode also run lesion with bf16 weights (--weights bf16),
# for the bf16 decode row and the peak RSS, and decode with the fp32 weights
# copied into huge pages (--weights f32-copy); PyTorch stays fp32.
for w in sgemm prefill-1x1024 prefill-8x128 decode first-token; do
    echo "bench: $w ($ROUNDS rounds)" >&2
    for ((r = 0; r < ROUNDS; r++)); do
        if [ $w = sgemm ]; then
            lesion --workload $w --warmup 2 --reps 5
            torch --workload $w --warmup 2 --reps 5
        else
            lesion --workload $w --warmup 1 --reps 1 --steps $STEPS
            torch --workload $w --warmup 1 --reps 1 --steps $STEPS
            if [ $w = decode ] || [ $w = prefill-1x1024 ]; then
                lesion --workload $w --warmup 1 --reps 1 --steps $STEPS --weights bf16
            fi
            if [ $w = decode ]; then
                lesion --workload $w --warmup 1 --reps 1 --steps $STEPS --weights f32-copy
            fi
        fi
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

$PY bench/report.py "$RAW" --out "$RESULTS" --model "$MODEL" --load "$load" \
    --total-secs "$(secs_since "$t_begin")" --sweep-note "$sweep_note"
