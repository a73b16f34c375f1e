#!/usr/bin/env node
// make_test_tokenizers.js: writes the small tokenizer.json files of the
// tokenizer.json differential test, one per variant of the format that real
// models use, each trained here by BPE on the given corpus.
//
//   node tools/make_test_tokenizers.js OUT_DIR GPT2_FILES_DIR CORPUS_FILE...
//
// Writes OUT_DIR/<variant>/tokenizer.json for each variant below (and
// OUT_DIR/gpt2-hf/tokenizer.json from GPT-2's real vocab.json + merges.txt
// in GPT2_FILES_DIR, laid out as GPT-2's own tokenizer.json is). The
// structure of each file (normalizer, pre-tokenizer, model options, added
// tokens, decoder, post-processor) follows the real model's file named in
// the variant's comment; only the vocab and merges are small and trained
// here. Training is ordinary BPE: count adjacent symbol pairs over the
// corpus's words (cut by a JavaScript stand-in for the variant's
// pre-tokenizer: training only needs plausible merges, exactness is the
// encoder's business), merge the most frequent pair (ties: the smaller pair
// as strings), repeat. Deterministic for a given corpus.
"use strict";
const fs = require("fs");
const path = require("path");

// ---- text -------------------------------------------------------------------------

function byteAlphabet() {
  const code = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
    code[b] = String.fromCodePoint(printable ? b : 256 + extra++);
  }
  return code;
}
const ALPHABET = byteAlphabet();
// GPT-2's id order for the 256 byte tokens: printable bytes first, in byte
// order, then the others (bytes_to_unicode's order).
const BYTE_ORDER = Array.from({ length: 256 }, (_, b) => b).sort(
  (a, b) => ALPHABET[a].codePointAt(0) - ALPHABET[b].codePointAt(0));
const spellBytes = (s) => Array.from(Buffer.from(s, "utf8"), (b) => ALPHABET[b]).join("");

const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const LLAMA3_SPLIT = /'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;
const LLAMA3_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// ---- training -----------------------------------------------------------------------

// words: Map word -> count, each word an array of symbols (strings).
// Returns the merges [left, right] in order.
function trainBpe(words, nMerges) {
  const syms = [], counts = [];
  for (const [w, c] of words) { syms.push(w); counts.push(c); }
  const pairCount = new Map(), pairWords = new Map();
  const key = (a, b) => a + "\u0000" + b;
  const addPairs = (wi, sign) => {
    const s = syms[wi];
    for (let i = 0; i + 1 < s.length; i++) {
      const k = key(s[i], s[i + 1]);
      pairCount.set(k, (pairCount.get(k) || 0) + sign * counts[wi]);
      if (sign > 0) {
        let set = pairWords.get(k);
        if (!set) pairWords.set(k, (set = new Set()));
        set.add(wi);
      }
    }
  };
  for (let wi = 0; wi < syms.length; wi++) addPairs(wi, 1);
  const merges = [];
  while (merges.length < nMerges) {
    let best = null, bestCount = 1; // a pair seen once is not worth a token
    for (const [k, c] of pairCount) if (c > bestCount || (c === bestCount && best !== null && k < best)) { best = k; bestCount = c; }
    if (best === null) break;
    const [a, b] = best.split("\u0000");
    merges.push([a, b]);
    for (const wi of pairWords.get(best)) {
      const s = syms[wi];
      let has = false;
      for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) { has = true; break; }
      if (!has) continue;
      addPairs(wi, -1);
      const t = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) { t.push(a + b); i++; } else t.push(s[i]);
      }
      syms[wi] = t;
      addPairs(wi, 1);
    }
    pairCount.delete(best);
  }
  return merges;
}

function countWords(text, split, toSymbols) {
  const words = new Map();
  for (const m of text.matchAll(split)) words.set(m[0], (words.get(m[0]) || 0) + 1);
  const out = new Map();
  for (const [w, c] of words) {
    const s = toSymbols(w);
    const k = s.join("\u0001");
    const prev = out.get(k);
    out.set(k, prev ? [prev[0], prev[1] + c] : [s, c]);
  }
  return new Map(Array.from(out.values()).map(([s, c]) => [s, c]));
}

// ---- file layout ----------------------------------------------------------------------

const added = (id, content, o = {}) => ({
  id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true, ...o,
});
const byteLevel = (o = {}) => ({ type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true, ...o });
const split = (pattern, behavior, invert = false) => ({ type: "Split", pattern, behavior, invert });
const template = (bos, bosId) => ({
  type: "TemplateProcessing",
  single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
  pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } },
         { SpecialToken: { id: bos, type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } }],
  special_tokens: { [bos]: { id: bos, ids: [bosId], tokens: [bos] } },
});
const bpeModel = (vocab, merges, o = {}) => ({
  type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
  fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges, ...o,
});

