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
