/**
 * The packages as an outsider gets them: `npm pack` every workspace, install the tarballs into
 * a fresh project in the OS temp directory (third-party dependencies from the npm registry,
 * nothing from this repository), then run the server's `tessera` command and TypeScript strict
 * consumers of the verifier and the client, compiled to ESM and to CommonJS.
 *
 * One `npm install` for everything. Skips, printing why, when the registry does not answer.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const tsc = join(repo, 'node_modules/typescript/bin/tsc');
const workspaces = ['protocol', 'verifier', 'client', 'server'] as const;
const registry = (process.env.npm_config_registry ?? 'https://registry.npmjs.org/').replace(
  /\/?$/,
  '/',
);

async function registryReachable(): Promise<string | false> {
  try {
    const response = await fetch(`${registry}-/ping`, { signal: AbortSignal.timeout(5000) });
    await response.arrayBuffer();
    return response.ok ? false : `the npm registry ${registry} answered ${response.status}`;
  } catch (error) {
    return `the npm registry ${registry} is unreachable (${(error as Error).message})`;
  }
}

const skip = await registryReachable();
if (skip) console.log(`# pack-install test skipped: ${skip}`);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs a consumer project: one source, compiled strict as ESM or CommonJS, then run. */
const consumerSource = `
import { createRedisStore, createTokenClient } from '@tessera/client';
import {
  createVerifier,
  tesseraFastify,
  tesseraMiddleware,
  type VerifiedToken,
} from '@tessera/verifier';
import express from 'express';
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';

// The req.auth typing the verifier's README shows.
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express's own extension point
  namespace Express {
    interface Request {
      auth: VerifiedToken;
    }
  }
}
declare module 'fastify' {
  interface FastifyRequest {
    tessera: VerifiedToken | null;
  }
}

const issuer = process.env.ISSUER!;

async function status(url: string, token?: string): Promise<string> {
  const response = await fetch(url, token ? { headers: { authorization: \`Bearer \${token}\` } } : {});
  return \`\${response.status} \${await response.text()}\`;
}

async function main(): Promise<void> {
  const client = createTokenClient({
    issuer,
    clientId: process.env.CLIENT_ID!,
    clientSecret: process.env.CLIENT_SECRET!,
    scope: 'orders:read',
  });
  const token: string = await client.getToken();
  const verifier = createVerifier({ issuer, audience: issuer, requiredScopes: ['orders:read'] });

  const app = express();
  app.get('/orders', tesseraMiddleware(verifier), (req, res) => {
    const clientId: string = req.auth.claims.client_id;
    res.json({ client: clientId });
  });
  const http = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => http.once('listening', resolve));
  const expressUrl = \`http://127.0.0.1:\${(http.address() as AddressInfo).port}/orders\`;

  const fastify = Fastify();
  await fastify.register(async (api) => {
    await api.register(tesseraFastify(verifier));
    api.get('/orders', async (request) => ({ client: request.tessera!.claims.client_id }));
  });
  const fastifyUrl = \`\${await fastify.listen({ port: 0, host: '127.0.0.1' })}/orders\`;

  let redis = 'resolved';
  await createRedisStore({ url: 'redis://127.0.0.1:1' }).then(
    (store) => store.close(),
    (error: Error & { code?: string }) => {
      redis = \`\${error.code}: \${error.message}\`;
    },
  );

  const result = {
    express: await status(expressUrl, token),
    expressNoToken: (await status(expressUrl)).slice(0, 3),
    fastify: await status(fastifyUrl, token),
    fastifyNoToken: (await status(fastifyUrl)).slice(0, 3),
    redis,
  };
  await client.close();
  await fastify.close();
  await new Promise((resolve) => http.close(resolve));
  process.stdout.write(JSON.stringify(result));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
`;

const consumerTsconfig = (module: 'nodenext') =>
  JSON.stringify({
    compilerOptions: {
      strict: true,
      target: 'ES2022',
      module,
      moduleResolution: 'nodenext',
      esModuleInterop: true,
      skipLibCheck: false,
      noUnusedLocals: true,
      verbatimModuleSyntax: false,
      types: ['node'],
      outDir: 'dist',
      rootDir: '.',
    },
    files: ['main.ts'],
  });