// Byte-level vocab: `first` tokens (specials kept in the vocab), the 256
// bytes in GPT-2's order, then one token per merge.
function byteLevelVocab(merges, first = []) {
  const vocab = {};
  let id = 0;
  for (const t of first) vocab[t] = id++;
  for (const b of BYTE_ORDER) vocab[ALPHABET[b]] = id++;
  for (const [a, b] of merges) if (!(a + b in vocab)) vocab[a + b] = id++;
  return vocab;
}

function trainByteLevel(corpus, splitRe, nMerges) {
  return trainBpe(countWords(corpus, splitRe, (w) => Array.from(spellBytes(w))), nMerges);
}

// SentencePiece-style: text with "▁" for spaces and one in front; symbols
// are characters; control characters and characters seen fewer than 3
// times are left to byte fallback. Vocab: <unk> <s> </s>, <0x00>..<0xFF>, characters, merges.
function trainSentencePiece(corpus, nMerges) {
  const text = "▁" + corpus.replace(/ /g, "▁");
  const charCount = new Map();
  for (const c of text) charCount.set(c, (charCount.get(c) || 0) + 1);
  const chars = Array.from(charCount).filter(([c, n]) => n >= 3 && c >= " ").sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).map(([c]) => c);
  const known = new Set(chars);
  const words = countWords(text, /▁[^▁]*|[^▁]+/gu, (w) => Array.from(w).filter((c) => known.has(c)));
  const merges = trainBpe(words, nMerges);
  const vocab = { "<unk>": 0, "<s>": 1, "</s>": 2 };
  let id = 3;
  for (let b = 0; b < 256; b++) vocab["<0x" + b.toString(16).toUpperCase().padStart(2, "0") + ">"] = id++;
  for (const c of chars) if (!(c in vocab)) vocab[c] = id++;
  for (const [a, b] of merges) if (!(a + b in vocab)) vocab[a + b] = id++;
  return { vocab, merges };
}

