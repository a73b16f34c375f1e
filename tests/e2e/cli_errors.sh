#!/usr/bin/env bash
# cli_errors.sh: bad input never crashes lesion, and a failed command leaves
# no partial output behind.
#
# From a small valid model (lesion init: 2 layers, 2 heads, n_embd 8, vocab
# 300, context 16, plus a 300-token GPT-2-format tokenizer made here), each
# case builds one hostile model directory or argument list and checks that
# the command:
#   - exits with the expected status (1 runtime/file error, 2 usage error;
#     never 0, never >= 128, i.e. no signal, no sanitizer abort, no hang);
#   - prints exactly one line on stderr, naming the file (or flag) and the
#     problem (grepped for key words);
#   - leaves no output behind: no --out file for logits, no --out directory
#     or --out.partial-* for export.
# Exit 0 if every case passes, 1 otherwise; last line "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
L=${LESION:-$BUILD/lesion}
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/cli_errors.XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

# expect NAME STATUS KEYS OUT -- COMMAND...
#   STATUS: the exit status wanted (1 or 2); KEYS: extended regexps separated
#   by ';', each must match the stderr line (case-insensitive); OUT: a path
#   that must not exist afterwards (nor OUT.partial-*, OUT.tmp*), or "-".
expect() {
  local name=$1 want=$2 keys=$3 out=$4
  shift 5
  timeout 120 "$@" >"$T/stdout" 2>"$T/stderr"
  local rc=$? why=""
  if [ $rc -eq 124 ]; then why="hung (killed after 120 s); "
  elif [ $rc -ge 128 ]; then why="crashed (signal $((rc - 128))); "
  elif [ $rc -ne "$want" ]; then why="exit $rc, expected $want; "
  fi
  local lines
  lines=$(wc -l <"$T/stderr")
  [ "$lines" -eq 1 ] && [ "$(tail -c1 "$T/stderr" | od -An -c | tr -d ' ')" = '\n' ] || why+="$lines lines on stderr; "
  local IFS=';' k
  for k in $keys; do grep -qiE -- "$k" "$T/stderr" || why+="stderr lacks /$k/; "; done
  unset IFS
  if [ "$out" != "-" ]; then
    for p in "$out" "$out".partial-* "$out".tmp*; do [ -e "$p" ] && why+="left $p behind; "; done
  fi
  if [ -z "$why" ]; then ok "$name"; else bad "$name: $why"; sed 's/^/      stderr: /' "$T/stderr" | head -n 5; fi
}

# ---- a small valid model and tokenizer -----------------------------------------

