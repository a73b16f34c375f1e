#!/usr/bin/env bash
# bundled_model.sh: the bundled models/kjv-gpt2 meets its quality bar and its
# greedy output is pinned, so any engine change that alters it is noticed.
#   - `lesion eval` on the first 8192 tokens of heldout.txt: at most 1.30 bits
#     per byte (the whole file measures 1.111: README and the model card);
#   - greedy continuation of "And God said" (24 tokens, no --model: the default
#     model resolution is exercised too) equals the ids pinned in
#     tests/e2e/bundled_model.greedy, recorded from this engine and checked
#     against the PyTorch reference (tests/e2e/reference_logits.sh compares the
#     logits of this model too).
# Exit 0 pass, 1 fail, 77 when the model is absent; last line "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
L=${LESION:-${BUILD:-build}/lesion}
M=models/kjv-gpt2
[ -f $M/model.safetensors ] || { echo "SKIP: $M/model.safetensors absent"; exit 77; }
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

bpb=$("$L" eval --max-tokens 8192 --json | /usr/bin/python3 -c 'import sys, json; print(json.load(sys.stdin)["bits_per_byte"])')
/usr/bin/python3 -c "import sys; sys.exit(0 if float('$bpb') <= 1.30 else 1)" && ok "held-out bits per byte $bpb <= 1.30" || bad "held-out bits per byte $bpb > 1.30"

got=$(cd /tmp && "$OLDPWD/$L" generate --prompt "And God said" --tokens 24 --json \
      | /usr/bin/python3 -c 'import sys, json; print(",".join(map(str, json.load(sys.stdin)["ids"])))' 2>&1)
want=$(cat tests/e2e/bundled_model.greedy 2>/dev/null)
if [ "$got" = "$want" ]; then ok "greedy continuation of \"And God said\" equals the pinned ids"
else bad "greedy continuation changed: got $got, pinned $want"; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