const SP_DECODER = {
  type: "Sequence",
  decoders: [{ type: "Replace", pattern: { String: "▁" }, content: " " }, { type: "ByteFallback" }, { type: "Fuse" },
             { type: "Strip", content: " ", start: 1, stop: 0 }],
};
const SP_ADDED = [added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")];

// ---- variants --------------------------------------------------------------------------

function variants(corpus, gpt2Dir) {
  const out = {};
  const strings = (merges) => merges.map(([a, b]) => a + " " + b);

  // GPT-2 (openai-community/gpt2): the real vocab and merges.
  {
    const vocab = JSON.parse(fs.readFileSync(path.join(gpt2Dir, "encoder.json"), "utf8"));
    const merges = fs.readFileSync(path.join(gpt2Dir, "vocab.bpe"), "utf8").split("\n").filter((l) => l && !l.startsWith("#version"));
    out["gpt2-hf"] = {
      version: "1.0", truncation: null, padding: null,
      added_tokens: [added(50256, "<|endoftext|>", { normalized: true })],
      normalizer: null, pre_tokenizer: byteLevel(), post_processor: byteLevel(), decoder: byteLevel(),
      model: bpeModel(vocab, merges, { continuing_subword_prefix: "", end_of_word_suffix: "" }),
    };
  }

  // Llama 3.x (meta-llama/Llama-3.2-1B): Split on its regex, then ByteLevel
  // without regex; ignore_merges; merges as arrays; <|begin_of_text|> added by
  // the template.
  {
    const merges = trainByteLevel(corpus, LLAMA3_SPLIT, 1500);
    const vocab = byteLevelVocab(merges);
    const n = Object.keys(vocab).length;
    const specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                      "<|reserved_special_token_1|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"];
    out["llama3"] = {
      version: "1.0", truncation: null, padding: null,
      added_tokens: specials.map((s, i) => added(n + i, s)),
      normalizer: null,
      pre_tokenizer: { type: "Sequence", pretokenizers: [split({ Regex: LLAMA3_PATTERN }, "Isolated"), byteLevel({ use_regex: false })] },
      post_processor: { type: "Sequence", processors: [byteLevel({ use_regex: false }), template("<|begin_of_text|>", n)] },
      decoder: byteLevel({ use_regex: false }),
      model: bpeModel(vocab, merges, { ignore_merges: true }),
    };
  }

  // Qwen2 / Qwen2.5 (Qwen/Qwen2.5-0.5B): NFC, Split on its regex (single
  // digits), ByteLevel without regex; merges as strings; no BOS.
  {
    const merges = trainByteLevel(corpus.normalize("NFC"), LLAMA3_SPLIT, 1500);
    const vocab = byteLevelVocab(merges);
    const n = Object.keys(vocab).length;
    out["qwen2"] = {
      version: "1.0", truncation: null, padding: null,
      added_tokens: ["<|endoftext|>", "<|im_start|>", "<|im_end|>"].map((s, i) => added(n + i, s)),
      normalizer: { type: "NFC" },
      pre_tokenizer: { type: "Sequence", pretokenizers: [split({ Regex: QWEN2_PATTERN }, "Isolated"), byteLevel({ use_regex: false, trim_offsets: false })] },
      post_processor: byteLevel({ use_regex: false, trim_offsets: false }),
      decoder: byteLevel({ use_regex: false, trim_offsets: false }),
      model: bpeModel(vocab, strings(merges)),
    };
  }

  // SmolLM / SmolLM2 (HuggingFaceTB/SmolLM2-135M): Digits then ByteLevel with
  // GPT-2's regex; its special tokens are the first vocab entries.
  {
    // Digits are cut one by one before merging: no merge has one.
    const merges = trainByteLevel(corpus, GPT2_SPLIT, 1500).filter(([a, b]) => !/\p{N}/u.test(a + b));
    const specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<file_sep>"];
    const vocab = byteLevelVocab(merges, specials);
    out["smollm"] = {
      version: "1.0", truncation: null, padding: null,
      added_tokens: specials.map((s, i) => added(i, s)),
      normalizer: null,
      pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Digits", individual_digits: true }, byteLevel()] },
      post_processor: null,
      decoder: byteLevel(),
      model: bpeModel(vocab, strings(merges)),
    };
  }

  // Pythia / GPT-NeoX-20B (EleutherAI/pythia-160m): NFC, ByteLevel with
  // GPT-2's regex; runs of spaces are added tokens matched in the normalized
  // text (normalized, not special).
  {
    const merges = trainByteLevel(corpus, GPT2_SPLIT, 1500);
    const vocab = byteLevelVocab(merges, ["<|endoftext|>", "<|padding|>"]);
    const n = Object.keys(vocab).length;
    const spaces = [24, 12, 8, 4, 3, 2].map((k, i) => added(n + i, " ".repeat(k), { normalized: true, special: false }));
    out["pythia"] = {
      version: "1.0", truncation: null, padding: null,
      added_tokens: [added(0, "<|endoftext|>"), added(1, "<|padding|>"), ...spaces],
      normalizer: { type: "NFC" },
      pre_tokenizer: byteLevel({ trim_offsets: true }),
      post_processor: byteLevel(),
      decoder: byteLevel(),
      model: bpeModel(vocab, strings(merges)),
    };
  }

  // Added-token flags as real files use them: rstrip (Phi-3's <|end|>),
  // lstrip (RoBERTa's <mask>), single_word, and normalized tokens matched
  // after a normalizer that changes them; ByteLevel with add_prefix_space;
  // RobertaProcessing.
  {
    const merges = trainByteLevel(corpus, GPT2_SPLIT, 800);
    const vocab = byteLevelVocab(merges, ["<s>", "</s>"]);
    const n = Object.keys(vocab).length;
    out["added-flags"] = {
      version: "1.0", truncation: null, padding: null,
      added_tokens: [
        added(0, "<s>"), added(1, "</s>"),
        added(n, "<|end|>", { rstrip: true }), added(n + 1, "<|user|>", { rstrip: true, lstrip: true }),
        added(n + 2, "<mask>", { lstrip: true }), added(n + 3, "Lord", { single_word: true, special: false }),
        added(n + 4, "[X]", { single_word: true, normalized: true }), added(n + 5, "don’t", { normalized: true, special: false }),
        added(n + 6, "ﬁre", { normalized: true, special: false }), added(n + 7, "the", { normalized: false, special: false }),
      ],
      normalizer: { type: "Sequence", normalizers: [{ type: "NFC" }, { type: "Replace", pattern: { String: "’" }, content: "'" },
                                                     { type: "Replace", pattern: { Regex: "ﬁ" }, content: "fi" }] },
      pre_tokenizer: byteLevel({ add_prefix_space: true }),
      post_processor: { type: "RobertaProcessing", sep: ["</s>", 1], cls: ["<s>", 0], trim_offsets: true, add_prefix_space: true },
      decoder: byteLevel(),
      model: bpeModel(vocab, strings(merges)),
    };
  }

  // Split behaviours and patterns no real model above uses, for coverage of
  // the format: literal patterns, MergedWithPrevious/Next, Contiguous,
  // Removed, invert.
  {
    const merges = trainByteLevel(corpus, GPT2_SPLIT, 800);
    out["split-behaviors"] = {
      version: "1.0", truncation: null, padding: null, added_tokens: [], normalizer: null,
      pre_tokenizer: { type: "Sequence", pretokenizers: [
        split({ String: ", " }, "MergedWithPrevious"), split({ Regex: "\\p{Lu}" }, "MergedWithNext"),
        split({ Regex: "\\d" }, "Contiguous"), split({ Regex: "[!?;:]|\\x{A0}" }, "Removed"),
        split({ Regex: "\\s+" }, "Isolated", true), byteLevel({ use_regex: false })] },
      post_processor: null,
      decoder: byteLevel(),
      model: bpeModel(byteLevelVocab(merges), merges),
    };
  }

  // Character classes: each Split removes what its class matches, so a code
  // point classified differently from Oniguruma changes the ids.
  {
    const merges = trainByteLevel(corpus, GPT2_SPLIT, 300);
    out["regex-classes"] = {
      version: "1.0", truncation: null, padding: null, added_tokens: [], normalizer: null,
      pre_tokenizer: { type: "Sequence", pretokenizers: [
        split({ Regex: "\\p{Lu}\\p{Ll}+|\\p{Lt}|\\p{Lm}\\p{Lo}" }, "Removed"),
        split({ Regex: "\\p{M}|\\p{Nd}|\\p{Pd}|\\p{Ps}\\p{Pe}|\\p{Sm}|\\p{Sc}|\\p{Sk}|\\p{Zs}\\p{Zl}\\p{Zp}|\\p{Cf}" }, "Removed"),
        split({ Regex: "\\w\\d|\\h\\H|\\v|[\\S\\n]\\s|\\u00e9|[^\\p{L}\\p{N}\\p{P}\\p{S}\\s]" }, "Removed"),
        split({ Regex: "\\p{No}\\p{Nl}|\\p{Pi}\\p{Pf}|\\p{Po}|\\p{So}|\\p{Cc}|\\p{Co}" }, "Isolated"),
        byteLevel({ use_regex: false })] },
      post_processor: null,
      decoder: byteLevel(),
      model: bpeModel(byteLevelVocab(merges), merges),
    };
  }

  // Llama 2, TinyLlama, Mistral 7B v0.1: SentencePiece-style BPE. Prepend
  // "▁" and Replace " " with "▁"; no pre-tokenizer; byte_fallback, fuse_unk;
  // the decoder undoes it; <s> added by the template.
  const sp = trainSentencePiece(corpus, 1500);
  out["llama2"] = {
    version: "1.0", truncation: null, padding: null, added_tokens: SP_ADDED,
    normalizer: { type: "Sequence", normalizers: [{ type: "Prepend", prepend: "▁" }, { type: "Replace", pattern: { String: " " }, content: "▁" }] },
    pre_tokenizer: null,
    post_processor: template("<s>", 1),
    decoder: SP_DECODER,
    model: bpeModel(sp.vocab, strings(sp.merges), { unk_token: "<unk>", fuse_unk: true, byte_fallback: true }),
  };

  // The same model written the newer way (Llama 2 converted with
  // legacy=false, Mistral's later files): a Metaspace pre-tokenizer with
  // prepend_scheme "first" instead of the normalizer.
  out["metaspace"] = {
    ...out["llama2"],
    normalizer: null,
    pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: "first", split: false },
  };

  // No byte fallback: unknown characters become <unk> (not fused); Metaspace
  // splitting at every "▁" and the Metaspace decoder.
  out["sp-unk"] = {
    ...out["llama2"],
    normalizer: null,
    pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: true },
    decoder: { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: true },
    model: bpeModel(sp.vocab, sp.merges, { unk_token: "<unk>", fuse_unk: false, byte_fallback: false }),
  };
  return out;
}

function main() {
  const [outDir, gpt2Dir, ...corpusFiles] = process.argv.slice(2);
  if (!outDir || !gpt2Dir || corpusFiles.length === 0) {
    process.stderr.write("usage: node tools/make_test_tokenizers.js OUT_DIR GPT2_FILES_DIR CORPUS_FILE...\n");
    process.exit(2);
  }
  const corpus = corpusFiles.map((f) => fs.readFileSync(f, "utf8")).join("\n");
  for (const [name, tok] of Object.entries(variants(corpus, gpt2Dir))) {
    const dir = path.join(outDir, name);
    fs.mkdirSync(dir, { recursive: true });
    const tmp = path.join(dir, "tokenizer.json.tmp");
    fs.writeFileSync(tmp, JSON.stringify(tok));
    fs.renameSync(tmp, path.join(dir, "tokenizer.json"));
  }
}

main();
