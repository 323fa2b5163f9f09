import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { basicAuthorization, postForm, startTessera } from './support/tessera.js';

describe('logging', () => {
  it('writes request lines with a request id and never a secret, token or query string', async () => {
    const lines: string[] = [];
    const tessera = await startTessera({
      logLevel: 'debug',
      logStream: { write: (line) => lines.push(line) },
    });
    try {
      const client = await tessera.createClient();
      const tokenUrl = `${tessera.url}/oauth/token`;
      const ok = await postForm(
        tokenUrl,
        { grant_type: 'client_credentials' },
        {
          authorization: basicAuthorization(client.clientId, client.clientSecret),
          'x-request-id': 'req-logging-1',
        },
      );
      const token = (ok.body as { access_token: string }).access_token;
      await postForm(`${tokenUrl}?client_secret=${client.clientSecret}`, {
        grant_type: 'client_credentials',
        client_id: client.clientId,
        client_secret: client.clientSecret,
      });
      await postForm(tokenUrl, {
        grant_type: 'client_credentials',
        client_id: client.clientId,
        client_secret: `${client.clientSecret}x`,
      });
      await fetch(`${tessera.url}/healthz?token=${token}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      await tessera.server.app.close();

      const log = lines.join('');
      assert.ok(lines.length >= 4, 'request lines were logged');
      assert.ok(!log.includes(client.clientSecret), 'no client secret in logs');
      assert.ok(!log.includes(token), 'no access token in logs');
      assert.ok(!log.includes(token.split('.')[2]!), 'no token signature in logs');
      const entries = lines.map(
        (line) =>
          JSON.parse(line) as {
            reqId?: string;
            msg: string;
            req?: { path: string };
            res?: { statusCode: number };
            responseTime?: number;
          },
      );
      const tagged = entries.filter((entry) => entry.reqId === 'req-logging-1');
      // One line per request (issue 24): the request, its status and its time together.
      assert.deepEqual(
        tagged.map((entry) => entry.msg),
        ['request completed'],
      );
      const [completed] = tagged;
      assert.equal(completed?.req?.path, '/oauth/token');
      assert.equal(completed?.res?.statusCode, 200);
      assert.equal(typeof completed?.responseTime, 'number');
      const health = entries.filter(
        (entry) => entry.msg === 'request completed' && entry.req?.path === '/healthz',
      );
      assert.equal(health.length, 1, 'a Fastify route writes the same single line');
      assert.equal(health[0]?.res?.statusCode, 200);
      assert.equal(typeof health[0]?.reqId, 'string');
      assert.ok(
        entries.some((entry) => entry.msg === 'request refused'),
        'refusals are logged with their private detail',
      );
    } finally {
      await tessera.close();
    }
  });
});
