#!/usr/bin/env node
// hard_cases.js: writes the hard inputs of the tokenizer differential test.
//
//   node tests/tokenizer/hard_cases.js OUT_DIR
//
// One UTF-8 file per case in OUT_DIR (named NN-name.txt), each encoded whole
// by both tokenizers in tests/e2e/tokenizer_diff.sh. The cases aim at every
// place where a re-implementation of GPT-2's tokenizer can drift from
// tiktoken: the regex's whitespace and letter/number classes (including
// Unicode's newer letters), contractions, the end-of-text marker, merge
// order in long pre-tokens, and code points in every context. Deterministic:
// the random cases use a fixed seed.
"use strict";
const fs = require("fs");
const path = require("path");

const out = process.argv[2];
if (!out) {
  process.stderr.write("usage: node tests/tokenizer/hard_cases.js OUT_DIR\n");
  process.exit(2);
}
fs.mkdirSync(out, { recursive: true });
let n = 0;
const put = (name, text) => {
  fs.writeFileSync(path.join(out, String(n++).padStart(3, "0") + "-" + name + ".txt"), text, "utf8");
};
const cp = (c) => String.fromCodePoint(c);
const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

// Unicode White_Space (tiktoken's \s), the near misses, and Python-only spaces.
const spaces = [0x9, 0xa, 0xb, 0xc, 0xd, 0x20, 0x85, 0xa0, 0x1680, ...range(0x2000, 0x200a), 0x2028, 0x2029, 0x202f, 0x205f, 0x3000];
const nearMisses = [0x180e, 0x200b, 0x200c, 0x200d, 0x2060, 0xfeff, 0x1c, 0x1d, 0x1e, 0x1f, 0x0];

