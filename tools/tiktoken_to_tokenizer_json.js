#!/usr/bin/env node
// tiktoken_to_tokenizer_json.js: writes one of tiktoken's encodings as a
// Hugging Face tokenizer.json (byte-level BPE), for the differential tests.
//
//   node tools/tiktoken_to_tokenizer_json.js NPM_PREFIX ENCODING OUT.json
//
// ENCODING is "gpt2" or "cl100k_base" (any encoding the npm package ships as
// NPM_PREFIX/node_modules/tiktoken/encoders/ENCODING.json works). The
// encoding's data there is {pat_str, special_tokens, bpe_ranks}, where
// bpe_ranks is a space-separated list of base64 tokens with consecutive
// ranks, each run introduced by "! RANK".
//
// tiktoken's model is "merge the adjacent pair whose concatenation has the
// lowest rank". A BPE model in tokenizer.json is "merge the listed pair with
// the lowest merge rank", so every token gets one merge per way of cutting it
// into two tokens, all at the token's own rank (ordered among themselves by
// the ranks of the halves), and ranks keep their order. The two models then
// make the same merges, with one theoretical exception: tiktoken breaks ties
// between two cuts of one token leftmost-first, the list by the order of the
// cuts (no hard case or KJV text hits it: the differential test would say).
//
// Token ids are tiktoken's ranks and special-token ids; cl100k_base leaves
// ids 100256 and 100261..100275 unused, and so does the file (the vocab has
// holes, which Hugging Face accepts).
//
// Layout: "gpt2" is written the way GPT-2's own tokenizer.json is (ByteLevel
// pre-tokenizer with its built-in regex, which is tiktoken's pat_str for
// gpt2); every other encoding the way Llama 3's file is (a Split on pat_str,
// then ByteLevel without regex; ignore_merges, which is tiktoken's
// whole-piece shortcut). Merges are written as two-element arrays for
// cl100k_base and as "a b" strings for gpt2, so both spellings are tested.
"use strict";
const fs = require("fs");
const path = require("path");

function byteAlphabet() {
  // GPT-2's bytes_to_unicode: printable Latin-1 stands for itself, the other
  // 68 bytes take 256, 257, ... in byte order.
  const code = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
    code[b] = String.fromCodePoint(printable ? b : 256 + extra++);
  }
  return code;
}

function parseRanks(text) {
  const ranks = []; // [Buffer, rank]
  let rank = 0;
  const items = text.split(/\s+/).filter((s) => s.length);
  for (let i = 0; i < items.length; i++) {
    if (items[i] === "!") { rank = Number(items[++i]); continue; }
    ranks.push([Buffer.from(items[i], "base64"), rank++]);
  }
  return ranks;
}

function main() {
  const [prefix, encoding, out] = process.argv.slice(2);
  if (!prefix || !encoding || !out) {
    process.stderr.write("usage: node tools/tiktoken_to_tokenizer_json.js NPM_PREFIX ENCODING OUT.json\n");
    process.exit(2);
  }
  const src = path.resolve(prefix, "node_modules", "tiktoken", "encoders", encoding + ".json");
  const enc = JSON.parse(fs.readFileSync(src, "utf8"));
  const code = byteAlphabet();
  const spell = (buf) => Array.from(buf, (b) => code[b]).join("");

  const ranks = parseRanks(enc.bpe_ranks);
  const rankOf = new Map(ranks.map(([b, r]) => [b.toString("latin1"), r]));
  const vocab = {};
  const merges = [];
  for (const [bytes, rank] of ranks.slice().sort((x, y) => x[1] - y[1])) {
    vocab[spell(bytes)] = rank;
    if (bytes.length < 2) continue;
    const key = bytes.toString("latin1");
    const cuts = [];
    for (let k = 1; k < key.length; k++) {
      const l = rankOf.get(key.slice(0, k)), r = rankOf.get(key.slice(k));
      if (l !== undefined && r !== undefined) cuts.push([l, r, k]);
    }
    cuts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (const [, , k] of cuts) merges.push([spell(bytes.subarray(0, k)), spell(bytes.subarray(k))]);
  }

  // Special tokens are vocab entries too (as in GPT-2's and Llama's files):
  // Hugging Face gives an added token its vocab id, and would otherwise
  // number it right after the vocab's size, not with tiktoken's id.
  for (const [content, id] of Object.entries(enc.special_tokens)) vocab[content] = id;
  const gpt2 = encoding === "gpt2";
  const added = Object.entries(enc.special_tokens)
    .sort((a, b) => a[1] - b[1])
    .map(([content, id]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const byteLevel = (useRegex) => ({ type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: useRegex });
  const tok = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: gpt2
      ? byteLevel(true)
      : { type: "Sequence", pretokenizers: [
          { type: "Split", pattern: { Regex: enc.pat_str }, behavior: "Isolated", invert: false },
          byteLevel(false)] },
    post_processor: byteLevel(true),
    decoder: byteLevel(true),
    model: {
      type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: !gpt2,
      vocab,
      merges: gpt2 ? merges.map((m) => m.join(" ")) : merges,
    },
  };
  const tmp = out + ".tmp";
  fs.writeFileSync(tmp, JSON.stringify(tok));
  fs.renameSync(tmp, out);
}

main();
