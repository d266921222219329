#!/usr/bin/env node
// Regenerates src/Tta/Tokenizers/HuggingFaceUnicodeData.txt: every character class and mapping the C# tokenizers use,
// read off Hugging Face's tokenizers (the Rust library, through the node build pinned in package-lock.json) by probing
// every Unicode scalar value through the very normalizers and pre-tokenizers that use them. The tables are therefore
// the ones that build was compiled with (the crates unicode_categories, unicode-normalization-alignments, regex,
// onig, and the Rust standard library's char methods, each at its own Unicode version), not .NET's current data.
//
//   cd tests/tokenizer-oracle && npm ci && node generate-tables.js ../../src/Tta/Tokenizers/HuggingFaceUnicodeData.txt
//
// Takes about a minute. The differential tests (tests/Tta.Tests/TokenizerDifferentialTests.cs) check the result end to
// end on every code point.
'use strict';
const fs = require('fs');
const path = require('path');
const hf = require('@anush008/tokenizers');

const out = process.argv[2];
if (!out) {
  console.error('usage: node generate-tables.js OUTPUT.txt');
  process.exit(2);
}

const scalars = [];
for (let cp = 0; cp < 0x110000; cp++) if (cp < 0xd800 || cp > 0xdfff) scalars.push(cp);
const ch = String.fromCodePoint;
const cps = (s) => Array.from(s, (c) => c.codePointAt(0));

// ---- probes: each is the library's own component run on a string built around one code point ----------------------
const clean = hf.bertNormalizer({ cleanText: true, handleChineseChars: false, stripAccents: false, lowercase: false });
const chinese = hf.bertNormalizer({ cleanText: false, handleChineseChars: true, stripAccents: false, lowercase: false });
const bertStrip = hf.bertNormalizer({ cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: false });
const nfd = hf.nfdNormalizer();
const stripAccents = hf.stripAccentsNormalizer();
const lower = hf.lowercase();
const whitespaceSplit = hf.whitespaceSplitPreTokenizer();
const digits = hf.digitsPreTokenizer(true);
const punctuation = hf.punctuationPreTokenizer('isolated');
const whitespace = hf.whitespacePreTokenizer();
const byteLevel = hf.byteLevelPreTokenizer(false, true);
const pieces = (pre, s) => pre.preTokenizeString(s).length;
// Hangul syllables decompose arithmetically (Unicode 3.12); the table leaves them out and the C# code computes them.
function hangul(cp) {
  const s = cp - 0xac00;
  const t = s % 28;
  return ch(0x1100 + Math.floor(s / 588)) + ch(0x1161 + Math.floor((s % 588) / 28)) + (t ? ch(0x11a7 + t) : '');
}

const sets = {
  CleanTextRemoves: [], CleanTextSpace: [], Chinese: [], WhiteSpace: [], Numeric: [], Punctuation: [],
  NonspacingMark: [], CombiningMark: [], RegexWord: [], RegexSpace: [], OnigLetter: [], OnigNumber: [], OnigSpace: [],
};
const lowercase = [];
const decompositions = [];
const nfdStable = [];

