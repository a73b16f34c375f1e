#!/usr/bin/env bash
# lesion_cli.sh: proves the lesion flags behave as documented through the CLI,
# on the bundled model (or tests/fixtures/tiny-gpt2 where no tokenizer is needed):
#   - undo is exact: logits with no lesion equal the clean logits bitwise, and
#     a lesion changes them;
#   - the same lesion seed gives bitwise-identical logits with 1 and 2 threads,
#     a different seed different ones;
#   - export round-trips: the exported model (plain F32 HF layout) gives the
#     same logits as the in-memory lesion, and records the lesion in
#     lesion.json and the safetensors __metadata__;
#   - inspect reports the lesioned slice's statistics before and after, and a
#     gauss lesion matches the slice's mean and std;
#   - the seed experiment's first example runs: generate --lesion attn.q@L0.
# Exit 0 pass, 1 fail; last line "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
L=${LESION:-$BUILD/lesion}
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/lesion_cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
same() { cmp -s "$1" "$2"; } # .npy files: header and data, bitwise

M=tests/fixtures/tiny-gpt2
IDS=$(tr -s ' \n' ',' < $M/ids.txt | sed 's/,$//')

"$L" logits --model $M --ids "$IDS" --out "$T/clean1.npy" --threads 1
"$L" logits --model $M --ids "$IDS" --out "$T/clean2.npy" --threads 2
same "$T/clean1.npy" "$T/clean2.npy" && ok "clean logits bitwise equal with 1 and 2 threads" || bad "clean logits differ across threads"

"$L" logits --model $M --ids "$IDS" --lesion 'attn.q@L0-1' --lesion-seed 7 --out "$T/q1.npy" --threads 1
"$L" logits --model $M --ids "$IDS" --lesion 'attn.q@L0-1' --lesion-seed 7 --out "$T/q2.npy" --threads 2
"$L" logits --model $M --ids "$IDS" --lesion 'attn.q@L0-1' --lesion-seed 8 --out "$T/q3.npy" --threads 2
same "$T/q1.npy" "$T/q2.npy" && ok "gauss lesion: same seed, same bytes with 1 and 2 threads" || bad "lesioned logits differ across threads"
same "$T/q1.npy" "$T/clean1.npy" && bad "lesion did not change the logits" || ok "lesion changes the logits"
same "$T/q2.npy" "$T/q3.npy" && bad "different lesion seeds gave identical logits" || ok "different seeds give different noise"

# The committed zero-ablation reference (independent PyTorch, float64).
"$L" logits --model $M --ids "$IDS" --lesion 'attn.k@L1H1' --mode zero --out "$T/zk.npy"
$PY - "$T/zk.npy" $M/logits_zero_attn_k_L1H1.npy <<'PYEOF' && ok "zero attn.k@L1H1 matches the committed PyTorch reference" || bad "zero attn.k@L1H1 differs from the reference"
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
d = float(np.abs(a - b).max()); print("max |delta|", d)
sys.exit(0 if d <= 1e-4 and (a.argmax(-1) == b.argmax(-1)).all() else 1)
PYEOF

# Export round trip.
"$L" export --model $M --lesion 'attn.v@L0H1' --lesion 'mlp.fc@L1D3-9' --mode gauss --lesion-seed 3 --out "$T/exp" \
  && "$L" logits --model $M --ids "$IDS" --lesion 'attn.v@L0H1' --lesion 'mlp.fc@L1D3-9' --lesion-seed 3 --out "$T/mem.npy" \
  && "$L" logits --model "$T/exp" --ids "$IDS" --out "$T/exported.npy"
same "$T/mem.npy" "$T/exported.npy" && ok "export round-trip: exported logits equal the in-memory lesion bitwise" || bad "export round-trip differs"
[ -f "$T/exp/lesion.json" ] && grep -q 'attn.v@L0H1' "$T/exp/lesion.json" && ok "lesion.json records the specs" || bad "lesion.json missing or incomplete"
$PY - "$T/exp/model.safetensors" <<'PYEOF' && ok "__metadata__ records the lesion" || bad "__metadata__ lacks the lesion"
import sys, json; sys.path.insert(0, "tools"); import safetensors_np as st
t, meta = st.load(sys.argv[1]); l = json.loads(meta["lesion"])
sys.exit(0 if "attn.v@L0H1" in l["lesion"]["specs"] and l["lesion"]["seed"] == 3 else 1)
PYEOF
"$L" export --model $M --lesion 'attn.q@L0' --out "$T/exp" 2>/dev/null; [ $? -eq 1 ] && ok "export refuses an existing directory" || bad "export overwrote a directory"

# inspect: statistics before/after; gauss matches mean and std of the slice.
"$L" inspect --model $M --lesion 'attn.q@L1' --json > "$T/inspect.json"
$PY - "$T/inspect.json" <<'PYEOF' && ok "inspect: gauss slice keeps mean/std within sampling error" || bad "inspect statistics wrong"
import sys, json, math
o = json.load(open(sys.argv[1])); s = o["lesion"]["slices"]
assert len(s) == 1 and s[0]["tensor"] == "h.1.attn.c_attn.weight", s
n, m0, s0, m1, s1 = s[0]["elements"], s[0]["mean_before"], s[0]["std_before"], s[0]["mean_after"], s[0]["std_after"]
assert n == 16 * 16, n
assert abs(m1 - m0) < 4 * s0 / math.sqrt(n) and abs(s1 / s0 - 1) < 4 / math.sqrt(2 * n), (m0, m1, s0, s1)
assert [t for t in o["tensors"] if t["lesioned"]] == [t for t in o["tensors"] if t["name"] == "h.1.attn.c_attn.weight"]
PYEOF
$PY - "$T/inspect.json" $M/config.json <<'PYEOF' && ok "inspect --json: config from config.json, with the forward pass's kinds" || bad "inspect --json config wrong"
import sys, json
c, raw = json.load(open(sys.argv[1]))["config"], json.load(open(sys.argv[2]))
assert (c["n_layer"], c["n_head"], c["n_embd"], c["vocab_size"]) == \
    (raw["n_layer"], raw["n_head"], raw["n_embd"], raw["vocab_size"]), (c, raw)
assert c["n_ff"] == 4 * raw["n_embd"] and c["d_head"] == raw["n_embd"] // raw["n_head"], c
assert (c["model_type"], c["norm"], c["activation"], c["fused_qkv"]) == ("gpt2", "layernorm", "gelu_tanh", True), c
PYEOF

# The seed experiment's first example, on the bundled model; and the
# prefill path that runs attention through sgemm (>= 64 positions) is also
# thread-count independent.
if [ -f models/kjv-gpt2/model.safetensors ]; then
  LONG=$(seq -s, 100 299 | sed 's/,$//')
  "$L" logits --ids "$LONG" --lesion attn.q@L0-2 --out "$T/long1.npy" --threads 1
  "$L" logits --ids "$LONG" --lesion attn.q@L0-2 --out "$T/long2.npy" --threads 2
  same "$T/long1.npy" "$T/long2.npy" && ok "200-token lesioned prefill bitwise equal with 1 and 2 threads" || bad "long prefill differs across threads"
  out=$("$L" generate --lesion attn.q@L0 --prompt "And God said" --tokens 12 --json) && echo "$out" | grep -q '"ids"' \
    && ok "generate --lesion attn.q@L0 on the bundled model" || bad "generate --lesion failed"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
