/**
 * Issue 16: what /metrics gives away, and to whom. By default it is open on the main port and
 * carries no client_id; `--metrics-client-labels` adds the per-client series,
 * `TESSERA_METRICS_TOKEN` requires a bearer token, `--metrics-listen` moves it to its own
 * address (and off the main port). Over real HTTP.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { basicAuthorization, postForm, startTessera } from './support/tessera.js';

const issue = async (url: string, client: { clientId: string; clientSecret: string }) => {
  const answer = await postForm(
    `${url}/oauth/token`,
    { grant_type: 'client_credentials' },
    { authorization: basicAuthorization(client.clientId, client.clientSecret) },
  );
  assert.equal(answer.status, 200);
};

describe('/metrics exposure', () => {
  it('by default: open on the main port, without any client_id', async () => {
    const tessera = await startTessera();
    try {
      const client = await tessera.createClient();
      await issue(tessera.url, client);
      const response = await fetch(`${tessera.url}/metrics`);
      assert.equal(response.status, 200);
      const text = await response.text();
      assert.match(text, /tessera_token_requests_total\{outcome="issued"/);
      assert.ok(!text.includes(client.clientId), 'no client_id published');
      assert.ok(!text.includes('client_id="'));
    } finally {
      await tessera.close();
    }
  });

  it('--metrics-client-labels publishes the busiest clients', async () => {
    const tessera = await startTessera({ metricsClientLabels: true });
    try {
      const client = await tessera.createClient();
      await issue(tessera.url, client);
      const text = await (await fetch(`${tessera.url}/metrics`)).text();
      assert.ok(
        text.includes(`tessera_client_tokens_issued_24h{client_id="${client.clientId}"} 1`),
      );
    } finally {
      await tessera.close();
    }
  });

  it('TESSERA_METRICS_TOKEN requires Authorization: Bearer <token>', async () => {
    const tessera = await startTessera({ metricsToken: 'scrape-secret-1' });
    try {
      const url = `${tessera.url}/metrics`;
      const attempts: Array<Record<string, string>> = [
        {},
        { authorization: 'Bearer wrong' },
        { authorization: 'Basic x' },
      ];
      for (const headers of attempts) {
        const response = await fetch(url, { headers });
        assert.equal(response.status, 401);
        assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="tessera-metrics"');
        assert.deepEqual(await response.json(), {
          error: 'invalid_token',
          error_description: 'The metrics token is required',
        });
      }
      const ok = await fetch(url, { headers: { authorization: 'Bearer scrape-secret-1' } });
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /tessera_token_requests_total/);
    } finally {
      await tessera.close();
    }
  });

  it('--metrics-listen serves /metrics on its own address only', async () => {
    const tessera = await startTessera({
      metricsListen: { host: '127.0.0.1', port: 0 },
      metricsToken: 'scrape-secret-2',
    });
    try {
      const metricsUrl = tessera.server.metricsUrl!;
      assert.ok(metricsUrl && metricsUrl !== tessera.url);
      assert.equal((await fetch(`${tessera.url}/metrics`)).status, 404, 'not on the main port');
      const auth = { authorization: 'Bearer scrape-secret-2' };
      const scrape = await fetch(`${metricsUrl}/metrics`, { headers: auth });
      assert.equal(scrape.status, 200);
      assert.match(scrape.headers.get('content-type') ?? '', /^text\/plain/);
      assert.match(await scrape.text(), /tessera_token_requests_total/);
      assert.equal((await fetch(`${metricsUrl}/metrics`)).status, 401, 'the token applies there');
      assert.equal((await fetch(`${metricsUrl}/oauth/token`)).status, 404, 'nothing else there');
    } finally {
      await tessera.close();
    }
  });

  it('parses HOST:PORT and switches from the environment', () => {
    const config = loadConfig({
      TESSERA_METRICS_LISTEN: '127.0.0.1:9464',
      TESSERA_METRICS_CLIENT_LABELS: 'on',
    });
    assert.deepEqual(config.metricsListen, { host: '127.0.0.1', port: 9464 });
    assert.equal(config.metricsClientLabels, true);
    assert.throws(() => loadConfig({ TESSERA_METRICS_LISTEN: '9464' }), /HOST:PORT/);
  });
});
