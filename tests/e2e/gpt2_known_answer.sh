#!/usr/bin/env bash
# gpt2_known_answer.sh: real GPT-2 (openai-community/gpt2), greedy 18 new
# tokens from "The dog" ([464, 3290]) must be transformers' own known answer
# [464, 3290, 373, 1043, 287, 257, 2214, 1474, 262, 16246, 286, 2688, 290,
# 2688, 27262, 13, 198, 198, 464, 3290] ("The dog was found in a field near
# the intersection of West and West Streets.\n\nThe dog"), and the tokenizer
# must encode the prompt to [464, 3290].
# Runs when LESION_GPT2_DIR points at a download of the model (config.json,
# model.safetensors, vocab.json, merges.txt); skipped (77) otherwise, since
# weights cannot be downloaded where lesion is developed.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
L=${LESION:-${BUILD:-build}/lesion}
D=${LESION_GPT2_DIR:-}
if [ -z "$D" ] || [ ! -f "$D/model.safetensors" ]; then
  echo "SKIP: set LESION_GPT2_DIR to a download of openai-community/gpt2 to run the real-GPT-2 known answer"
  exit 77
fi
ids=$("$L" tokenize --model "$D" --text "The dog")
[ "$ids" = "464,3290" ] || { echo "FAIL: tokenize 'The dog' gave $ids"; echo "0 passed, 1 failed"; exit 1; }
got=$("$L" generate --model "$D" --prompt "The dog" --tokens 18 --json | /usr/bin/python3 -c 'import sys, json; print(",".join(map(str, json.load(sys.stdin)["ids"])))')
want="373,1043,287,257,2214,1474,262,16246,286,2688,290,2688,27262,13,198,198,464,3290"
if [ "$got" = "$want" ]; then echo "ok: greedy continuation matches transformers' known answer"; echo "2 passed, 0 failed"; exit 0; fi
echo "FAIL: got $got, want $want"; echo "1 passed, 1 failed"; exit 1