const started = Date.now();
for (const cp of scalars) {
  const c = ch(cp);
  const cleaned = clean.normalizeString(c);
  if (cleaned === '') sets.CleanTextRemoves.push(cp);
  else if (cleaned === ' ' && cp !== 0x20) sets.CleanTextSpace.push(cp);
  else if (cleaned !== c) throw new Error(`clean_text maps U+${cp.toString(16)} to ${JSON.stringify(cleaned)}`);
  const spaced = chinese.normalizeString(c);
  if (spaced === ` ${c} `) sets.Chinese.push(cp);
  else if (spaced !== c) throw new Error(`handle_chinese_chars maps U+${cp.toString(16)} to ${JSON.stringify(spaced)}`);

  const d = nfd.normalizeString(c);
  if (cp >= 0xac00 && cp <= 0xd7a3) {
    if (d !== hangul(cp)) throw new Error(`NFD of Hangul syllable U+${cp.toString(16)} is not the algorithmic one`);
  } else if (d !== c) decompositions.push([cp, cps(d)]);
  else {
    nfdStable.push(cp);
    if (bertStrip.normalizeString(c) === '') sets.NonspacingMark.push(cp);
  }
  if (stripAccents.normalizeString(c) === '') sets.CombiningMark.push(cp);
  const l = lower.normalizeString(c);
  if (l !== c) lowercase.push([cp, cps(l)]);

  if (pieces(whitespaceSplit, `a${c}b`) === 2) sets.WhiteSpace.push(cp);
  if (pieces(digits, `a${c}b`) === 3) sets.Numeric.push(cp);
  if (pieces(punctuation, `a${c}b`) === 3) sets.Punctuation.push(cp);
  // Whitespace pre-tokenizer, the regex crate's \w+|[^\w\s]+ : one piece = \w, two = \s, three = neither.
  const w = pieces(whitespace, `a${c}b`);
  if (w === 1) sets.RegexWord.push(cp);
  else if (w === 2) sets.RegexSpace.push(cp);
  // ByteLevel, Oniguruma running GPT-2's pattern: c joins a letter run after "a" only if \p{L}, a digit run after "1"
  // only if \p{N}, a symbol run after "!" only if [^\s\p{L}\p{N}]; what joins none of them is \s.
  if (pieces(byteLevel, `a${c}`) === 1) sets.OnigLetter.push(cp);
  else if (pieces(byteLevel, `1${c}`) === 1) sets.OnigNumber.push(cp);
  else if (pieces(byteLevel, `!${c}`) !== 1) sets.OnigSpace.push(cp);
}

// Canonical ordering (the reordering step of NFD): which NFD-stable characters are non-starters, and their order.
// nfd("a" + x + y) puts y first exactly when ccc(x) > ccc(y) > 0; U+0301 has ccc 230 and U+0316 ccc 220.
const swapped = (x, y) => nfd.normalizeString(`a${ch(x)}${ch(y)}`) === `a${ch(y)}${ch(x)}`;
const nonStarters = nfdStable.filter((cp) => swapped(0x301, cp) || swapped(cp, 0x316));
const ordered = [...nonStarters].sort((x, y) => (swapped(x, y) ? 1 : swapped(y, x) ? -1 : 0));
const canonicalOrder = [];
let rank = 0;
for (let i = 0; i < ordered.length; i++) {
  if (i === 0 || swapped(ordered[i], ordered[i - 1])) rank++;
  canonicalOrder.push([ordered[i], rank]);
}
canonicalOrder.sort((a, b) => a[0] - b[0]);
// The order must be total and consistent: every pair of neighbours in the sorted list agrees with the probe.
for (let i = 1; i < ordered.length; i++)
  if (swapped(ordered[i - 1], ordered[i])) throw new Error('canonical order is not consistent');

// ---- provenance: the crate versions compiled into the native module ---------------------------------------------------
const nativeDir = path.dirname(require.resolve('@anush008/tokenizers-linux-x64-gnu/package.json'));
const native = fs.readFileSync(path.join(nativeDir, fs.readdirSync(nativeDir).find((f) => f.endsWith('.node')))).toString('latin1');
const crate = (name) => (native.match(new RegExp(`${name}-(\\d+\\.\\d+\\.\\d+)`)) || [, '?'])[1];
const rustc = (native.match(/\/rustc\/([0-9a-f]{40})/) || [, '?'])[1];
const bindingVersion = require('@anush008/tokenizers/package.json').version;

