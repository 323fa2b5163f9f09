import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { tesouroBaseUrls } from '../../client/src/presets/tesouro.js';
import { createVerifier, tesouroErrorShape } from '../../verifier/src/index.js';
import { tesouro } from '../src/presets/tesouro.js';
import { tesseraBin } from './support/cli.js';
import { importClient, runCurl } from './support/seed-requests.js';
import { basicAuthorization, postForm, startTessera, type TestTessera } from './support/tessera.js';

// Tesouro's "Client credentials authentication" guide, request examples verbatim.
const tokenRequest = String.raw`curl --location 'https://api.sandbox.tesouro.com/openid/connect/token' \
  --header 'Content-Type: application/x-www-form-urlencoded' \
  --data-urlencode 'grant_type=client_credentials' \
  --data-urlencode 'client_id=CLIENT_ID' \
  --data-urlencode 'client_secret=CLIENT_SECRET'`;
const revokeRequest = String.raw`curl -X POST 'https://api.sandbox.tesouro.com/v1/auth/revoke' \
  --header 'Content-Type: application/json' \
  --header 'X-Finops-Version: 2025-06-23' \
  --data '{
    "client_id": "YOUR_CLIENT_ID",
    "client_secret": "YOUR_CLIENT_SECRET",
    "token": "eyJ0eXAiOiJKV1QiLCJhb..."
  }'`;

const host = 'https://api.sandbox.tesouro.com';
const noStore = 'no-store';
// The guide's placeholders: CLIENT_ID is imported as is; a secret must have 32+ characters.
const clientId = 'CLIENT_ID';
const clientSecret = 'tesouro-sandbox-secret-0123456789abcdef';

