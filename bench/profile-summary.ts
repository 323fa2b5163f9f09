/**
 * Summarizes a V8 .cpuprofile (from `npm run bench -- --profile`): self time by function and
 * by package, so one can see where a server's time goes.
 *
 *   node --import tsx bench/profile-summary.ts bench/results/profiles/CPU.*.cpuprofile [--top 30]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '30' }, tokens: { type: 'string' } },
  allowPositionals: true,
});
const top = Number(values.top);
/** With --tokens N (the requests answered while profiling): each category in µs per token. */
const tokens = values.tokens === undefined ? undefined : Number(values.tokens);

/**
 * Where a token's event-loop time goes (issue 24's profile), by the function or file a sample
 * landed in: first match wins. Self time only, so a category is what its own code costs.
 */
const categories: Array<[string, (fn: string, url: string) => boolean]> = [
  ['idle (waiting in epoll)', (fn) => fn === '(idle)'],
  ['RS256 signing call (node:crypto sign; the pool variant only queues the job)', (fn, url) => url === 'node:internal/crypto/sig' || fn === 'signOneShot' || /keys\/jws-signer/.test(url)],
  ['socket writes (writev syscall, stream_base)', (fn, url) => fn === 'writev' || fn === 'writeBuffer' || fn === 'writeUtf8String' || url === 'node:internal/stream_base_commons' || url === 'node:net'],
  ['HTTP parsing and response objects (node:_http_*, streams, events)', (fn, url) => /^node:_http_|^node:internal\/streams|^node:events|^node:internal\/http/.test(url) || fn === 'execute' || fn === 'writeHead'],
  ['client authentication (HMAC of the secret, Basic header)', (fn, url) => /node:internal\/crypto\/hash|client-auth\/|secrets\/|basic-auth|timingSafeEqual/.test(url) || fn === 'timingSafeEqual' || fn.startsWith('RegExp: ^basic') || fn.startsWith('RegExp: ^[A-Za-z0-9+/]')],
  ['claims, JWT assembly, JSON and base64url', (fn, url) => /grants\/|endpoints\/token\.js|claims\/|tokens\/|dpop\/|profiles\//.test(url) || /base64|utf8Write|utf8Slice|stringify|serializeUUID|randomUUID|decodeUTF8/i.test(fn) || url === 'node:internal/crypto/random' || url === 'node:buffer'],
  ['token listener, body parsing, request id', (fn, url) => /endpoints\/token-listener|http\/parse-params|http\/request-id|http\/error-reply/.test(url) || url === 'node:internal/url' || url === 'node:internal/encoding' || fn === 'decode'],
  ['metrics (counters, latency histogram)', (_fn, url) => /metrics\/|prom-client|tdigest/.test(url)],
  ['logging (pino)', (_fn, url) => /pino|sonic-boom|http\/logger/.test(url)],
  ['change-sync check, client cache, store', (_fn, url) => /store\/|registry\/|context\.js|revocation\/|quotas\//.test(url)],
  ['promises, ticks, timers (await machinery)', (fn, url) => /task_queues|internal\/process\/promises|internal\/timers/.test(url) || fn === 'runMicrotasks' || fn === 'processTicksAndRejections'],
  ['garbage collection', (fn) => fn === '(garbage collector)'],
  ['V8 / native, unattributed ((program))', (fn) => fn === '(program)'],
  ['start-up (module loading, compiling)', (_fn, url) => /node:internal\/modules|node:internal\/fs|node:internal\/bootstrap|node:internal\/deps\/(cjs-module-lexer|undici)|^node:(fs|path)$/.test(url)],
];

function packageOf(url: string): string {
  if (url === '') return '(native / V8)';
  if (url.startsWith('node:')) return url;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const pkg = /\/packages\/([^/]+)\/(?:dist|src)\/(.*)$/.exec(url);
  if (pkg) return `@tessera/${pkg[1]}: ${pkg[2]}`;
  return url.replace(/^file:\/\//, '');
}

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const [id, us] of self) {
    const { callFrame } = byId.get(id)!;
    const fn = `${callFrame.functionName || '(anonymous)'} ${packageOf(callFrame.url)}:${callFrame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    const pkg = callFrame.url === '' ? callFrame.functionName || '(native)' : packageOf(callFrame.url).split(':')[0]!;
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  }
  const show = (title: string, map: Map<string, number>) => {
    console.log(`\n${title}`);
    for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${((us / total) * 100).toFixed(1).padStart(6)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`);
    }
  };
  console.log(`${file}: ${(total / 1e6).toFixed(2)} s of main-thread samples (libuv pool threads, e.g. RSA signing, are not in a CPU profile)`);
  const byCategory = new Map<string, number>();
  for (const [id, us] of self) {
    const { callFrame } = byId.get(id)!;
    const fn = callFrame.functionName || '(anonymous)';
    const name = categories.find(([, test]) => test(fn, callFrame.url))?.[0] ?? `other (${packageOf(callFrame.url).split(':')[0]})`;
    byCategory.set(name, (byCategory.get(name) ?? 0) + us);
  }
  const idle = byCategory.get(categories[0]![0]) ?? 0;
  console.log(`\nBy category (busy = ${((total - idle) / 1e6).toFixed(2)} s${tokens ? `, ${tokens} tokens` : ''})`);
  for (const [name, us] of [...byCategory].sort((a, b) => b[1] - a[1])) {
    const share = name === categories[0]![0] ? '' : `${(((us / (total - idle)) * 100).toFixed(1)).padStart(5)} % of busy`;
    const perToken = tokens ? `${(us / tokens).toFixed(1).padStart(7)} µs/token` : '';
    console.log(`${(us / 1000).toFixed(0).padStart(7)} ms  ${share.padEnd(16)} ${perToken}  ${name}`);
  }
  show('Self time by package / file', byPackage);
  show('Self time by function', byFunction);
}