put("emoji", "hello 👋 world 🌍 😀😃😄 👍🏽👍🏿 🇫🇷🇯🇵 🏴‍☠️ ❤️ ☺︎ 1️⃣ #️⃣ 🫠🫨");
put("zwj", "👨‍👩‍👧‍👦 👩🏽‍💻 🏳️‍🌈 🧑‍🤝‍🧑 👁️‍🗨️ a‍b a‌b x\u200dy");
put("cjk", "你好，世界！这是一个测试。日本語のテキスト、カタカナとひらがな。한국어 텍스트입니다. 漢字かな交じり文「引用」『二重』【括弧】");
put("vietnamese-nfc", "Tiếng Việt có dấu: Người ta nói rằng, đường đi khó không khó vì ngăn sông cách núi.");
put("vietnamese-nfd", "Tiếng Việt có dấu: Người ta nói rằng đường đi khó.".normalize("NFD"));
put("combining", "e\u0301 a\u0300\u0316 Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334 n\u0303 ﷺ ﷽ ğ\u0306");
put("arabic-hebrew", "مرحبا بالعالم! السلام عليكم ١٢٣٤٥٦٧٨٩٠ שלום עולם 123 ‏עברית‎ ܫܠܡܐ");
put("indic-thai", "नमस्ते दुनिया क्षत्रिय ४५६ தமிழ் ภาษาไทย ๑๒๓ ລາວ ཀཁག");
put("whitespace-runs", "a\tb\t\tc \t d\r\ne\r\r\nf\n\n\ng   \n  h \r\n \r\n i\t\n\t\n j" + "\n".repeat(7) + "k" + " ".repeat(9) + "\n" + "\t".repeat(5) + "end   ");
put("unicode-spaces", spaces.map((s) => "x" + cp(s) + "y" + cp(s) + cp(s) + "z " + cp(s) + " 1" + cp(s) + "!" + cp(s) + cp(s)).join("|"));
put("space-runs", spaces.map((s) => cp(s).repeat(3) + "w" + " " + cp(s) + " " + cp(s).repeat(2) + "\n").join("") + "   ");
put("near-miss-spaces", nearMisses.map((s) => "x" + cp(s) + "y " + cp(s) + "z  " + cp(s) + cp(s) + "!" + cp(s) + "1").join(" "));
put("control-chars", range(0, 0x1f).concat(range(0x7f, 0x9f)).map((c) => "a" + cp(c) + "b " + cp(c) + cp(c) + " ").join(""));
put("contractions", "'s 't 're 've 'm 'll 'd 'S 'T 'RE 'Re 'rE 'VE 'M 'LL 'Ll 'D I'M YOU'LL he'S it's can't won't y'all ''s ''' 's's 'ss 'lll 'dd rock'n'roll ’s ’ll '\n's");
put("digits-letters", "abc123def 1,234,567.89 0x1F 3.14e-10 x²³ H₂O Ⅻ ½ ¾ ٣٤٥ ४५६ 2nd 3rd 10th 1a2b3c 000000000 0000000000000000 12345678901234567890");
put("code-c", "#include <stdio.h>\nint main(int argc, char **argv) {\n\tfor (int i = 0; i < argc; i++) {\n\t\tprintf(\"%s\\n\", argv[i]);\n\t}\n    return 0; // done\n}\n");
put("code-python", "def f(x):\n    if x <= 0:\n        return [y ** 2 for y in range(10)]\n    else:\n\treturn {'a': 1, \"b\": None}  # comment\n\n\nclass A(object):\n    pass\n");
put("code-misc", "<div class=\"x\">&nbsp;&lt;</div> $ ls -la | grep '^d' && echo \"ok\" || exit 1; SELECT * FROM t WHERE a>=1; ===>>> <<<=== !== ?? ... --- *** ___");
put("punctuation", "!!!??? ... ,,, ;;; ::: ''' \"\"\" ((( ))) [[[ ]]] {{{ }}} <<< >>> ~~~ ``` @@@ ### $$$ %%% ^^^ &&& *** ___ +++ === ||| \\\\\\ /// «» „“ ‹› — – … ‰ † ‡ • ©®™");
put("endoftext", "a<|endoftext|>b <|endoftext|> <|endoftext|><|endoftext|>\n<|endoftext|>\n <|endoftext <|endoftext| endoftext|> <|endoftext|>x<|endoftext|>");
put("long-word", "super".repeat(2000) + " " + "a".repeat(5000) + " " + "abcdefghij".repeat(1000));
put("long-digits", "1234567890".repeat(1000) + " " + "0".repeat(3000) + " " + "9".repeat(2001));
put("long-punct", "!".repeat(5000) + " " + "-=".repeat(2000) + " " + ".".repeat(3001));
put("long-spaces", " ".repeat(10000) + "x" + "\n".repeat(3000) + "y" + "\t \n".repeat(1000) + "z" + " ".repeat(4097));
put("long-emoji", "😀".repeat(1000) + " " + "👨‍👩‍👧‍👦".repeat(300) + " " + "你".repeat(3000));
put("mixed-scripts", "Hello мир κόσμος 世界 العالم עולם दुनिया 세계 world Straße ÆØÅ æøå ĳ ǅ ﬁ ﬀ Å Ω ＡＢＣ１２３ ｶﾀｶﾅ");
put("private-use-noncharacters", [0xe000, 0xf8ff, 0xfffd, 0xfffe, 0xffff, 0xf0000, 0x10fffd, 0x10ffff, 0x1fffe].map((c) => "a" + cp(c) + "b " + cp(c)).join(" "));

// For tokenizer.json (tests/e2e/tokenizer_json_diff.sh): the special tokens
// of the test tokenizers in every kind of surrounding (whitespace that
// lstrip/rstrip eat, word characters that single_word refuses, inside
// words), SentencePiece's own spellings written as text, and case-folding
// contractions ((?i:'s|...) in Llama 3's and Qwen2's regex).
const specials = ["<s>", "</s>", "<unk>", "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|im_start|>",
                  "<|im_end|>", "<|endoftext|>", "<|padding|>", "<repo_name>", "<|end|>", "<|user|>", "<mask>", "[X]",
                  "<|reserved_special_token_1|>"];
put("special-tokens", specials.map((s) => s + "x " + s + " x" + s + "  " + s + "\n\t" + s + s + " \u3000" + s + "\u00a0y" +
                                   s.slice(0, -1) + " " + s.toUpperCase()).join("\n") +
    "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n<s>[INST] hi [/INST]</s><s> x</s>");
put("added-words", "Lord LORD Lord's Lordship the Lord, (Lord) _Lord Lord_ Lord1 1Lord éLord Lordé theLord the the. " +
    "[X] a[X]b [X]x x[X] [X][X] don’t don't DON’T ﬁre fire ﬁ ﬁreﬁ the\u2019s");