B="$T/base"
"$L" init --layers 2 --heads 2 --embd 8 --vocab 300 --ctx 16 --out "$B" >/dev/null || { echo "lesion init failed"; exit 1; }
# A GPT-2-format tokenizer of exactly 300 tokens: 256 bytes, 43 merges
# learned from a fixed text, <|endoftext|>.
$PY - "$B" <<'PYEOF' || { echo "tokenizer generation failed"; exit 1; }
import collections, json, sys
bs = list(range(33, 127)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
cs, n = bs[:], 0
for b in range(256):
    if b not in bs: bs.append(b); cs.append(256 + n); n += 1
b2u = {b: chr(c) for b, c in zip(bs, cs)}
spell = lambda t: "".join(b2u[x] for x in t)
text = ("In the beginning God created the heaven and the earth. And the earth was without form, and void; "
        "and darkness was upon the face of the deep. And the Spirit of God moved upon the face of the waters. ") * 3
words = collections.Counter()
for w in text.split(" "):
    words[tuple(bytes([c]) for c in (" " + w).encode())] += 1
vocab = {spell(bytes([b])): b for b in range(256)}
merges = []
while len(merges) < 43:
    pairs = collections.Counter()
    for w, f in words.items():
        for a, b in zip(w, w[1:]): pairs[(a, b)] += f
    (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
    merges.append((a, b)); vocab[spell(a + b)] = len(vocab)
    new = collections.Counter()
    for w, f in words.items():
        out, i = [], 0
        while i < len(w):
            if i + 1 < len(w) and (w[i], w[i + 1]) == (a, b): out.append(a + b); i += 2
            else: out.append(w[i]); i += 1
        new[tuple(out)] += f
    words = new
vocab["<|endoftext|>"] = len(vocab)
assert len(vocab) == 300, len(vocab)
json.dump(vocab, open(sys.argv[1] + "/vocab.json", "w"), ensure_ascii=False)
open(sys.argv[1] + "/merges.txt", "w").write("#version: 0.2\n" + "".join(spell(a) + " " + spell(b) + "\n" for a, b in merges))
PYEOF
"$L" generate --model "$B" --prompt "In the" --tokens 4 --threads 1 >/dev/null 2>"$T/stderr" \
  && ok "the base model and tokenizer work" || { bad "base model does not work: $(cat "$T/stderr")"; exit 1; }

# mk NAME: a fresh copy of the base model as $T/NAME; prints its path.
mk() { rm -rf "$T/$1"; cp -r "$B" "$T/$1"; echo "$T/$1"; }

# st_edit DIR PYTHON: rewrites DIR/model.safetensors; the Python code sees
# h (header dict), data (bytearray) and may set hlen (header length field).
st_edit() {
  $PY - "$1/model.safetensors" "$2" <<'PYEOF'
import json, struct, sys
path, code = sys.argv[1], sys.argv[2]
blob = open(path, "rb").read()
(n,) = struct.unpack("<Q", blob[:8])
h = json.loads(blob[8:8 + n]); data = bytearray(blob[8 + n:]); raw = None; hlen = None
exec(code)
if raw is None:
    raw = json.dumps(h).encode()
    raw += b" " * (-len(raw) % 8)
open(path, "wb").write(struct.pack("<Q", len(raw) if hlen is None else hlen) + raw + bytes(data))
PYEOF
}
LOGITS=(logits --ids 1,2,3 --threads 1 --out "$T/x.npy") # + --model DIR

# ---- model.safetensors ---------------------------------------------------------

D=$(mk st_hlen); st_edit "$D" 'raw = json.dumps(h).encode(); hlen = len(raw) + len(data) + 1'
expect "safetensors: header length larger than the file" 1 "model\.safetensors;header length;exceeds" "$T/x.npy" -- "$L" "${LOGITS[@]}" --model "$D"
D=$(mk st_hlen_huge); st_edit "$D" 'hlen = 1 << 62'
expect "safetensors: header length 2^62" 1 "model\.safetensors;header length" "$T/x.npy" -- "$L" "${LOGITS[@]}" --model "$D"
D=$(mk st_notjson); st_edit "$D" 'raw = b"this is not json".ljust(len(json.dumps(h)), b" ")'
expect "safetensors: header not JSON" 1 "model\.safetensors;not a JSON" "$T/x.npy" -- "$L" "${LOGITS[@]}" --model "$D"
D=$(mk st_outside); st_edit "$D" 'h["ln_f.bias"]["data_offsets"][1] = len(data) + 4096'
expect "safetensors: offsets outside the data" 1 "model\.safetensors;ln_f\.bias;outside" "$T/x.npy" -- "$L" "${LOGITS[@]}" --model "$D"
D=$(mk st_overlap); st_edit "$D" 'h["ln_f.bias"]["data_offsets"] = list(h["ln_f.weight"]["data_offsets"])'
expect "safetensors: overlapping offsets" 1 "model\.safetensors;overlaps" "$T/x.npy" -- "$L" "${LOGITS[@]}" --model "$D"
D=$(mk st_gap); st_edit "$D" '
at = h["ln_f.weight"]["data_offsets"][1]
data[at:at] = b"\0" * 8
for k, v in h.items():
    if k != "__metadata__" and v["data_offsets"][0] >= at: v["data_offsets"] = [o + 8 for o in v["data_offsets"]]'
expect "safetensors: gap between tensors" 1 "model\.safetensors;gap" "$T/x.npy" -- "$L" "${LOGITS[@]}" --model "$D"
D=$(mk st_reordered); st_edit "$D" '
a, b = h["ln_f.weight"]["data_offsets"], h["ln_f.bias"]["data_offsets"]
data[a[0]:a[1]], data[b[0]:b[1]] = data[b[0]:b[1]], data[a[0]:a[1]]
h["ln_f.weight"]["data_offsets"], h["ln_f.bias"]["data_offsets"] = b, a'
"$L" logits --model "$D" --ids 1,2,3 --threads 1 --out "$T/reordered.npy" 2>"$T/stderr" \
  && "$L" logits --model "$B" --ids 1,2,3 --threads 1 --out "$T/base.npy" 2>>"$T/stderr" \
  && cmp -s "$T/reordered.npy" "$T/base.npy" \
  && ok "safetensors: tensors stored out of order (legal) load and give the same logits" \
  || bad "safetensors: out-of-order tensors: $(head -c 300 "$T/stderr")"
rm -f "$T/reordered.npy" "$T/base.npy"
D=$(mk st_shape_bytes); st_edit "$D" 'h["ln_f.bias"]["shape"] = [9]'
expect "safetensors: shape byte size disagrees with offsets" 1 "model\.safetensors;ln_f\.bias;shape needs" "$T/x.npy" -- "$L" "${LOGITS[@]}" --model "$D"
D=$(mk st_i32); st_edit "$D" 'h["h.0.ln_1.bias"]["dtype"] = "I32"'
expect "safetensors: I32 parameter" 1 "model\.safetensors;h\.0\.ln_1\.bias;dtype I32" "$T/x.npy" -- "$L" "${LOGITS[@]}" --model "$D"
D=$(mk st_unknown_dtype); st_edit "$D" 'h["h.0.ln_1.bias"]["dtype"] = "F31"'
expect "safetensors: unknown dtype" 1 "model\.safetensors;unknown dtype" "$T/x.npy" -- "$L" "${LOGITS[@]}" --model "$D"
D=$(mk st_missing); st_edit "$D" 'h["h.1.mlp.c_fc.biax"] = h.pop("h.1.mlp.c_fc.bias")'
expect "safetensors: a tensor missing" 1 "model\.safetensors;h\.1\.mlp\.c_fc\.bias;missing" "$T/x.npy" -- "$L" "${LOGITS[@]}" --model "$D"
D=$(mk st_wrong_shape); st_edit "$D" 'h["h.0.attn.c_attn.weight"]["shape"] = [24, 8]'
expect "safetensors: wrong shape for the config" 1 "model\.safetensors;c_attn\.weight;shape \[24, 8\];\[8, 24\]" "$T/x.npy" -- "$L" "${LOGITS[@]}" --model "$D"
D=$(mk st_empty); : >"$D/model.safetensors"
expect "safetensors: empty file" 1 "model\.safetensors;too short" "$T/x.npy" -- "$L" "${LOGITS[@]}" --model "$D"
D=$(mk st_truncated); truncate -s -100 "$D/model.safetensors"
expect "safetensors: truncated data" 1 "model\.safetensors;data section|cover" "$T/x.npy" -- "$L" "${LOGITS[@]}" --model "$D"
D=$(mk st_absent); rm "$D/model.safetensors"
expect "safetensors: file missing" 1 "model\.safetensors;cannot open" "$T/x.npy" -- "$L" "${LOGITS[@]}" --model "$D"
D=$(mk st_pickle_only); rm "$D/model.safetensors"; echo pickle >"$D/pytorch_model.bin"
expect "safetensors: only pytorch_model.bin" 1 "pytorch_model\.bin;safetensors only;convert" "$T/x.npy" -- "$L" "${LOGITS[@]}" --model "$D"
D=$(mk st_export); st_edit "$D" 'h["ln_f.bias"]["shape"] = [9]'
expect "export from a hostile model leaves no directory" 1 "model\.safetensors" "$T/exp" -- \
  "$L" export --model "$D" --lesion attn.q@L0 --out "$T/exp"

# ---- config.json ---------------------------------------------------------------

cfg_edit() { $PY - "$1/config.json" "$2" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1])); exec(sys.argv[2]); json.dump(c, open(sys.argv[1], "w"))
PYEOF
}
D=$(mk cfg_div); cfg_edit "$D" 'c["n_head"] = 3'
expect "config: n_embd not divisible by n_head" 1 "config\.json;divisible" "$T/x.npy" -- "$L" "${LOGITS[@]}" --model "$D"
D=$(mk cfg_layers); cfg_edit "$D" 'c["n_layer"] = 1000000000'
expect "config: n_layer 1000000000" 1 "config\.json;n_layer;out of range" "$T/x.npy" -- "$L" "${LOGITS[@]}" --model "$D"
D=$(mk cfg_more_layers); cfg_edit "$D" 'c["n_layer"] = 3'
expect "config: more layers than the checkpoint" 1 "model\.safetensors;h\.2\.;missing" "$T/x.npy" -- "$L" "${LOGITS[@]}" --model "$D"
D=$(mk cfg_fewer_layers); cfg_edit "$D" 'c["n_layer"] = 1'
expect "config: fewer layers than the checkpoint" 1 "model\.safetensors;h\.1\.ln_1\.weight;n_layer=1" "$T/x.npy" -- "$L" "${LOGITS[@]}" --model "$D"
D=$(mk cfg_string); cfg_edit "$D" 'c["n_embd"] = "8"'
expect "config: n_embd a string" 1 "config\.json;n_embd;integer" "$T/x.npy" -- "$L" "${LOGITS[@]}" --model "$D"
D=$(mk cfg_missing); rm "$D/config.json"
expect "config: config.json missing" 1 "config\.json;cannot open|no such" "$T/x.npy" -- "$L" "${LOGITS[@]}" --model "$D"
D=$(mk cfg_notjson); printf '{"n_layer": 2, "n_head": ' >"$D/config.json"
expect "config: config.json not JSON" 1 "config\.json;not a JSON" "$T/x.npy" -- "$L" "${LOGITS[@]}" --model "$D"
expect "config: model directory missing" 1 "$T/nowhere" "$T/x.npy" -- "$L" "${LOGITS[@]}" --model "$T/nowhere"

