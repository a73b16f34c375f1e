#!/usr/bin/env bash
# tokenizer_diff.sh: proves that lesion's tokenizer encodes exactly like
# tiktoken's "gpt2" encoding (OpenAI's Rust tokenizer, as WASM from npm), id
# for id, on the whole King James Bible and on the hard cases written by
# tests/tokenizer/hard_cases.js (emoji and ZWJ sequences, CJK, combining
# marks, right-to-left scripts, every kind of whitespace run, control
# characters, odd-case contractions, digits in letters, very long
# pre-tokens, <|endoftext|>, every code point of planes 0-3 and 14 in
# several contexts, random mixtures).
#
# lesion's side is tests/tokenizer/tok_driver.c (not the CLI, whose output
# format is not this test's business), built here through the Makefile's
# $(BUILD)/tests/% pattern rule so that it gets the suite's exact flags,
# sanitizers included when LESION_SANITIZED is set.
#
# Prints the number of ids compared and of mismatching inputs (with the first
# differing position of each). Exit 0: identical; 1: any mismatch or error;
# 77: skipped, npm packages unavailable (tests/fetch_npm.sh).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
NPM=build/npm

if ! bash tests/fetch_npm.sh; then
    echo "SKIP: tokenizer_diff: npm packages tiktoken and gpt-3-encoder unavailable"
    exit 77
fi
san=()
[[ -n ${LESION_SANITIZED:-} ]] && san=(SAN=1)
driver=$BUILD/tests/tokenizer/tok_driver
if ! make --no-print-directory -s "${san[@]}" BUILD="$BUILD" "$driver"; then
    echo "FAIL: tokenizer_diff: cannot build $driver"
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node tests/tokenizer/hard_cases.js "$work/cases" || { echo "FAIL: tokenizer_diff: hard_cases.js"; exit 1; }
if command -v bible >/dev/null 2>&1; then
    bible Gen1:1-Rev22:21 >"$work/cases/kjv.txt" || { echo "FAIL: tokenizer_diff: bible"; exit 1; }
else
    echo "tokenizer_diff: bible-kjv not installed (scripts/setup-deps.sh installs it): KJV not compared"
fi
files=("$work"/cases/*.txt)

"$driver" "$NPM/node_modules/gpt-3-encoder" "${files[@]}" >"$work/lesion.ids" 2>"$work/lesion.log"
rc=$?
grep -h 'kjv' "$work/lesion.log"
if ((rc != 0)); then
    echo "FAIL: tokenizer_diff: tok_driver exited $rc"
    cat "$work/lesion.log"
    exit 1
fi
if ! node tools/tiktoken_ids.js "$NPM" "${files[@]}" >"$work/tiktoken.ids"; then
    echo "FAIL: tokenizer_diff: tools/tiktoken_ids.js failed"
    exit 1
fi

# One line of ids per input file on each side; compare them line by line.
node - "$work/lesion.ids" "$work/tiktoken.ids" "${files[@]}" <<'EOF'
"use strict";
const fs = require("fs");
const path = require("path");
const [ours, theirs, ...files] = process.argv.slice(2);
const a = fs.readFileSync(ours, "utf8").split("\n");
const b = fs.readFileSync(theirs, "utf8").split("\n");
let compared = 0, bad = 0;
const count = (line) => { // ids in a line, without splitting 16M strings
  let n = line ? 1 : 0;
  for (let k = line.indexOf(" "); k >= 0; k = line.indexOf(" ", k + 1)) n++;
  return n;
};
files.forEach((f, i) => {
  compared += count(b[i] || "");
  if (a[i] === b[i]) return;
  bad++;
  const x = a[i] ? a[i].split(" ") : [], y = b[i] ? b[i].split(" ") : [];
  let k = 0;
  while (k < x.length && k < y.length && x[k] === y[k]) k++;
  const at = (v) => v.slice(Math.max(0, k - 3), k + 5).join(" ");
  console.log(`MISMATCH ${path.basename(f)}: ${x.length} vs ${y.length} ids, first difference at id ${k}:` +
              ` lesion [${at(x)}] tiktoken [${at(y)}]`);
});
console.log(`tokenizer_diff: ${compared} ids compared over ${files.length} inputs, ${bad} mismatching`);
process.exit(bad ? 1 : 0);
EOF
