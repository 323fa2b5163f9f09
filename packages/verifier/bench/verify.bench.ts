// Micro-benchmark: bare jose.jwtVerify vs the verifier on never-seen and reused tokens.
// Run: node --import tsx packages/verifier/bench/verify.bench.ts [RS256|ES256|EdDSA]
// Env: BENCH_TOKENS (default 5000), BENCH_ROUNDS (default 5). The three measurements are
// interleaved round by round and the medians compared, so a noisy machine skews all alike.
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { createVerifier } from '../src/index.js';
import type { Verifier } from '../src/index.js';

const alg = (process.argv[2] ?? 'RS256') as 'RS256' | 'ES256' | 'EdDSA';
const count = Number(process.env.BENCH_TOKENS ?? 5000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const issuer = 'https://as.bench.test';
const audience = 'https://api.bench.test';

const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg, use: 'sig' }] };
const now = Math.floor(Date.now() / 1000);

function sign(i: number): Promise<string> {
  return new SignJWT({ scope: 'orders:read', client_id: 'c', sub: 'c', jti: `j${i}` })
    .setProtectedHeader({ alg, kid: 'k1', typ: 'at+jwt' })
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(privateKey);
}

const tokens: string[] = [];
for (let i = 0; i < count; i += 1) tokens.push(await sign(i));

/** A new verifier (empty token cache) with the JWKS and backend already loaded. */
async function fresh(signatureBackend: 'auto' | 'jose' = 'auto'): Promise<Verifier> {
  const verifier = createVerifier({
    issuer,
    audience,
    jwksUri: 'https://as.bench.test/jwks',
    requiredScopes: ['orders:read'],
    tokenCacheSize: count * 2,
    signatureBackend,
    fetch: async () =>
      new Response(JSON.stringify(jwks), {
        headers: { 'content-type': 'application/json', 'cache-control': 'max-age=3600' },
      }),
  });
  await verifier.verifyToken(await sign(-1));
  return verifier;
}

async function opsPerSecond(run: (i: number) => Promise<unknown>, n: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i += 1) await run(i);
  return n / ((performance.now() - start) / 1000);
}

const localJwks = createLocalJWKSet(jwks);
const joseOptions = { issuer, audience, typ: 'at+jwt', algorithms: [alg] };
const results: Record<string, number[]> = {
  bare: [],
  unseen: [],
  reused: [],
  joseBackend: [],
  raw: [],
};

// The ceiling: node:crypto's synchronous verify alone, on pre-split tokens.
const rawKey = createPublicKey({ key: jwks.keys[0]!, format: 'jwk' });
const rawVerifyKey = alg === 'ES256' ? { key: rawKey, dsaEncoding: 'ieee-p1363' as const } : rawKey;
const digest = alg === 'EdDSA' ? undefined : 'sha256';
const split = tokens.map((t) => {
  const dot = t.lastIndexOf('.');
  return { data: Buffer.from(t.slice(0, dot)), sig: Buffer.from(t.slice(dot + 1), 'base64url') };
});

// Warm-up of every path.
await opsPerSecond((i) => jwtVerify(tokens[i]!, localJwks, joseOptions), 300);
const warm = await fresh();
await opsPerSecond((i) => warm.verifyToken(tokens[i]!), 300);

for (let round = 0; round < rounds; round += 1) {
  results.bare!.push(
    await opsPerSecond((i) => jwtVerify(tokens[i]!, localJwks, joseOptions), count),
  );
  const unseen = await fresh(); // every token is new to this verifier
  results.unseen!.push(await opsPerSecond((i) => unseen.verifyToken(tokens[i]!), count));
  const reused = await fresh();
  results.reused!.push(await opsPerSecond(() => reused.verifyToken(tokens[0]!), count * 20));
  const portable = await fresh('jose');
  results.joseBackend!.push(await opsPerSecond((i) => portable.verifyToken(tokens[i]!), count));
  results.raw!.push(
    await opsPerSecond(
      async (i) => cryptoVerify(digest, split[i]!.data, rawVerifyKey, split[i]!.sig),
      count,
    ),
  );
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en').padStart(12);
const labels: Record<string, string> = {
  bare: 'jose.jwtVerify (local JWKS)',
  unseen: 'verifier, never-seen tokens',
  reused: 'verifier, one reused token',
  joseBackend: 'verifier (jose backend), never-seen tokens',
  raw: 'ceiling: node:crypto verify alone',
};
console.log(
  `${alg}: ${count} distinct tokens, ${rounds} interleaved rounds, one verification in flight, node ${process.versions.node}`,
);
for (const [name, values] of Object.entries(results)) {
  console.log(
    `${labels[name]!.padEnd(44)} median ${fmt(median(values))} ops/s   (rounds: ${values.map((v) => Math.round(v)).join(', ')})`,
  );
}
const bare = median(results.bare!);
console.log(
  `never-seen / jose.jwtVerify:   ${(median(results.unseen!) / bare).toFixed(2)}x (target ≥ 2x)`,
);
console.log(
  `reused / jose.jwtVerify:       ${(median(results.reused!) / bare).toFixed(1)}x (target ≥ 10x)`,
);
console.log(`jose backend / jose.jwtVerify: ${(median(results.joseBackend!) / bare).toFixed(2)}x`);
console.log(`ceiling / jose.jwtVerify:      ${(median(results.raw!) / bare).toFixed(2)}x`);
