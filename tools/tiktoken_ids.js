#!/usr/bin/env node
// tiktoken_ids.js: the reference side of the tokenizer differential test.
//
//   node tools/tiktoken_ids.js [--encoding NAME] NPM_PREFIX FILE...
//
// Encodes each file (read as UTF-8) with tiktoken's "gpt2" encoding, or the
// one NAME says (cl100k_base for tests/e2e/tokenizer_json_diff.sh) (the
// WASM build of OpenAI's Rust tokenizer, npm-installed under
// NPM_PREFIX/node_modules by tests/fetch_npm.sh) and prints one line per
// file: the ids separated by spaces, the same format as
// tests/tokenizer/tok_driver. Special tokens in the text ("<|endoftext|>")
// are encoded as special tokens, as lesion does.
"use strict";
const fs = require("fs");
const path = require("path");

let args = process.argv.slice(2);
let encoding = "gpt2";
if (args[0] === "--encoding") {
  encoding = args[1];
  args = args.slice(2);
}
const [prefix, ...files] = args;
if (!prefix || !encoding || files.length === 0) {
  process.stderr.write("usage: node tools/tiktoken_ids.js [--encoding NAME] NPM_PREFIX FILE...\n");
  process.exit(2);
}
const { get_encoding } = require(path.resolve(prefix, "node_modules", "tiktoken"));
const enc = get_encoding(encoding);
try {
  for (const f of files) {
    const ids = enc.encode(fs.readFileSync(f, "utf8"), "all");
    process.stdout.write(ids.join(" ") + "\n");
  }
} finally {
  enc.free();
}
