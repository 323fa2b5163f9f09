/**
 * The token endpoint has two front doors: the node:http listener that takes well-formed
 * requests (Content-Length within the limit) and the Fastify route that takes the rest. The
 * same request sent once with Content-Length and once chunked goes through one and then the
 * other; every answer must be the same apart from the token itself.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { TokenListener } from '../src/endpoints/token-listener.js';
import { basicAuthorization, startTessera, type TestTessera } from './support/tessera.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends one POST; `chunked` leaves out Content-Length so the body is sent chunked. */
function post(
  url: string,
  headers: Record<string, string>,
  body: Buffer,
  chunked: boolean,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      url,
      {
        method: 'POST',
        headers: chunked ? headers : { ...headers, 'content-length': String(body.length) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    outgoing.on('error', reject);
    if (chunked) {
      // Two chunks, so the body really arrives chunked.
      outgoing.write(body.subarray(0, Math.floor(body.length / 2)));
      outgoing.end(body.subarray(Math.floor(body.length / 2)));
    } else {
      outgoing.end(body);
    }
  });
}

/** What must match between the two paths: the token's varying claims are left out. */
function comparable(answer: Answer) {
  const headers = { ...answer.headers };
  for (const name of ['date', 'connection', 'keep-alive', 'transfer-encoding'])
    delete headers[name];
  let body: unknown = answer.body;
  try {
    body = JSON.parse(answer.body) as unknown;
  } catch {
    // compared as text
  }
  if (answer.status === 200 && typeof body === 'object' && body !== null) {
    const { access_token: token, ...rest } = body as { access_token: string };
    const { jti, iat, exp, ...claims } = decodeJwt(token);
    assert.match(String(jti), /^[A-Za-z0-9_-]{22,}$/);
    assert.equal(exp! - iat!, (rest as { expires_in: number }).expires_in);
    body = { ...rest, header: decodeProtectedHeader(token), claims };
    // Token lengths may differ by a character or two (base64 of different iat/jti).
    delete headers['content-length'];
  }
  return { status: answer.status, headers, body };
}

const form = (fields: Record<string, string>) =>
  Buffer.from(new URLSearchParams(fields).toString());