# ---- tokenizer files -------------------------------------------------------------

D=$(mk tok_disagree); printf 'Q Z\n' >>"$D/merges.txt"
$PY - "$D/merges.txt" <<'PYEOF'
import sys; p = sys.argv[1]; s = open(p).read().replace("Q Z\n", "\u0120zq \u0120qz\n"); open(p, "w").write(s)
PYEOF
expect "tokenizer: a merge of tokens not in the vocab" 1 "merges\.txt;line 45;not a token;vocab\.json" - -- \
  "$L" tokenize --model "$D" --text hello
expect "tokenizer: the same through generate" 1 "merges\.txt;not a token" - -- \
  "$L" generate --model "$D" --prompt hello --tokens 2
D=$(mk tok_empty_merges); : >"$D/merges.txt"
expect "tokenizer: empty merges.txt" 1 "vocab\.json;merges\.txt;merge" - -- "$L" tokenize --model "$D" --text hello
D=$(mk tok_no_merges); rm "$D/merges.txt"
expect "tokenizer: merges.txt missing" 1 "merges\.txt;cannot open" - -- "$L" tokenize --model "$D" --text hello
D=$(mk tok_vocab_notjson); printf '{"a": 0,' >"$D/vocab.json"
expect "tokenizer: vocab.json not JSON" 1 "vocab\.json;not valid JSON" - -- "$L" tokenize --model "$D" --text hello
D=$(mk tok_too_big); cfg_edit "$D" 'c["vocab_size"] = 290'
"$L" init --layers 2 --heads 2 --embd 8 --vocab 290 --ctx 16 --out "$T/v290" >/dev/null && cp "$T/v290/model.safetensors" "$D/"
expect "tokenizer: more tokens than the model's vocab_size" 1 "300 tokens;vocab_size=290" - -- \
  "$L" generate --model "$D" --prompt hello --tokens 2