// ---- the data file ----------------------------------------------------------------------------------------------------
const hex = (n) => n.toString(16).toUpperCase();
function ranges(list) {
  const r = [];
  for (const cp of list) {
    if (r.length && r[r.length - 1][1] === cp) r[r.length - 1][1] = cp + 1;
    else r.push([cp, cp + 1]);
  }
  return r;
}
const docs = {
  CleanTextRemoves: 'BertNormalizer clean_text drops: NUL, U+FFFD and unicode_categories is_other() (Cc, Cf, Co, Cn as that crate knows them) but tab, LF, CR.',
  CleanTextSpace: 'BertNormalizer clean_text turns into a space (tab, LF, CR and Rust char::is_whitespace, less what it drops).',
  Chinese: 'BertNormalizer handle_chinese_chars puts spaces around these (its fixed CJK ranges).',
  WhiteSpace: 'Rust char::is_whitespace (BertPreTokenizer, WhitespaceSplit, Strip, Metaspace-free splits).',
  Numeric: 'Rust char::is_numeric (Digits pre-tokenizer).',
  Punctuation: 'ASCII punctuation or unicode_categories is_punctuation() (BertPreTokenizer, Punctuation pre-tokenizer).',
  NonspacingMark: 'unicode_categories is_mark_nonspacing() (BertNormalizer strip_accents), among characters NFD leaves alone.',
  CombiningMark: 'unicode-normalization-alignments is_combining_mark() (StripAccents normalizer).',
  RegexWord: 'The regex crate\'s \\w (Whitespace pre-tokenizer, single_word added tokens).',
  RegexSpace: 'The regex crate\'s \\s (Whitespace pre-tokenizer, lstrip/rstrip added tokens).',
  OnigLetter: 'Oniguruma \\p{L} in the ByteLevel pre-tokenizer\'s GPT-2 pattern.',
  OnigNumber: 'Oniguruma \\p{N} in the ByteLevel pre-tokenizer\'s GPT-2 pattern.',
  OnigSpace: 'Oniguruma \\s in the ByteLevel pre-tokenizer\'s GPT-2 pattern.',
  Lowercase: 'Rust char::to_lowercase (Lowercase normalizer, BertNormalizer lowercase): code point, lower case.',
  Decompositions: 'unicode-normalization-alignments NFD of single code points (Hangul syllables are computed): code point, decomposition.',
  CanonicalOrder: 'Non-starters of NFD\'s canonical ordering: code point, rank (ranks order as canonical combining classes do).',
};
let text = `# Character classes and mappings of Hugging Face tokenizers, read once at first use by HuggingFaceUnicode.cs
# (embedded in Tta.dll as Tta.Tokenizers.HuggingFaceUnicodeData.txt).
# Generated by tests/tokenizer-oracle/generate-tables.js; do not edit, run it again instead:
#   cd tests/tokenizer-oracle && npm ci && node generate-tables.js ../../src/Tta/Tokenizers/HuggingFaceUnicodeData.txt
# Source: Hugging Face tokenizers ${crate('tokenizers')} (npm @anush008/tokenizers ${bindingVersion}), probed on every Unicode
# scalar value through its own normalizers and pre-tokenizers, so each table is the one that build uses: crates
# unicode_categories, unicode-normalization-alignments ${crate('unicode-normalization-alignments')}, regex-syntax ${crate('regex-syntax')},
# onig ${crate('onig')}, and the Rust standard library (rustc ${rustc.slice(0, 12)}) for char::is_whitespace, is_numeric,
# to_lowercase. Each older or newer than .NET's Unicode data in its own way, which is why .NET's is not used.
# Format: "[Name]" starts a table; each row below it is hexadecimal numbers separated by spaces. A set's rows are
# sorted [start, end) ranges; a mapping's rows are a code point and what it maps to.
`;
const table = (name, rows) => {
  text += `\n[${name}]\n# ${docs[name]}\n`;
  for (const row of rows) text += row.map(hex).join(' ') + '\n';
};
for (const [name, list] of Object.entries(sets)) table(name, ranges(list));
table('Lowercase', lowercase.map(([cp, to]) => [cp, ...to]));
table('Decompositions', decompositions.map(([cp, to]) => [cp, ...to]));
table('CanonicalOrder', canonicalOrder);
fs.writeFileSync(out, text);
const counts = Object.entries(sets).map(([k, v]) => `${k} ${v.length}`).join(', ');
console.log(`${out}: ${counts}, Lowercase ${lowercase.length}, Decompositions ${decompositions.length}, non-starters ${nonStarters.length} in ${rank} classes (${((Date.now() - started) / 1000).toFixed(1)} s)`);