describe(
  'packages installed from their npm pack tarballs outside the repository',
  {
    skip,
    timeout: 900_000,
  },
  () => {
    let project: string;
    let server: ChildProcess | undefined;
    let output = '';
    let issuer: string;
    let credentials: { client_id: string; client_secret: string };
    const tarballs: Record<string, string> = {};

    const inProject = (command: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
      run(command, args, {
        cwd: project,
        env: { ...process.env, ...env },
        maxBuffer: 16 * 1024 * 1024,
        timeout: 600_000,
      });

    before(async () => {
      project = await mkdtemp(join(tmpdir(), 'tessera-pack-'));
      for (const workspace of workspaces) {
        const { stdout } = await run(
          'npm',
          ['pack', '--json', '--workspace', `packages/${workspace}`, '--pack-destination', project],
          { cwd: repo, maxBuffer: 16 * 1024 * 1024 },
        );
        const [packed] = JSON.parse(stdout) as Array<{
          filename: string;
          files: Array<{ path: string }>;
        }>;
        const files = packed!.files.map((file) => file.path);
        assert.ok(files.includes('LICENSE'), `${workspace} ships LICENSE`);
        assert.ok(files.includes('README.md'), `${workspace} ships README.md`);
        assert.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts'), workspace);
        assert.deepEqual(
          files.filter((path) => /tsbuildinfo|(^|\/)test\/|\.test\./.test(path)),
          [],
          `${workspace} ships no build info or tests`,
        );
        for (const map of files.filter((path) => path.endsWith('.js.map'))) {
          const source = map.replace(/^dist\//, 'src/').replace(/\.js\.map$/, '.ts');
          assert.ok(files.includes(source), `${workspace}: ${map} points at shipped ${source}`);
        }
        tarballs[`@tessera/${workspace}`] = `file:./${packed!.filename}`;
      }
      await writeFile(
        join(project, 'package.json'),
        JSON.stringify({
          name: 'tessera-outsider',
          private: true,
          type: 'module',
          dependencies: {
            ...tarballs,
            express: '^5.1.0',
            fastify: '^5.0.0',
            '@types/express': '^5.0.0',
            '@types/node': '^20.19.0',
          },
          // The tarballs, never a same-named package from the registry.
          overrides: tarballs,
        }),
      );
      // --omit=optional: the server's optional ioredis (shared state) and pkcs11js (HSM keys)
      // are not needed to serve, and without ioredis the client's missing-peer error shows.
      await inProject('npm', [
        'install',
        '--omit=optional',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
      ]);
    });

    after(async () => {
      if (server?.pid !== undefined && server.exitCode === null) {
        process.kill(-server.pid, 'SIGTERM');
        await new Promise((resolve) => server!.once('exit', resolve));
      }
      if (project) await rm(project, { recursive: true, force: true });
    });

    it('npx tessera serve issues a token to a client created with npx tessera clients create', async () => {
      const { stdout: version } = await inProject('npx', ['tessera', '--version']);
      assert.equal(version.trim(), '0.1.0');

      const port = await freePort();
      issuer = `http://127.0.0.1:${port}`;
      const env = { TESSERA_DATA_DIR: join(project, 'data'), TESSERA_ISSUER: issuer };
      const created = await inProject(
        'npx',
        ['tessera', 'clients', 'create', '--name', 'outsider', '--scope', 'orders:read', '--json'],
        env,
      );
      credentials = JSON.parse(created.stdout) as typeof credentials;

      server = spawn(
        'npx',
        ['tessera', 'serve', '--port', String(port), '--host', '127.0.0.1', '--workers', '1'],
        { cwd: project, env: { ...process.env, ...env }, detached: true },
      );
      server.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      server.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const deadline = Date.now() + 30_000;
      for (;;) {
        assert.equal(server.exitCode, null, `tessera serve exited:\n${output}`);
        const ready = await fetch(`${issuer}/readyz`).then(
          (response) => response.ok,
          () => false,
        );
        if (ready) break;
        assert.ok(Date.now() < deadline, `tessera serve not ready in 30 s:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }

      const response = await fetch(`${issuer}/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${credentials.client_id}:${credentials.client_secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials&scope=orders%3Aread',
      });
      const body = (await response.json()) as Record<string, unknown>;
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.scope, 'orders:read');
      assert.match(String(body.access_token), /^eyJ/);
    });

    for (const format of ['esm', 'cjs'] as const) {
      it(`a TypeScript strict consumer (${format === 'esm' ? 'ESM' : 'CommonJS'}) of the verifier's Express and Fastify adapters and of the client`, async () => {
        assert.ok(credentials, 'the serve test ran first');
        const dir = join(project, format);
        await mkdir(dir);
        await writeFile(join(dir, 'main.ts'), consumerSource);
        await writeFile(join(dir, 'tsconfig.json'), consumerTsconfig('nodenext'));
        await writeFile(
          join(dir, 'package.json'),
          JSON.stringify({ type: format === 'esm' ? 'module' : 'commonjs' }),
        );
        await inProject(process.execPath, [tsc, '-p', dir]).catch((error: { stdout?: string }) => {
          assert.fail(`tsc failed for ${format}:\n${error.stdout ?? String(error)}`);
        });
        const { stdout } = await inProject(process.execPath, [join(dir, 'dist/main.js')], {
          ISSUER: issuer,
          CLIENT_ID: credentials.client_id,
          CLIENT_SECRET: credentials.client_secret,
        });
        const body = JSON.stringify({ client: credentials.client_id });
        assert.deepEqual(JSON.parse(stdout), {
          express: `200 ${body}`,
          expressNoToken: '401',
          fastify: `200 ${body}`,
          fastifyNoToken: '401',
          redis:
            'invalid_option: url: needs the ioredis package, an optional peer dependency of ' +
            '@tessera/client that is not installed: run `npm install ioredis`, or pass your own ' +
            'client as `redis`',
        });
      });
    }
  },
);