# ---- text --------------------------------------------------------------------

expect "generate: invalid UTF-8 in --prompt" 2 "--prompt;invalid UTF-8;offset 3" - -- \
  "$L" generate --model "$B" --prompt "$(printf 'abc\377def')" --tokens 2
expect "logits: invalid UTF-8 in --prompt" 2 "--prompt;invalid UTF-8" "$T/x.npy" -- \
  "$L" logits --model "$B" --prompt "$(printf 'ab\300\257')" --out "$T/x.npy"
printf 'In the beginning\n\355\240\200 and the earth\n' >"$T/bad.txt"
expect "eval: invalid UTF-8 in --file" 1 "bad\.txt;invalid UTF-8;offset 17" - -- "$L" eval --model "$B" --file "$T/bad.txt"
expect "eval: --file missing" 1 "nothere\.txt;cannot open" - -- "$L" eval --model "$B" --file "$T/nothere.txt"
printf 'In the\n' >"$T/short.txt"
printf 'the earth %.0s' $(seq 1 40) >"$T/good_attention.txt"
expect "eval --by-position: text shorter than one window" 1 "short\.txt;--by-position;need at least 17" - -- \
  "$L" eval --model "$B" --file "$T/short.txt" --by-position
expect "attention: --prompt and --file" 2 "--prompt or --file" - -- \
  "$L" attention --model "$B" --prompt "In the beginning" --file "$T/bad.txt"
