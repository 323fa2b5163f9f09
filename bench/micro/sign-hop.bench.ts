/**
 * Issue 24: what handing an RSA-2048 signature to libuv's pool costs, against signing it on the
 * calling thread, in CPU time of the whole process (every thread), in the same run. Each round
 * signs N times synchronously, N times through node:crypto's callback `sign` with 50 in flight
 * (the bench's connections), then synchronously again; the ratio is pool / mean(sync).
 *
 *   node --import tsx bench/micro/sign-hop.bench.ts [--count N] [--rounds R]
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { count: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '3' } } });
const count = Number(values.count);
const rounds = Number(values.rounds);
const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
// About the size of a Tessera access token's signing input.
const input = Buffer.from('e'.repeat(420));
const cpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

function onThisThread(): number {
  const started = cpuMicros();
  for (let i = 0; i < count; i++) sign('sha256', input, key);
  return (cpuMicros() - started) / count;
}

async function onThePool(inFlight: number): Promise<number> {
  const started = cpuMicros();
  let left = count;
  const lane = async () => {
    while (left-- > 0) await new Promise<Buffer>((resolve, reject) => sign('sha256', input, key, (error, signature) => (error ? reject(error) : resolve(signature))));
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return (cpuMicros() - started) / count;
}

const ratios: number[] = [];
for (let round = 1; round <= rounds; round++) {
  const before = onThisThread();
  const pool = await onThePool(50);
  const after = onThisThread();
  const ratio = pool / ((before + after) / 2);
  ratios.push(ratio);
  console.log(`round ${round}: ${before.toFixed(0)} µs CPU per signature on the thread, ${pool.toFixed(0)} on the pool (${process.env.UV_THREADPOOL_SIZE ?? 4} threads), ${after.toFixed(0)} on the thread again`);
}
ratios.sort((a, b) => a - b);
const median = ratios[Math.floor(ratios.length / 2)]!;
console.log(`RSA-2048 CPU per signature, pool / event loop (median of ${rounds}): ${median.toFixed(3)}x`);
