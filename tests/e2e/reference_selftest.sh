#!/usr/bin/env bash
# reference_selftest.sh: proves the independent PyTorch references right on
# their own, before lesion is ever compared with them (tools/reference_selftest.py
# lists every check). reference_llama.py and reference_neox.py must match a
# second, loop-by-loop numpy implementation on llama (MHA, GQA, MQA, llama3
# and linear rope scaling, head_dim != C/H, tied), mistral (sliding window),
# qwen2 (biases, sliding upper layers) and gpt_neox (parallel and sequential
# residual, partial rotary); GQA must equal MHA with duplicated kv heads;
# rope must equal a complex rotation; each zero-ablation must move exactly
# what it names; the --dump intermediates (also reference_gpt2.py's) must
# obey the residual identities; bad configs and specs must get one-line
# errors; make_family_checkpoint.py's shards, F16/BF16 files, buffers and
# tokenizer.json must load as the plain ones do (tokenizer.json also through
# @huggingface/tokenizers when build/npm has it).
#
# Needs no lesion binary. Exit 0: all passed; 1: a check failed (one line
# each says which and by how much); 77: skipped, /usr/bin/python3 lacks
# torch, numpy or regex (scripts/setup-deps.sh installs them).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

BUILD=${BUILD:-build}
PY=/usr/bin/python3
if ! why=$($PY -c 'import torch, numpy, regex' 2>&1); then
    echo "SKIP: reference_selftest: $PY cannot import torch, numpy and regex (${why##*$'\n'})"
    exit 77
fi

mkdir -p "$BUILD"
TMP=$(mktemp -d "$BUILD/reference_selftest.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
$PY tools/reference_selftest.py "$TMP"