expect "attention: --min-pos at the window" 2 "--min-pos 16;below the window of 16" - -- \
  "$L" attention --model "$B" --file "$T/good_attention.txt" --min-pos 16
expect "attention: --ctx beyond the model" 2 "--ctx 17;context, 16" - -- \
  "$L" attention --model "$B" --file "$T/good_attention.txt" --ctx 17
expect "attention: prompt of 2 tokens" 1 "--prompt;2 tokens;at least 3" - -- "$L" attention --model "$B" --prompt "ab"
expect "attention: text shorter than one window" 1 "short\.txt;need at least 17" - -- \
  "$L" attention --model "$B" --file "$T/short.txt" --min-pos 4
expect "tokenize: invalid UTF-8 in --text" 1 "invalid UTF-8" - -- "$L" tokenize --model "$B" --text "$(printf '\366abc')"
LONG=$(printf 'the earth %.0s' $(seq 1 20))
expect "generate: prompt longer than the context" 2 "context length 16" - -- \
  "$L" generate --model "$B" --prompt "$LONG" --tokens 2
expect "logits: prompt longer than the context" 2 "context length 16" "$T/x.npy" -- \
  "$L" logits --model "$B" --prompt "$LONG" --out "$T/x.npy"
expect "logits: --ids longer than the context" 2 "17 tokens;context length 16" "$T/x.npy" -- \
  "$L" logits --model "$B" --ids "$(seq -s, 1 17)" --out "$T/x.npy"
expect "logits: --ids with an id >= vocab" 2 "token id 300;vocabulary" "$T/x.npy" -- \
  "$L" logits --model "$B" --ids 1,300 --out "$T/x.npy"
expect "logits: --ids not numbers" 2 "--ids;not a token id" "$T/x.npy" -- \
  "$L" logits --model "$B" --ids 1,x --out "$T/x.npy"
expect "detokenize: id >= vocab" 2 "id 300|300;out of range|vocab" - -- "$L" detokenize --model "$B" --ids 5,300

printf 'In the\nAnd God\n' >"$T/short_prompts.txt" # the default prompts are longer than this model's context
SW=(sweep --model "$B" --seeds 1 --eval-tokens 32 --ctx 16 --gen-tokens 4 --threads 1 --quiet --prompts "$T/short_prompts.txt")
expect "sweep: invalid UTF-8 in --eval, no --out left" 1 "bad\.txt;invalid UTF-8" "$T/sw1" -- \
  "$L" "${SW[@]}" --eval "$T/bad.txt" --out "$T/sw1"
printf 'In the beginning\n\377 bad prompt\n' >"$T/prompts.txt"
expect "sweep: invalid UTF-8 in --prompts, no --out left" 2 "prompts\.txt;prompt 2;invalid UTF-8" "$T/sw2" -- \
  "$L" "${SW[@]}" --eval "$T/bad.txt" --prompts "$T/prompts.txt" --out "$T/sw2"
printf 'In the beginning\n' >"$T/good.txt"
expect "sweep: held-out text shorter than one window, no --out left" 1 "good\.txt;fewer than 16 tokens" "$T/sw3" -- \
  "$L" "${SW[@]}" --eval "$T/good.txt" --out "$T/sw3"
printf '%s\n' "$LONG" >"$T/long_prompts.txt"
expect "sweep: prompt + --gen-tokens beyond the context, no --out left" 2 "prompt 1;gen-tokens 4;context length 16" "$T/sw4" -- \
  "$L" "${SW[@]}" --prompts "$T/long_prompts.txt" --out "$T/sw4"
expect "sweep: --gen-tokens beyond the context, no --out left" 2 "gen-tokens 40;context length 16" "$T/sw5" -- \
  "$L" "${SW[@]}" --gen-tokens 40 --out "$T/sw5"
expect "sweep: --ctx beyond the model's" 2 "--ctx 32;context 16" "$T/sw6" -- "$L" "${SW[@]}" --ctx 32 --out "$T/sw6"

# ---- lesion specs ---------------------------------------------------------------

expect "lesion: layer out of range attn.q@L99" 2 "attn\.q@L99;layer 99 out of range;layers 0-1" "$T/x.npy" -- \
  "$L" logits --model "$B" --ids 1,2 --lesion attn.q@L99 --out "$T/x.npy"
expect "lesion: head out of range attn.q@L0H99" 2 "attn\.q@L0H99;head 99 out of range;heads 0-1" "$T/x.npy" -- \
  "$L" logits --model "$B" --ids 1,2 --lesion attn.q@L0H99 --out "$T/x.npy"
