// Cached getToken() against a bare Map lookup. Run: node --import tsx packages/client/bench/get-token.bench.ts
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTokenClient } from '../src/index.js';

const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ access_token: 'bench-token', token_type: 'Bearer', expires_in: 3600 }));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;

const client = createTokenClient({
  tokenEndpoint: url,
  clientId: 'bench',
  clientSecret: 'secret',
  scope: 'read write',
});
await client.getToken();
await client.getToken({ scope: 'admin' });
const map = new Map<string, string>([
  [JSON.stringify(['v1', url, 'bench', 'read write']), 'bench-token'],
]);
const mapKey = JSON.stringify(['v1', url, 'bench', 'read write']);

const N = 1_000_000;
async function measure(name: string, fn: () => Promise<unknown>): Promise<number> {
  let best = 0;
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) await fn();
    const ns = Number(process.hrtime.bigint() - start);
    best = Math.max(best, (N / ns) * 1e9);
  }
  console.log(`${name.padEnd(44)} ${Math.round(best).toLocaleString('en').padStart(12)} ops/s`);
  return best;
}
function measureSync(name: string, fn: () => unknown): number {
  let best = 0;
  let sink: unknown;
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) sink = fn();
    const ns = Number(process.hrtime.bigint() - start);
    best = Math.max(best, (N / ns) * 1e9);
  }
  if (sink === 42) console.log('');
  console.log(`${name.padEnd(44)} ${Math.round(best).toLocaleString('en').padStart(12)} ops/s`);
  return best;
}

const awaitedMap = await measure('await map.get(key)', async () => map.get(mapKey));
const cached = await measure('await client.getToken()  (cached)', () => client.getToken());
const scoped = await measure("await client.getToken({ scope: 'admin' })", () =>
  client.getToken({ scope: 'admin' }),
);
const syncMap = measureSync('map.get(key)  (synchronous, no await)', () => map.get(mapKey));

console.log('');
console.log(
  `getToken() vs awaited Map lookup: ${(awaitedMap / cached).toFixed(2)}× slower (target ≤ 2×)`,
);
console.log(`getToken({scope}) vs awaited Map lookup: ${(awaitedMap / scoped).toFixed(2)}× slower`);
console.log(
  `getToken() vs synchronous Map lookup: ${(syncMap / cached).toFixed(1)}× slower (await alone costs most of this)`,
);

await client.close({ revoke: false });
server.close();