put("sentencepiece-spellings", "▁ ▁▁ a▁b ▁hello ▁▁▁x <0x41> <0x0A> <0xFF> <0x+A> <0x4 <unk><unk> ▁<s>▁ \u2581\u2581 end▁");
put("case-folding", "'S 'ſ 'K 'ﬆ 'ß 'İ 'LL 'Ll 'lL 'ℓℓ 'VE 'vE 'Re 'rE 'M 'D 'T 'ſt it'ſ he'S I'LL x'ΣS");
put("space-runs-2-30", Array.from({ length: 29 }, (_, i) => "w" + " ".repeat(i + 2) + "x" + "\t".repeat(i % 4) + "\n").join("") +
    " ".repeat(24) + " ".repeat(12) + "|" + " ".repeat(25) + "|" + " ".repeat(48));
put("numbers", "1 12 123 1234 12345 1,234,567.890 0.5 -3 +4 1e10 ²³ x² ¹²³ ١٢٣٤ ۱۲۳ ४५६ ๑๒๓ ⅻ Ⅻ ① ②③ ½ ¼ 𝟏𝟐𝟑 ０１２ 3rd 10000000000000000000000");
put("newlines", "a\r\n\r\n  b \r \n\t\r\nc\n\n\n  \n d\r\r\r e \n\n\n\n\n\nf\u2028g\u2029h\u0085i\x0bj\x0ck");
// NFC: compositions, reorderings of combining marks by class, Hangul jamo,
// singletons, and marks newer than Unicode 9.0 next to old ones (Hugging
// Face composes with Unicode 9.0 tables).
const marks = [...range(0x300, 0x36f), ...range(0x483, 0x489), ...range(0x591, 0x5c7), ...range(0x610, 0x61a),
               ...range(0x64b, 0x65f), ...range(0x1ab0, 0x1ace), ...range(0x1dc0, 0x1dff), ...range(0x20d0, 0x20f0),
               ...range(0xfe20, 0xfe2f), 0x93c, 0x9bc, 0x9be, 0x9d7, 0xb3e, 0xb56, 0xb57, 0xbbe, 0xbd7, 0xcc2, 0xcd5,
               0xd3e, 0xd57, 0x102e, 0x1b35, 0x3099, 0x309a, 0x11127, 0x1133e, 0x11357, 0x114b0, 0x115af, 0x11930,
               0x16ff0, 0x1e8d0, 0x1e944];
put("nfc", marks.map((m) => "e" + cp(m) + "\u0301 " + "e\u0301" + cp(m) + " a" + cp(m) + "\u0316\u0300 " + cp(m) + "x ").join("") +
    " \u1100\u1161\u11a8 \u1100\u1161 \uac00\u11a8 \u212b \u2126 A\u030a \u0344 \u0f73 \u1e9b\u0323 \u0958 \ufb2a \u2adc" +
    " \ud834\udd5e \u00c5\u0301 \u0061\u0328\u0301 \u0105\u0301 \u1ed9 o\u0323\u0302 o\u0302\u0323");

// Every assigned-or-assignable code point (planes 0-3 and 14, all but
// surrogates; a sample of the unassigned and private-use planes) in the
// contexts where the regex's classes decide pre-token boundaries: after and
// before a letter, a digit, a punctuation mark, spaces, itself, and the CJK
// letters that GPT-2 has merges for.
const contexts = (s) => "a" + s + "b " + s + "é1" + s + "2." + s + "!  " + s + "x" + s + s + "醒" + s + "士\n";
const all = [];
for (let c = 0; c <= 0x10ffff; c++) {
  const plane = c >> 16;
  if ((c < 0xd800 || c > 0xdfff) && (plane <= 3 || plane === 14 || c % 257 === 0)) all.push(c);
}
const chunk = 0x8000;
for (let i = 0; i < all.length; i += chunk) {
  const part = all.slice(i, i + chunk);
  put("codepoints-" + part[0].toString(16), part.map((c) => contexts(cp(c))).join(""));
}

// Random strings over a mix of alphabets (fixed seed: xorshift32).
let seed = 0x9e3779b9;
const rand = (k) => {
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed % k;
};
const alphabet = [..."aeiouxyzAEZ019 \t\n\r'sdltmrev.,!?-_\"#()é中文😀\u0301\u00a0\u3000\u2028\u180e\u0085", "<|endoftext|>", "'ll", "'S", "  ", "\r\n"];
for (let f = 0; f < 4; f++) {
  let s = "";
  for (let i = 0; i < 50000; i++) s += alphabet[rand(alphabet.length)];
  put("random-" + f, s);
}