expect "lesion: unknown component" 2 "unknown component;attn\.x" "$T/x.npy" -- \
  "$L" logits --model "$B" --ids 1,2 --lesion attn.x@L0 --out "$T/x.npy"
expect "lesion: heads on mlp.fc" 2 "mlp\.fc has no heads" "$T/x.npy" -- \
  "$L" logits --model "$B" --ids 1,2 --lesion mlp.fc@L0H1 --out "$T/x.npy"
expect "lesion: newline in a spec stays one line" 2 "attn\.q@L0\\\\nH1" "$T/x.npy" -- \
  "$L" logits --model "$B" --ids 1,2 --lesion "$(printf 'attn.q@L0\nH1')" --out "$T/x.npy"
expect "lesion: bad mode" 2 "unknown mode;noise" - -- \
  "$L" generate --model "$B" --prompt hi --lesion attn.q@L0 --mode noise
expect "export: bad spec leaves no directory" 2 "attn\.q@L99;out of range" "$T/exp" -- \
  "$L" export --model "$B" --lesion attn.q@L99 --out "$T/exp"
expect "sweep: bad --target" 2 "unknown component;attn\.z" - -- \
  "$L" sweep --model "$B" --target attn.z --out "$T/sw_target" --quiet

# ---- flags ---------------------------------------------------------------------

expect "unknown flag" 2 "unknown option --bogus" - -- "$L" generate --model "$B" --prompt hi --bogus
expect "unknown command" 2 "unknown command;frobnicate" - -- "$L" frobnicate
expect "missing flag value" 2 "--tokens needs a value" - -- "$L" generate --model "$B" --prompt hi --tokens
expect "non-numeric --tokens" 2 "--tokens;abc;not an integer" - -- "$L" generate --model "$B" --prompt hi --tokens abc
expect "negative --tokens" 2 "--tokens;not an integer in" - -- "$L" generate --model "$B" --prompt hi --tokens -1
expect "--threads 0" 2 "--threads" - -- "$L" generate --model "$B" --prompt hi --threads 0
expect "--weights fp8" 2 "--weights fp8;f32, f32-copy or bf16" "$T/w.npy" -- "$L" logits --model "$B" --ids 1,2 --weights fp8 --out "$T/w.npy"
expect "--weights on a command without a model pass" 2 "unknown option --weights" - -- "$L" inspect --model "$B" --weights bf16
expect "flag that takes no value given one" 2 "--json takes no value" - -- "$L" tokenize --model "$B" --text hi --json=1
expect "positional argument" 2 "unexpected argument" - -- "$L" tokenize --model "$B" hello
# GPT-2 and GPT-NeoX store one fused Q/K/V matrix: no key/value heads or head size of their own (was: a
# checkpoint written that no command could open).
expect "init: --kv-heads on gpt_neox" 2 "gpt_neox;fused;num_key_value_heads \(2\)" "$T/neox_kv" -- \
  "$L" init --arch gpt_neox --layers 2 --heads 4 --kv-heads 2 --embd 16 --vocab 300 --out "$T/neox_kv"
expect "init: --head-dim on gpt2" 2 "gpt2;fused;head_dim \(2\)" "$T/gpt2_hd" -- \
  "$L" init --layers 2 --heads 4 --head-dim 2 --embd 16 --vocab 300 --out "$T/gpt2_hd"

# ---- unwritable outputs -----------------------------------------------------------

: >"$T/afile"
expect "logits: --out in a directory that is a file" 1 "afile/x\.npy" "$T/afile/x.npy" -- \
  "$L" logits --model "$B" --ids 1,2 --out "$T/afile/x.npy"
expect "logits: --out in a missing directory" 1 "nodir/x\.npy" "$T/nodir/x.npy" -- \
  "$L" logits --model "$B" --ids 1,2 --out "$T/nodir/x.npy"
mkdir -p "$T/ro" && chmod 555 "$T/ro"
if [ "$(id -u)" -ne 0 ]; then
  expect "logits: --out in a read-only directory" 1 "ro/x\.npy" "$T/ro/x.npy" -- \
    "$L" logits --model "$B" --ids 1,2 --out "$T/ro/x.npy"
fi
head -c 3000 /dev/urandom | base64 >"$T/text.txt" 2>/dev/null
expect "sweep: --out under a file" 1 "afile/sub;cannot create" - -- \
  "$L" "${SW[@]}" --eval "$T/text.txt" --out "$T/afile/sub" --quiet