describe('preset tesouro: the documented requests against tessera serve --preset tesouro', () => {
  let tessera: TestTessera;
  let introspector: { clientId: string; clientSecret: string };
  before(async () => {
    tessera = await startTessera({ preset: 'tesouro' });
    await importClient(tessera.database, { clientId, clientSecret });
    introspector = await tessera.createClient({ scope: 'tessera:introspect' });
  });
  after(() => tessera.close());

  const token = (secret = clientSecret) =>
    runCurl(tokenRequest, { [host]: tessera.url, CLIENT_SECRET: secret });
  const revoke = (accessToken: string, command = revokeRequest) =>
    runCurl(command, {
      [host]: tessera.url,
      YOUR_CLIENT_ID: clientId,
      YOUR_CLIENT_SECRET: clientSecret,
      'eyJ0eXAiOiJKV1QiLCJhb...': accessToken,
    });
  const introspect = (accessToken: string) =>
    postForm(
      `${tessera.url}/oauth/introspect`,
      { token: accessToken },
      { authorization: basicAuthorization(introspector.clientId, introspector.clientSecret) },
    );

  it('"Generate an access token": the curl answers {access_token, token_type, expires_in: 3600}', async () => {
    const response = await token();
    assert.equal(response.status, 200, response.text);
    assert.equal(response.headers.get('cache-control'), noStore);
    const body = response.body as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'token_type']);
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 3600);
    const claims = decodeJwt(body.access_token as string);
    assert.equal(claims.client_id, clientId);
    assert.equal(claims.exp! - claims.iat!, 3600);
    assert.equal(claims.iss, tessera.issuer);
  });

  it('"Revoke a token": the curl answers {"message":"ok"} and the token is revoked', async () => {
    const accessToken = ((await token()).body as { access_token: string }).access_token;
    assert.equal(((await introspect(accessToken)).body as { active: boolean }).active, true);
    const response = await revoke(accessToken);
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.body, { message: 'ok' });
    assert.equal(response.headers.get('cache-control'), noStore);
    assert.deepEqual((await introspect(accessToken)).body, { active: false });
    // RFC 7009 §2.2: revoking an unknown or already revoked token succeeds the same way.
    assert.deepEqual((await revoke(accessToken)).body, { message: 'ok' });
    assert.deepEqual((await revoke('eyJ0eXAiOiJKV1QiLCJhb...')).body, { message: 'ok' });
  });

  it('revoke needs the X-Finops-Version date, the JSON body and the right secret', async () => {
    const accessToken = ((await token()).body as { access_token: string }).access_token;
    const noVersion = await revoke(
      accessToken,
      revokeRequest.replace("--header 'X-Finops-Version: 2025-06-23' ", ''),
    );
    assert.equal(noVersion.status, 400);
    assert.deepEqual(noVersion.body, {
      error: 'invalid_request',
      error_description: 'The x-finops-version header is missing or malformed',
    });
    const form = await postForm(
      `${tessera.url}/v1/auth/revoke`,
      { client_id: clientId, client_secret: clientSecret, token: accessToken },
      { 'x-finops-version': '2025-06-23' },
    );
    assert.equal(form.status, 400);
    assert.deepEqual(form.body, {
      error: 'invalid_request',
      error_description: 'The request body must be application/json',
    });
    const wrong = await runCurl(revokeRequest, {
      [host]: tessera.url,
      YOUR_CLIENT_ID: clientId,
      YOUR_CLIENT_SECRET: `${clientSecret}x`,
    });
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.body, {
      error: 'invalid_client',
      error_description: 'Client authentication failed',
    });
    assert.equal(((await introspect(accessToken)).body as { active: boolean }).active, true);
  });

  it('token errors are RFC 6749 (Tesouro documents none), on both token paths', async () => {
    const wrong = await token('not-the-secret');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('cache-control'), noStore);
    assert.deepEqual(wrong.body, {
      error: 'invalid_client',
      error_description: 'Client authentication failed',
    });
    const json = await fetch(`${tessera.url}/openid/connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
      }),
    });
    assert.equal(json.status, 400);
    assert.deepEqual(await json.json(), {
      error: 'invalid_request',
      error_description: 'The request body must be application/x-www-form-urlencoded',
    });
    const rfc = await postForm(`${tessera.url}/oauth/token`, {
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
    });
    assert.equal(rfc.status, 200, rfc.text);
  });

  it('"Handle token expiration": the verifier preset answers 400 {"error":{"message":…}}', async () => {
    const accessToken = ((await token()).body as { access_token: string }).access_token;
    const exp = decodeJwt(accessToken).exp!;
    const verifier = createVerifier({
      issuer: tessera.issuer,
      audience: tessera.issuer,
      errorShape: tesouroErrorShape,
      now: () => (exp + 60) * 1000,
    });
    try {
      const rejection = await verifier.verifyToken(accessToken).then(
        () => assert.fail('an expired token was accepted'),
        (error: unknown) => verifier.errorResponse(error),
      );
      assert.equal(rejection.status, 400);
      assert.deepEqual(rejection.body, { error: { message: 'The token has been expired.' } });
    } finally {
      verifier.close();
    }
  });

  it('knows the sandbox and production hosts the client preset uses', () => {
    assert.deepEqual(tesouro.hosts, tesouroBaseUrls);
  });
});

describe('tessera serve --preset tesouro', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-preset-serve-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('serves the documented curl from the command line, beside the RFC endpoints', async () => {
    const database = `sqlite:${join(dir, 'tessera.db')}`;
    await importClient(database, { clientId, clientSecret });
    const child = spawn(
      process.execPath,
      [
        tesseraBin,
        'serve',
        '--preset',
        'tesouro',
        '--port',
        '0',
        '--workers',
        '1',
        '--database',
        database,
      ],
      {
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk;
          const listening = /"url":"([^"]+)"/.exec(out);
          if (listening) resolve(listening[1]!);
        });
        child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
      });
      const response = await runCurl(tokenRequest, { [host]: url, CLIENT_SECRET: clientSecret });
      assert.equal(response.status, 200, response.text);
      assert.equal((response.body as { expires_in: number }).expires_in, 3600);
      const rfc = await postForm(
        `${url}/oauth/token`,
        { grant_type: 'client_credentials' },
        {
          authorization: basicAuthorization(clientId, clientSecret),
        },
      );
      assert.equal(rfc.status, 200, rfc.text);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('refuses an unknown preset, naming the known ones', async () => {
    const { runCli } = await import('./support/cli.js');
    const result = await runCli([
      'serve',
      '--preset',
      'nope',
      '--port',
      '0',
      '--workers',
      '1',
      '--database',
      `sqlite:${join(dir, 'other.db')}`,
    ]);
    assert.notEqual(result.status, 0);
    assert.match(
      result.stderr + result.stdout,
      /unknown preset "nope"; known presets: tesouro, conta-simples, treezor, astrapay/,
    );
  });
});
