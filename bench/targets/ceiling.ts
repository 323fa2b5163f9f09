import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { freePort, spawnTracked, stopProcess, waitForHttp } from '../lib/proc.js';
import { basicAuthorization, checkTokenResponse, threadPoolEnv, threadPoolFor, type Alg, type TargetSpec } from './common.js';

/** The minimal node:http token endpoint in bench/ceiling-server.ts. */
export function ceilingTarget(alg: Alg, options: { noSign?: boolean } = {}): TargetSpec {
  return {
    name: options.noSign ? 'ceiling-nosign' : `ceiling-${alg.toLowerCase()}`,
    group: 'ceiling',
    alg,
    threadPool: threadPoolFor(alg),
    registeredClients: 1,
    spreadClients: 1,
    description: options.noSign
      ? 'minimal node:http token endpoint answering one presigned token (the no-signing HTTP floor)'
      : `minimal node:http token endpoint, ${alg}`,
    async start({ root, nodeFlags }) {
      const port = await freePort();
      const credentials = { clientId: 'bench-client', clientSecret: randomBytes(32).toString('base64url') };
      const spawned = spawnTracked(
        process.execPath,
        [...nodeFlags, '--import', 'tsx', join(root, 'bench', 'ceiling-server.ts')],
        {
          ...process.env,
          ...threadPoolEnv(alg),
          NODE_ENV: 'production',
          PORT: String(port),
          HOST: '127.0.0.1',
          BENCH_ALG: alg,
          ...(options.noSign ? { BENCH_NO_SIGN: '1' } : {}),
          BENCH_CLIENT_ID: credentials.clientId,
          BENCH_CLIENT_SECRET: credentials.clientSecret,
        },
        root,
      );
      const tokenUrl = `http://127.0.0.1:${port}/oauth/token`;
      try {
        await waitForHttp(`http://127.0.0.1:${port}/`, spawned);
        const authorization = basicAuthorization(credentials);
        await checkTokenResponse(tokenUrl, authorization, alg);
        return { name: this.name, tokenUrl, pid: spawned.pid, authorizations: [authorization], spawned, stop: () => stopProcess(spawned) };
      } catch (error) {
        await stopProcess(spawned);
        throw error;
      }
    },
  };
}
