import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { importClient, runCurl, runSnippet, substitute } from './support/seed-requests.js';
import { postForm, startTessera, type TestTessera } from './support/tessera.js';

// Conta Simples' "Get access token" (English) and "Obter Token de Acesso" (Portuguese) pages,
// request examples verbatim. The two curl commands differ only in indentation.
const curlEn = String.raw`curl -X POST "https://api-sandbox.contasimples.com/oauth/v1/access-token" \
  -H "Content-Type: application/x-www-form-urlencoded" \
  -H "Authorization: Basic YOUR_CREDENTIALS" \
  --data-urlencode grant_type=client_credentials`;
const curlPt = String.raw`curl -X POST "https://api-sandbox.contasimples.com/oauth/v1/access-token" \
-H "Content-Type: application/x-www-form-urlencoded" \
-H "Authorization: Basic YOUR_CREDENTIALS" \
--data-urlencode grant_type=client_credentials`;
const jsPt = String.raw`const params = new URLSearchParams();
params.append("grant_type", "client_credentials");
const response = await fetch("https://api-sandbox.contasimples.com/oauth/v1/access-token", {
method: "POST",
headers: {
"Content-Type": "application/x-www-form-urlencoded",
"Authorization": "Basic YOUR_CREDENTIALS"
},
body: params
});
const data = await response.json();
console.log(data);`;
const pythonPt = String.raw`import requests
import json
url = "https://api-sandbox.contasimples.com/oauth/v1/access-token"
headers = {
"Content-Type": "application/x-www-form-urlencoded",
"Authorization": "Basic YOUR_CREDENTIALS"
}
data = {
"grant_type": "client_credentials"
}
response = requests.post(url, headers=headers, data=data)
print(response.json())`;

const host = 'https://api-sandbox.contasimples.com';
const apiKey = 'cs_sandbox_api_key_0001';
const apiSecret = 'cs_sandbox_api_secret_0123456789abcdef';
const shortKey = 'cs_sandbox_api_key_1800';
/** `base64(api_key:api_secret)`, as the pages say (no form-encoding first). */
const credentials = (key: string, secret: string) =>
  Buffer.from(`${key}:${secret}`).toString('base64');

const unauthorized = {
  error: 'Unauthorized',
  message: 'Authentication required. Please provide a valid API token',
  code: 401,
};
const badRequest = (field: string | undefined, message: string) => ({
  error: 'Bad Request',
  message: 'The request contains invalid parameters or malformed data',
  code: 400,
  details: [field === undefined ? { message } : { field, message }],
});

