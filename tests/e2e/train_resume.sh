#!/usr/bin/env bash
# train_resume.sh: an interrupted training run, resumed, is the same run.
#
# tools/train_kjv.py promises that `--resume` continues "the same trajectory
# as one uninterrupted run" (the bundled model was trained in pieces). On a
# tiny configuration (2 layers, n_embd 16, context 32, dropout 0.1 so the
# RNG state matters too), 8 steps in one go and 4 steps + --resume + 4 steps
# must write bitwise the same model.safetensors; and a resume whose
# trajectory arguments differ from the checkpoint's is refused in one line.
# Exit 0 pass, 1 fail; last line "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/train_resume.XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

M=models/kjv-gpt2
mkdir -p "$T/data"
cp "$M/vocab.json" "$M/merges.txt" "$T/data/"
head -c 20000 "$M/heldout.txt" > "$T/data/train.txt"
tail -c 6000 "$M/heldout.txt" > "$T/data/heldout.txt"

train() { # OUT EXTRA...: the same trajectory every time
    local out=$1; shift
    "$PY" tools/train_kjv.py --data "$T/data" --out "$out" --n-layer 2 --n-head 2 --n-embd 16 --n-ctx 32 \
        --batch 2 --dropout 0.1 --steps 8 --warmup 2 --log-every 2 --eval-every 1000 --eval-windows 2 \
        --threads 1 --seed 7 --no-final "$@" > "$out.log" 2>&1
}

if train "$T/whole" && train "$T/parts" --stop-after 4 && cp "$T/parts/model.safetensors" "$T/step4.safetensors" &&
    train "$T/parts" --resume; then
    ok "8 steps, and 4 + --resume + 4 steps, both ran"
    if cmp -s "$T/whole/model.safetensors" "$T/parts/model.safetensors"; then
        ok "resumed run's model.safetensors is bitwise the uninterrupted run's"
    else
        bad "resumed run's model.safetensors differs from the uninterrupted run's"
    fi
    if grep -q "resumed from .* at step 4" "$T/parts.log"; then ok "the resume started at step 4"; else bad "no 'resumed ... at step 4' in the log"; fi
    if ! cmp -s "$T/whole/model.safetensors" "$T/step4.safetensors"; then
        ok "steps 5-8 changed the weights (so the equality above says something)"
    else
        bad "the model after 4 steps equals the one after 8"
    fi
else
    bad "training failed: $(tail -n 3 "$T"/*.log | tr '\n' ' ')"
fi

if train "$T/parts" --resume --lr 5e-4; then
    bad "a resume with a different --lr was accepted"
elif grep -q -- "--resume with --lr" "$T/parts.log" && [ "$(grep -c . "$T/parts.log")" -ge 1 ]; then
    ok "a resume with a different --lr is refused naming the argument"
else
    bad "a resume with a different --lr failed without naming it: $(tail -n 1 "$T/parts.log")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
