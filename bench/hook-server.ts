/**
 * The token hook the bench's hook scenarios call (issue 19): node:http on 127.0.0.1, checking
 * each request's `Tessera-Signature` as a real hook would, answering one claim and, when
 * `--cache-seconds N` is given, `cache_seconds: N`. GET /stats answers `{calls}`.
 *
 *   node --import tsx bench/hook-server.ts --port P --secret S [--cache-seconds N]
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { port: { type: 'string' }, secret: { type: 'string' }, 'cache-seconds': { type: 'string' } },
});
const secret = values.secret ?? '';
const cacheSeconds = values['cache-seconds'] === undefined ? undefined : Number(values['cache-seconds']);
const answer = JSON.stringify({ claims: { account: 'acc-1', tier: 'gold' }, ...(cacheSeconds ? { cache_seconds: cacheSeconds } : {}) });
let calls = 0;

createServer((request, response) => {
  if (request.method === 'GET') {
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ calls }));
    return;
  }
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    calls += 1;
    const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(request.headers['tessera-signature']));
    const expected = match && createHmac('sha256', secret).update(`${match[1]}.${Buffer.concat(chunks).toString('utf8')}`).digest();
    if (!match || !expected || !timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'))) {
      response.writeHead(401).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) }).end(answer);
  });
}).listen(Number(values.port), '127.0.0.1');