describe('preset conta-simples: the documented requests against tessera serve --preset conta-simples', () => {
  let tessera: TestTessera;
  let replacements: Record<string, string>;
  before(async () => {
    tessera = await startTessera({ preset: 'conta-simples' });
    await importClient(tessera.database, { clientId: apiKey, clientSecret: apiSecret });
    await importClient(tessera.database, {
      clientId: shortKey,
      clientSecret: apiSecret,
      tokenTtl: 1800,
    });
    replacements = { [host]: tessera.url, YOUR_CREDENTIALS: credentials(apiKey, apiSecret) };
  });
  after(() => tessera.close());

  const assertTokenResponse = (body: unknown, expiresIn: number) => {
    const token = body as Record<string, unknown>;
    assert.deepEqual(Object.keys(token).sort(), ['access_token', 'expires_in', 'token_type']);
    assert.equal(token.token_type, 'Bearer');
    assert.equal(token.expires_in, expiresIn);
    assert.equal(decodeJwt(token.access_token as string).client_id, apiKey);
  };

  for (const [page, command] of [
    ['English', curlEn],
    ['Portuguese', curlPt],
  ] as const) {
    it(`the ${page} page's curl answers a Bearer token for 3600 s`, async () => {
      const response = await runCurl(command, replacements);
      assert.equal(response.status, 200, response.text);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assertTokenResponse(response.body, 3600);
    });
  }

  it("a client registered with --token-ttl 1800 gets the English page's 30 minutes", async () => {
    const response = await runCurl(curlEn, {
      ...replacements,
      YOUR_CREDENTIALS: credentials(shortKey, apiSecret),
    });
    assert.equal(response.status, 200, response.text);
    assert.equal((response.body as { expires_in: number }).expires_in, 1800);
  });

  it("the Portuguese page's JavaScript (fetch) runs as written", async () => {
    const logged = await runSnippet(substitute(jsPt, replacements), { fetch });
    assert.equal(logged.length, 1);
    assertTokenResponse(logged[0]![0], 3600);
  });

  it("the Portuguese page's Python (requests) runs as written, where python3 has requests", async (t) => {
    const source = substitute(pythonPt, replacements);
    const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('python3', ['-c', source], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk));
      child.on('error', () => resolve({ code: -1, out }));
      child.on('close', (code) => resolve({ code, out }));
    });
    if (result.code !== 0) return t.skip('python3 with requests is not available');
    assert.match(result.out, /'token_type': 'Bearer', 'expires_in': 3600\}/);
  });

  it("the Go and Ruby snippets' request (same headers and body, sent with fetch)", async () => {
    // Go prints the status line, Ruby the body: both send exactly the curl's request.
    const response = await fetch(`${tessera.url}/oauth/v1/access-token`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Authorization: `Basic ${credentials(apiKey, apiSecret)}`,
      },
      body: new URLSearchParams([['grant_type', 'client_credentials']]).toString(),
    });
    assert.equal(`${response.status} ${response.statusText}`, '200 OK');
    assertTokenResponse(await response.json(), 3600);
  });

  it('401 in the documented shape: wrong secret, unknown key, credentials in the body', async () => {
    const wrong = await runCurl(curlEn, {
      ...replacements,
      YOUR_CREDENTIALS: credentials(apiKey, `${apiSecret}x`),
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('cache-control'), 'no-store');
    assert.deepEqual(wrong.body, unauthorized);
    const unknown = await runCurl(curlPt, {
      ...replacements,
      YOUR_CREDENTIALS: credentials('nobody', apiSecret),
    });
    assert.deepEqual([unknown.status, unknown.body], [401, unauthorized]);
    const inBody = await postForm(`${tessera.url}/oauth/v1/access-token`, {
      grant_type: 'client_credentials',
      client_id: apiKey,
      client_secret: apiSecret,
    });
    assert.deepEqual([inBody.status, inBody.body], [401, unauthorized]);
  });

  it('400 with details[]: anything but grant_type=client_credentials in a form body', async () => {
    const auth = { authorization: `Basic ${credentials(apiKey, apiSecret)}` };
    const url = `${tessera.url}/oauth/v1/access-token`;
    const scope = await postForm(url, { grant_type: 'client_credentials', scope: 'x' }, auth);
    assert.equal(scope.status, 400);
    assert.deepEqual(scope.body, badRequest('scope', 'The scope parameter is not accepted here'));
    const grant = await postForm(url, { grant_type: 'password' }, auth);
    assert.deepEqual(
      grant.body,
      badRequest('grant_type', 'Only the client_credentials grant is supported'),
    );
    const missing = await postForm(url, {}, auth);
    assert.deepEqual(missing.body, badRequest('grant_type', 'The grant_type parameter is missing'));
    const json = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ grant_type: 'client_credentials' }),
    });
    assert.equal(json.status, 400);
    assert.deepEqual(
      await json.json(),
      badRequest('Content-Type', 'The request body must be application/x-www-form-urlencoded'),
    );
  });

  it('500 carries the requestId, and no detail', async () => {
    const { authenticator } = tessera.server.context;
    const original = authenticator.authenticate;
    authenticator.authenticate = () => Promise.reject(new Error('secret internals'));
    try {
      const response = await runCurl(
        curlEn.replace(' \\\n  --data', " \\\n  -H 'X-Request-Id: req_1234567890' \\\n  --data"),
        replacements,
      );
      assert.equal(response.status, 500);
      assert.deepEqual(response.body, {
        error: 'Internal Server Error',
        message: 'An unexpected error occurred on the server',
        code: 500,
        requestId: 'req_1234567890',
      });
    } finally {
      authenticator.authenticate = original;
    }
  });

  it('the RFC endpoint beside it keeps RFC 6749 errors and accepts body credentials', async () => {
    const wrong = await postForm(`${tessera.url}/oauth/token`, {
      grant_type: 'client_credentials',
      client_id: apiKey,
      client_secret: 'wrong',
    });
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.body, {
      error: 'invalid_client',
      error_description: 'Client authentication failed',
    });
    const ok = await postForm(`${tessera.url}/oauth/token`, {
      grant_type: 'client_credentials',
      client_id: apiKey,
      client_secret: apiSecret,
    });
    assert.equal(ok.status, 200, ok.text);
  });
});
