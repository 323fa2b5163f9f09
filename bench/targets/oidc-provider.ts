import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { freePort, spawnTracked, stopProcess, waitForHttp } from '../lib/proc.js';
import { basicAuthorization, checkTokenResponse, threadPoolEnv, threadPoolFor, type TargetSpec } from './common.js';

/** oidc-provider v9, configured in bench/oidc-provider-server.ts. */
export function oidcProviderTarget(): TargetSpec {
  return {
    name: 'oidc-provider',
    group: 'oidc-provider',
    alg: 'RS256',
    threadPool: threadPoolFor('RS256'),
    registeredClients: 1,
    spreadClients: 1,
    description: 'oidc-provider v9, client_credentials, RS256 JWT access tokens',
    async start({ root, nodeFlags }) {
      const port = await freePort();
      const credentials = { clientId: 'bench-client', clientSecret: randomBytes(32).toString('base64url') };
      const spawned = spawnTracked(
        process.execPath,
        [...nodeFlags, '--import', 'tsx', join(root, 'bench', 'oidc-provider-server.ts')],
        {
          ...process.env,
          ...threadPoolEnv('RS256'),
          NODE_ENV: 'production',
          PORT: String(port),
          HOST: '127.0.0.1',
          BENCH_CLIENT_ID: credentials.clientId,
          BENCH_CLIENT_SECRET: credentials.clientSecret,
        },
        root,
      );
      const tokenUrl = `http://127.0.0.1:${port}/oauth/token`;
      try {
        await waitForHttp(`http://127.0.0.1:${port}/.well-known/openid-configuration`, spawned);
        const authorization = basicAuthorization(credentials);
        await checkTokenResponse(tokenUrl, authorization, 'RS256');
        return { name: this.name, tokenUrl, pid: spawned.pid, authorizations: [authorization], spawned, stop: () => stopProcess(spawned) };
      } catch (error) {
        await stopProcess(spawned);
        throw error;
      }
    },
  };
}
