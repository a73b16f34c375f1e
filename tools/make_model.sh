#!/bin/bash
# make_model.sh: rebuilds the bundled model models/kjv-gpt2 from scratch.
#
# corpus (Debian's bible-kjv) -> byte-level BPE (8192 tokens) -> 12-layer GPT-2.
# Intermediate files go to build/kjv/; the model directory gets config.json,
# model.safetensors, vocab.json, merges.txt, heldout.txt, train_log.tsv and
# samples_torch.txt. Training takes about 2.5 hours on 2 CPU cores with
# AVX512-BF16 (bf16 autocast runs through oneDNN); much longer on CPUs
# without bf16 units. It checkpoints every 5 minutes into the model
# directory (train_state.pt): after an interruption, rerun with RESUME=1.
#
# The malloc settings keep glibc from returning PyTorch's large activation
# buffers to the kernel after every step: without them a step spends about
# half its time in page faults (measured: ~9 s -> ~4.4 s per step).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3
DATA=build/kjv
OUT=models/kjv-gpt2

mkdir -p "$DATA" "$OUT"
"$PY" tools/kjv_corpus.py "$DATA"
"$PY" tools/bpe_train.py "$DATA/train.txt" "$DATA" 8192
MALLOC_MMAP_THRESHOLD_=1000000000000 MALLOC_TRIM_THRESHOLD_=1000000000000 \
  "$PY" tools/train_kjv.py --data "$DATA" --out "$OUT" \
    --n-embd 288 --n-ctx 256 --batch 16 --dropout 0.1 --autocast bf16 \
    --steps 3600 --lr 1e-3 --min-lr 1e-4 --warmup 100 \
    --log-every 20 --eval-every 200 --eval-windows 32 --ckpt-minutes 5 --seed 1337 --threads 2 \
    ${RESUME:+--resume}