function multipart(fields: Record<string, string>): { body: Buffer; contentType: string } {
  const boundary = 'tessera-boundary-7MA4YWxkTrZu0gW';
  const parts = Object.entries(fields).map(
    ([name, value]) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
  );
  return {
    body: Buffer.from(`${parts.join('')}--${boundary}--\r\n`),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

interface Case {
  name: string;
  headers: Record<string, string>;
  body: Buffer;
  status: number;
}

async function assertSameOnBothPaths(tessera: TestTessera, path: string, cases: Case[]) {
  const listener = (tessera.server.app as unknown as { tokenListener: TokenListener })
    .tokenListener;
  for (const [index, testCase] of cases.entries()) {
    const headers = { ...testCase.headers, 'x-request-id': `listener-${index}` };
    const takenBefore = listener.taken;
    const direct = await post(`${tessera.url}${path}`, headers, testCase.body, false);
    assert.equal(listener.taken, takenBefore + 1, `${testCase.name}: the listener answered`);
    const viaFastify = await post(`${tessera.url}${path}`, headers, testCase.body, true);
    assert.equal(listener.taken, takenBefore + 1, `${testCase.name}: Fastify answered`);
    assert.equal(direct.status, testCase.status, `${testCase.name}: ${direct.body}`);
    assert.equal(direct.headers['x-request-id'], `listener-${index}`);
    assert.deepEqual(comparable(direct), comparable(viaFastify), testCase.name);
  }
}

describe('token endpoint: the node:http listener and the Fastify route answer alike', () => {
  let tessera: TestTessera;
  let client: { clientId: string; clientSecret: string };
  let postClient: { clientId: string; clientSecret: string };
  let disabled: { clientId: string; clientSecret: string };

  before(async () => {
    tessera = await startTessera();
    client = await tessera.createClient({ scope: 'read write', audience: 'https://api.example' });
    postClient = await tessera.createClient({ authMethod: 'client_secret_post' });
    disabled = await tessera.createClient({});
    await tessera.registry.setStatus(disabled.clientId, 'disabled');
  });
  after(() => tessera.close());

  it('on the RFC path, for successes and every kind of refusal', async () => {
    const urlencoded = { 'content-type': 'application/x-www-form-urlencoded' };
    const json = { 'content-type': 'application/json' };
    const basic = { authorization: basicAuthorization(client.clientId, client.clientSecret) };
    const wrongBasic = { authorization: basicAuthorization(client.clientId, 'not-the-secret') };
    const parts = multipart({ grant_type: 'client_credentials', scope: 'read' });
    const grant = { grant_type: 'client_credentials' };
    await assertSameOnBothPaths(tessera, '/oauth/token', [
      { name: 'basic', headers: { ...urlencoded, ...basic }, body: form(grant), status: 200 },
      {
        name: 'basic with scope and resource',
        headers: { ...urlencoded, ...basic },
        body: form({ ...grant, scope: 'read', resource: 'https://api.example' }),
        status: 200,
      },
      {
        name: 'client_secret_post',
        headers: urlencoded,
        body: form({
          ...grant,
          client_id: postClient.clientId,
          client_secret: postClient.clientSecret,
        }),
        status: 200,
      },
      {
        name: 'JSON body',
        headers: { ...json, ...basic },
        body: Buffer.from(JSON.stringify(grant)),
        status: 200,
      },
      {
        name: 'multipart body',
        headers: { 'content-type': parts.contentType, ...basic },
        body: parts.body,
        status: 200,
      },
      {
        name: 'wrong secret',
        headers: { ...urlencoded, ...wrongBasic },
        body: form(grant),
        status: 401,
      },
      {
        name: 'unknown client (post)',
        headers: urlencoded,
        body: form({ ...grant, client_id: 'nobody', client_secret: 'nothing' }),
        status: 401,
      },
      {
        name: 'disabled client',
        headers: {
          ...urlencoded,
          authorization: basicAuthorization(disabled.clientId, disabled.clientSecret),
        },
        body: form(grant),
        status: 401,
      },
      {
        name: 'method not registered',
        headers: {
          ...urlencoded,
          authorization: basicAuthorization(postClient.clientId, postClient.clientSecret),
        },
        body: form(grant),
        status: 401,
      },
      {
        name: 'malformed Basic header',
        headers: { ...urlencoded, authorization: 'Basic %%%' },
        body: form(grant),
        status: 401,
      },
      {
        name: 'no grant_type',
        headers: { ...urlencoded, ...basic },
        body: form({ scope: 'read' }),
        status: 400,
      },
      {
        name: 'unsupported grant_type',
        headers: { ...urlencoded, ...basic },
        body: form({ grant_type: 'password' }),
        status: 400,
      },
      {
        name: 'scope not granted',
        headers: { ...urlencoded, ...basic },
        body: form({ ...grant, scope: 'admin' }),
        status: 400,
      },
      {
        name: 'audience not granted',
        headers: { ...urlencoded, ...basic },
        body: form({ ...grant, resource: 'https://elsewhere.example' }),
        status: 400,
      },
      {
        name: 'duplicate parameter',
        headers: { ...urlencoded, ...basic },
        body: Buffer.from('grant_type=client_credentials&grant_type=client_credentials'),
        status: 400,
      },
      {
        name: 'two authentication methods',
        headers: { ...urlencoded, ...basic },
        body: form({ ...grant, client_id: client.clientId, client_secret: client.clientSecret }),
        status: 400,
      },
      {
        name: 'malformed JSON',
        headers: { ...json, ...basic },
        body: Buffer.from('{"grant_type":'),
        status: 400,
      },
      {
        name: 'JSON that is not an object',
        headers: { ...json, ...basic },
        body: Buffer.from('["client_credentials"]'),
        status: 400,
      },
      {
        name: 'invalid UTF-8',
        headers: { ...urlencoded, ...basic },
        body: Buffer.from([0x67, 0x72, 0x61, 0x6e, 0x74, 0x3d, 0xff, 0xfe]),
        status: 400,
      },
      {
        name: 'malformed multipart',
        headers: { 'content-type': 'multipart/form-data; boundary=x', ...basic },
        body: Buffer.from('not multipart at all'),
        status: 400,
      },
    ]);
  });
});

describe('token endpoint listener: requests cut short', () => {
  let tessera: TestTessera;
  let client: { clientId: string; clientSecret: string };

  before(async () => {
    tessera = await startTessera();
    client = await tessera.createClient({});
  });
  after(() => tessera.close());

  it('a client that hangs up mid-body costs nothing; the next request is answered', async () => {
    const { port } = new URL(tessera.url);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          'POST /oauth/token HTTP/1.1\r\nHost: x\r\n' +
            'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n' +
            'grant_type=client',
        );
        setTimeout(() => socket.destroy(), 50);
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    const answer = await post(
      `${tessera.url}/oauth/token`,
      {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basicAuthorization(client.clientId, client.clientSecret),
      },
      form({ grant_type: 'client_credentials' }),
      false,
    );
    assert.equal(answer.status, 200);
  });
});

describe('token endpoint: both paths answer alike in a preset dialect', () => {
  let tessera: TestTessera;
  let client: { clientId: string; clientSecret: string };

  before(async () => {
    tessera = await startTessera({ preset: 'conta-simples' });
    client = await tessera.createClient({});
  });
  after(() => tessera.close());

  it('on the preset path (Conta Simples error bodies)', async () => {
    const urlencoded = { 'content-type': 'application/x-www-form-urlencoded' };
    const grant = form({ grant_type: 'client_credentials' });
    await assertSameOnBothPaths(tessera, '/oauth/v1/access-token', [
      {
        name: 'basic',
        headers: {
          ...urlencoded,
          authorization: basicAuthorization(client.clientId, client.clientSecret),
        },
        body: grant,
        status: 200,
      },
      {
        name: 'wrong secret',
        headers: { ...urlencoded, authorization: basicAuthorization(client.clientId, 'wrong') },
        body: grant,
        status: 401,
      },
      {
        name: 'credentials in the body, which Conta Simples does not take',
        headers: urlencoded,
        body: form({
          grant_type: 'client_credentials',
          client_id: client.clientId,
          client_secret: client.clientSecret,
        }),
        status: 401,
      },
      {
        name: 'unsupported grant_type',
        headers: {
          ...urlencoded,
          authorization: basicAuthorization(client.clientId, client.clientSecret),
        },
        body: form({ grant_type: 'password' }),
        status: 400,
      },
    ]);
  });

  it('leaves body types the preset does not take to the Fastify route', async () => {
    const listener = (tessera.server.app as unknown as { tokenListener: TokenListener })
      .tokenListener;
    const takenBefore = listener.taken;
    const answer = await post(
      `${tessera.url}/oauth/v1/access-token`,
      {
        'content-type': 'application/json',
        authorization: basicAuthorization(client.clientId, client.clientSecret),
      },
      Buffer.from('{"grant_type":"client_credentials"}'),
      false,
    );
    assert.equal(listener.taken, takenBefore);
    assert.equal(answer.status, 400);
  });
});