expect "sweep: --out is a file" 1 "afile" - -- \
  "$L" "${SW[@]}" --eval "$T/text.txt" --out "$T/afile" --quiet
expect "export: --out under a file" 1 "afile/exp" "$T/afile/exp" -- \
  "$L" export --model "$B" --lesion attn.q@L0 --out "$T/afile/exp"
mkdir -p "$T/exists"
expect "export: --out exists" 1 "exists;already exists" - -- "$L" export --model "$B" --lesion attn.q@L0 --out "$T/exists"
ls "$T" | grep -q 'partial-' && bad "export left a .partial- directory: $(ls "$T" | grep partial-)" || ok "no export .partial- directory anywhere"

# ---- probe ----------------------------------------------------------------------

PR=(probe --model "$B" --train "$T/good_attention.txt" --threads 1)
expect "probe: unknown --task" 2 "--task;unknown probe task \"bogus\";prev-token, token, position or labels" - -- \
  "$L" "${PR[@]}" --task bogus
expect "probe: unknown --site" 2 "--site;unknown name \"attn.qq\";this model has: resid_pre" - -- \
  "$L" "${PR[@]}" --site attn.qq@L0
expect "probe: --site attn.pattern" 2 "--site;attn.pattern has none;resid_post@L5" - -- \
  "$L" "${PR[@]}" --site attn.pattern@L0
expect "probe: --site with positions" 2 "--site;drop the P selector" - -- "$L" "${PR[@]}" --site resid_post@L1P0
expect "probe: --site layer out of range" 2 "--site;resid_post@L2;layers 0-1" - -- \
  "$L" "${PR[@]}" --site resid_post@L2
expect "probe: --site without layers" 2 "--site;resid_pre;needs a layer selector" - -- "$L" "${PR[@]}" --site resid_pre
expect "probe: --labels without --task labels" 2 "--labels;--task labels" - -- \
  "$L" "${PR[@]}" --labels "$T/good_attention.txt"
expect "probe: --task labels without --labels" 2 "--task labels needs --labels" - -- "$L" "${PR[@]}" --task labels
expect "probe: --test-labels without --test" 2 "--test-labels needs --test" - -- \
  "$L" "${PR[@]}" --task labels --labels "$T/good_attention.txt" --test-labels "$T/good_attention.txt"
expect "probe: --task labels and --test without --test-labels" 2 "--test;needs --test-labels" - -- \
  "$L" "${PR[@]}" --task labels --labels "$T/good_attention.txt" --test "$T/good_attention.txt"
printf 'noun\nverb\n-\n' >"$T/labels3.txt"
expect "probe: labels file with the wrong number of lines" 1 "labels3\.txt;3 lines, expected one per token;good_attention\.txt" - -- \
  "$L" "${PR[@]}" --task labels --labels "$T/labels3.txt"
printf 'noun\n\nverb\n' >"$T/labels_empty.txt"
expect "probe: labels file with an empty line" 1 "labels_empty\.txt;line 2 is empty" - -- \
  "$L" "${PR[@]}" --task labels --labels "$T/labels_empty.txt"
expect "probe: too few labelled positions" 1 "short\.txt;prev-token task;labelled positions;need at least" - -- \
  "$L" probe --model "$B" --train "$T/short.txt" --threads 1
expect "probe: --train missing" 1 "nothere\.txt;cannot open" - -- "$L" probe --model "$B" --train "$T/nothere.txt"
expect "probe: --probe-from without --lesion" 2 "--probe-from;without --lesion" - -- "$L" "${PR[@]}" --probe-from clean
expect "probe: --probe-from bogus" 2 "--probe-from bogus;clean or lesioned" - -- \
  "$L" "${PR[@]}" --lesion attn.q@L0 --probe-from bogus
expect "probe: --ctx beyond the model" 2 "--ctx 17;context, 16" - -- "$L" "${PR[@]}" --ctx 17
expect "probe: --buckets beyond the window" 2 "--buckets 17;window of 16" - -- "$L" "${PR[@]}" --task position --buckets 17
expect "probe: --top 1" 2 "--top" - -- "$L" "${PR[@]}" --top 1
expect "probe: bad --lesion" 2 "--lesion attn.q@L5;out of range" - -- "$L" "${PR[@]}" --lesion attn.q@L5

echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
