#!/usr/bin/env node
// ONNX Runtime (onnxruntime-node, CPU) throughput of an ONNX model, for comparison with `adx bench`.
// Usage: node scripts/bench_peers.js MODEL.onnx BATCH THREADS SECONDS
// Prints one JSON line: {"peer":"onnxruntime","batch":B,"threads":T,"images_per_s":R,...}
// onnxruntime-node is looked up in $ADX_PEERS_DIR/node_modules (default build/peers, as installed by
// scripts/bench.sh with `npm install --prefix build/peers --ignore-scripts onnxruntime-node@1.30.0`),
// then on the normal Node module path.
'use strict';
const path = require('path');

function loadOrt() {
  const dirs = [process.env.ADX_PEERS_DIR, path.join(__dirname, '..', 'build', 'peers')].filter(Boolean);
  for (const d of dirs) {
    try {
      return require(path.resolve(d, 'node_modules', 'onnxruntime-node'));
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  return require('onnxruntime-node');
}

function usage(msg) {
  process.stderr.write(`bench_peers.js: ${msg}\nusage: node scripts/bench_peers.js MODEL.onnx BATCH THREADS SECONDS\n`);
  process.exit(2);
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv.length !== 4) usage('expected 4 arguments');
  const [model, bs, ts, ss] = argv;
  const batch = Number(bs), threads = Number(ts), seconds = Number(ss);
  if (!(Number.isInteger(batch) && batch >= 1)) usage(`BATCH '${bs}' is not a positive integer`);
  if (!(Number.isInteger(threads) && threads >= 1)) usage(`THREADS '${ts}' is not a positive integer`);
  if (!(seconds > 0)) usage(`SECONDS '${ss}' is not a positive number`);

  const ort = loadOrt();
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const inName = session.inputNames[0];
  // Input shape from the model; symbolic/unknown dims are the batch (first) or an error.
  let shape = null;
  const meta = session.inputMetadata;
  if (meta) {
    const m = Array.isArray(meta) ? meta.find((x) => x.name === inName) || meta[0] : meta[inName];
    if (m && m.shape) shape = m.shape;
  }
  if (!shape) throw new Error(`${model}: onnxruntime gives no shape for input '${inName}'`);
  const dims = shape.map((d, i) => {
    if (typeof d === 'number' && d > 0) return i === 0 ? batch : d;
    if (i === 0) return batch;
    throw new Error(`${model}: input '${inName}' has a non-batch symbolic dimension ${i} (${d})`);
  });
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = 42;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = (s / 4294967296) * 2 - 1;
  }
  const feeds = { [inName]: new ort.Tensor('float32', data, dims) };

  // Warm-up: 2 runs (allocations, kernel selection), then timed runs for about SECONDS (at least 3).
  for (let i = 0; i < 2; i++) await session.run(feeds);
  let calls = 0;
  const t0 = process.hrtime.bigint();
  let t = 0;
  do {
    await session.run(feeds);
    calls++;
    t = Number(process.hrtime.bigint() - t0) / 1e9;
  } while (t < seconds || calls < 3);
  const rate = (calls * batch) / t;
  process.stdout.write(
    JSON.stringify({
      peer: 'onnxruntime',
      version: ort.env && ort.env.versions ? ort.env.versions.common || null : null,
      batch,
      threads,
      images_per_s: Math.round(rate * 100) / 100,
      calls,
      seconds: Math.round(t * 1000) / 1000,
    }) + '\n',
  );
  if (session.release) await session.release();
}

main().catch((e) => {
  process.stderr.write(`bench_peers.js: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
