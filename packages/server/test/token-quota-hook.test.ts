/**
 * Issues 19 and 22 together: the token hook runs before the quota is counted (a hook's
 * refusal costs no quota), and token reuse is looked up with the scope and audience the hook
 * left, answering the token as it was signed, the hook's claims of that request included.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { after, before, describe, it } from 'node:test';
import { basicAuthorization, postForm, startTessera, type TestTessera } from './support/tessera.js';

const secret = 'hook-secret-0123456789abcdef';

describe('token quota and reuse with a token hook', () => {
  let tessera: TestTessera;
  let hookServer: Server;
  let answer: () => unknown = () => ({});
  let asked = 0;

  before(async () => {
    hookServer = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        asked += 1;
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(answer()));
      });
    });
    await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
    const port = (hookServer.address() as AddressInfo).port;
    tessera = await startTessera({
      env: { TESSERA_TOKEN_HOOK_SECRET: secret },
      tokenHook: { url: `http://127.0.0.1:${port}/hook`, timeoutMs: 1000, failure: 'deny' },
    });
  });
  after(async () => {
    await tessera.close();
    hookServer.closeAllConnections();
    await new Promise((resolve) => hookServer.close(resolve));
  });

  const token = async (who: { clientId: string; clientSecret: string }, scope?: string) => {
    const answered = await postForm(
      `${tessera.url}/oauth/token`,
      { grant_type: 'client_credentials', ...(scope ? { scope } : {}) },
      { authorization: basicAuthorization(who.clientId, who.clientSecret) },
    );
    return { ...answered, body: answered.body as Record<string, unknown> };
  };

  it('does not count requests the hook refuses', async () => {
    const client = await tessera.createClient({ scope: 'a' });
    await tessera.registry.update(client.clientId, { tokenQuota: '2/h' });
    answer = () => ({ error: 'access_denied', error_description: 'Not today' });
    for (let i = 0; i < 3; i++) assert.equal((await token(client)).status, 400);
    answer = () => ({});
    assert.equal((await token(client)).status, 200);
    assert.equal((await token(client)).status, 200);
    const refused = await token(client);
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error, 'temporarily_unavailable');
  });

  it('reuses by the scope the hook left, keeping the claims the token was signed with', async () => {
    const client = await tessera.createClient({ scope: 'a b' });
    await tessera.registry.update(client.clientId, { reuseTokens: true });
    let n = 0;
    answer = () => ({ scope: 'a', claims: { n: ++n } });
    const first = await token(client, 'a b');
    assert.equal(first.status, 200);
    const firstBody = first.body;
    assert.equal(firstBody.scope, 'a');
    // Asked for only `a`: the same final scope, so the same token, with the first hook claims.
    const second = await token(client, 'a');
    const secondBody = second.body;
    assert.equal(secondBody.access_token, firstBody.access_token);
    assert.equal(decodeJwt(secondBody.access_token as string).n, 1);
    assert.equal(n, 2, 'the hook is still asked (it may refuse)');
    // The hook leaves `a b` now: another final scope, another token.
    answer = () => ({ claims: { n: ++n } });
    const third = (await token(client, 'a b')).body;
    assert.notEqual(third.access_token, firstBody.access_token);
    assert.equal(third.scope, 'a b');
    assert.equal(decodeJwt(third.access_token as string).n, 3);
    assert.ok(asked >= 3);
  });
});
