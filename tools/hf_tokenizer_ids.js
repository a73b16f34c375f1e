#!/usr/bin/env node
// hf_tokenizer_ids.js: the Hugging Face side of the tokenizer.json
// differential test (tests/e2e/tokenizer_json_diff.sh).
//
//   node tools/hf_tokenizer_ids.js NPM_PREFIX IMPL TOKENIZER_JSON FILE...
//
// IMPL says which implementation of tokenizer.json encodes each FILE (read
// as UTF-8), both loading the local file with no network:
//   rust  npm "tokenizers": Hugging Face's Rust library itself (the one
//         Python's transformers runs), as a native Node module. This is the
//         reference lesion must equal.
//   js    npm "@huggingface/tokenizers": Hugging Face's pure JavaScript
//         re-implementation (Transformers.js). It runs the file's regexes
//         with JavaScript's RegExp, whose \s and Unicode tables are not
//         Oniguruma's, so it disagrees with the Rust library on some inputs;
//         the test uses it on the inputs where the two agree.
// Prints one line per file: the ids separated by spaces, the format of
// tests/tokenizer/tok_driver. The post-processor's special tokens (a BOS)
// are not added, as lesion's encode does not add them. With --decode, each
// line is instead the JSON string that decoding those ids gives back.
"use strict";
const fs = require("fs");
const path = require("path");

async function main() {
  let args = process.argv.slice(2);
  const decode = args[0] === "--decode";
  if (decode) args = args.slice(1);
  const [prefix, impl, file, ...inputs] = args;
  if (!prefix || !["rust", "js"].includes(impl) || !file || inputs.length === 0) {
    process.stderr.write("usage: node tools/hf_tokenizer_ids.js [--decode] NPM_PREFIX rust|js TOKENIZER_JSON FILE...\n");
    process.exit(2);
  }
  const mods = path.resolve(prefix, "node_modules");
  let encode, decodeIds;
  if (impl === "rust") {
    const { Tokenizer } = require(path.join(mods, "tokenizers"));
    const tok = Tokenizer.fromFile(file);
    encode = async (text) => (await tok.encode(text, null, { addSpecialTokens: false })).getIds();
    decodeIds = async (ids) => tok.decode(ids, false);
  } else {
    const { Tokenizer } = await import(path.join(mods, "@huggingface", "tokenizers", "dist", "tokenizers.mjs"));
    const tok = new Tokenizer(JSON.parse(fs.readFileSync(file, "utf8")), {});
    encode = async (text) => tok.encode(text, { add_special_tokens: false }).ids;
    decodeIds = async (ids) => tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }
  for (const f of inputs) {
    const ids = await encode(fs.readFileSync(f, "utf8"));
    process.stdout.write((decode ? JSON.stringify(await decodeIds(Array.from(ids))) : ids.join(" ")) + "\n");
  }
}

main().catch((e) => {
  process.stderr.write(String(e.stack || e) + "\n");
  process.exit(1);
});
