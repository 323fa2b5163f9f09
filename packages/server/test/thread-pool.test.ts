/**
 * bin/thread-pool.cjs sizes libuv's pool before any ES module loads: one thread for ES256 and
 * EdDSA, Node's default for RS256, and never over the operator's own UV_THREADPOOL_SIZE.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { basicAuthorization, postForm } from './support/tessera.js';
import { runCli } from './support/cli.js';
import { spawnServe } from './support/serve-process.js';

const require = createRequire(import.meta.url);
const { threadPoolSize } = require('../bin/thread-pool.cjs') as {
  threadPoolSize(argv: string[], env: NodeJS.ProcessEnv): number | undefined;
};

describe('libuv thread pool size', () => {
  it('is one thread for ES256 and EdDSA, the default for RS256, the operator’s when set', () => {
    assert.equal(threadPoolSize(['serve'], { TESSERA_SIGNING_ALG: 'ES256' }), 1);
    assert.equal(threadPoolSize(['serve'], { TESSERA_SIGNING_ALG: 'EdDSA' }), 1);
    assert.equal(threadPoolSize(['serve'], { TESSERA_SIGNING_ALG: 'RS256' }), undefined);
    assert.equal(threadPoolSize(['serve'], {}), undefined);
    assert.equal(threadPoolSize(['serve', '--signing-alg', 'EdDSA'], {}), 1);
    assert.equal(threadPoolSize(['serve', '--signing-alg=ES256'], {}), 1);
    // The flag wins over the environment, as in `serve` itself.
    assert.equal(
      threadPoolSize(['serve', '--signing-alg', 'RS256'], { TESSERA_SIGNING_ALG: 'ES256' }),
      undefined,
    );
    assert.equal(
      threadPoolSize(['serve'], { TESSERA_SIGNING_ALG: 'ES256', UV_THREADPOOL_SIZE: '8' }),
      undefined,
    );
  });

  it('takes effect in a real `tessera serve`: an ES256 server runs three fewer threads', async () => {
    const threadsOf = async (alg: string) => {
      const dataDir = await mkdtemp(join(tmpdir(), 'tessera-pool-'));
      const env = { PATH: process.env.PATH, TESSERA_DATA_DIR: dataDir, TESSERA_SIGNING_ALG: alg };
      try {
        const created = await runCli(['clients', 'create', '--name', 'pool', '--json'], env);
        const { client_id: clientId, client_secret: clientSecret } = JSON.parse(created.stdout) as {
          client_id: string;
          client_secret: string;
        };
        const { child, port } = await spawnServe([], env);
        try {
          // Signing starts the pool, if nothing had yet.
          const answer = await postForm(
            `http://127.0.0.1:${port}/oauth/token`,
            { grant_type: 'client_credentials' },
            { authorization: basicAuthorization(clientId, clientSecret) },
          );
          assert.equal(answer.status, 200);
          return readdirSync(`/proc/${child.pid}/task`).length;
        } finally {
          child.kill('SIGKILL');
        }
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    };
    const rs256 = await threadsOf('RS256');
    const es256 = await threadsOf('ES256');
    assert.equal(rs256 - es256, 3, `RS256 server: ${rs256} threads, ES256 server: ${es256}`);
  });
});
