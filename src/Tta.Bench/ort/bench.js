// The ONNX Runtime baseline of Bench's corpus-extract case: one node process, one InferenceSession on the CPU with
// the given intra-op threads, run over the given batches (each a list of token-id sequences, right-padded with
// zeros, attention mask 0 at padding). Prints one JSON line: the wall and CPU seconds of every round and the tokens per round.
// usage: node bench.js MODEL.onnx INPUT.json THREADS ROUNDS
const ort = require('onnxruntime-node');
const fs = require('fs');

async function main() {
  const [model, input, threads, rounds] = process.argv.slice(2);
  const batches = JSON.parse(fs.readFileSync(input, 'utf8')).batches;
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: Number(threads),
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const feeds = batches.map(seqs => {
    const width = Math.max(...seqs.map(s => s.length));
    const ids = new BigInt64Array(seqs.length * width);
    const mask = new BigInt64Array(seqs.length * width);
    seqs.forEach((s, b) => s.forEach((id, i) => { ids[b * width + i] = BigInt(id); mask[b * width + i] = 1n; }));
    const dims = [seqs.length, width];
    const feed = {
      input_ids: new ort.Tensor('int64', ids, dims),
      attention_mask: new ort.Tensor('int64', mask, dims),
    };
    if (session.inputNames.includes('token_type_ids')) feed.token_type_ids = new ort.Tensor('int64', new BigInt64Array(seqs.length * width), dims);
    return feed;
  });
  const tokens = batches.reduce((n, seqs) => n + seqs.reduce((m, s) => m + s.length, 0), 0);
  // Warm-up: one pass over the first batches (session start, allocator arenas).
  for (const feed of feeds.slice(0, 20)) await session.run(feed);
  const seconds = [], cpu = [];
  for (let r = 0; r < Number(rounds); r++) {
    const start = process.hrtime.bigint();
    const used = process.cpuUsage();
    for (const feed of feeds) await session.run(feed);
    seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
    const spent = process.cpuUsage(used);
    cpu.push((spent.user + spent.system) / 1e6);
  }
  console.log(JSON.stringify({ seconds, cpu, tokens, batches: batches.length }));
}

main().catch(e => { console.error(e); process.exit(1); });
