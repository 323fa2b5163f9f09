import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { createVerifier, type Verifier } from '../../verifier/src/index.js';
import { presets } from '../src/presets/index.js';
import { isRfcCompatible } from '../src/presets/preset.js';
import { importClient, runCurl, runSnippet, substitute } from './support/seed-requests.js';
import { postForm, startTessera, type TestTessera } from './support/tessera.js';

// Treezor's "Authentication" page, request examples verbatim (comments included: the
// `\ # required` line ends are a documentation slip a shell would not continue past; see
// shellWords).
const tokenRequest = String.raw`curl -X POST {baseUrl}/oauth/token \
--form 'grant_type="client_credentials"' \ # required
--form 'client_id="{yourClientId}"' \ # required
--form 'client_secret="{yourClientSecret}"' # required
# --form 'scope="{scope}"' # optional, to specify scope (ex. "admin" or "admin read_all")`;
const axiosSnippet =
  String.raw`const axios = require('axios');
async function authenticate() {
try {
const baseUrl = '{baseUrl}/'; // replace with your Treezor API base URL
const yourClientId = 'your_client_id'; // replace with your client id
const yourClientSecret = 'your_client_secret'; // replace with your client secret
const response = await axios.post(` +
  '`${baseUrl}oauth/token`' +
  String.raw`, {
grant_type: 'client_credentials',
client_id: yourClientId,
client_secret: yourClientSecret,
});
console.log('Authentication successful!');
console.log('Access token:', response.data.access_token);
} catch (error) {
if (!error.response) {
console.log('Error during network request');
} else {
console.log(` +
  '`Authentification failed with error code ${error.response.status}`' +
  String.raw`);
}
}
}
authenticate();`;
const apiRequest = String.raw`curl -X GET {baseUrl}/example/of/endpoint \
--header 'Authorization: Bearer {accessToken}' \
--header 'Content: application/json'`;
const refreshRequest = String.raw`curl -X POST {baseUrl}/oauth/token \
--form 'grant_type="refresh_token"' \ # required
--form 'client_id="{yourClientId}"' \ # required
--form 'scope="user admin"' \ # optional, this shows multiple scopes
--form 'refresh_token="{yourRefreshToken}"' # required, your previously issued refreshToken`;

const clientId = 'treezor-sandbox-client';
const clientSecret = 'treezor-sandbox-secret-0123456789abcdef';

/**
 * axios' `post(url, object)` as far as the snippet uses it: a JSON body, `response.data`,
 * and `error.response.status` on a non-2xx answer — built on fetch.
 */
const axios = {
  async post(url: string, data: unknown) {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(data),
    });
    const result = { status: response.status, data: (await response.json()) as unknown };
    if (!response.ok) throw Object.assign(new Error('Request failed'), { response: result });
    return result;
  },
};

describe('preset treezor: the documented requests against tessera serve --preset treezor', () => {
  let tessera: TestTessera;
  let api: Server;
  let apiUrl: string;
  let verifier: Verifier;
  let replacements: Record<string, string>;
  before(async () => {
    tessera = await startTessera({ preset: 'treezor' });
    await importClient(tessera.database, { clientId, clientSecret, scope: 'admin read_all' });
    replacements = {
      '{baseUrl}': tessera.url,
      '{yourClientId}': clientId,
      '{yourClientSecret}': clientSecret,
    };
    // A Treezor-like API: accepts Tessera's tokens through the verifier.
    verifier = createVerifier({ issuer: tessera.issuer, audience: tessera.issuer });
    api = createServer((request, response) => {
      verifier.verifyAuthorization(request.headers.authorization).then(
        ({ claims }) => {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ client_id: claims.client_id }));
        },
        (error: unknown) => {
          const rejection = verifier.errorResponse(error);
          response.writeHead(rejection.status, rejection.headers);
          response.end(JSON.stringify(rejection.body));
        },
      );
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    const address = api.address() as { port: number };
    apiUrl = `http://127.0.0.1:${address.port}`;
  });
  after(async () => {
    verifier.close();
    await new Promise((resolve) => api.close(resolve));
    await tessera.close();
  });

  const assertTokenResponse = (body: unknown) => {
    const token = body as Record<string, unknown>;
    // "optionally, the response may contain a refresh_token": never for client_credentials.
    assert.deepEqual(Object.keys(token).sort(), [
      'access_token',
      'expires_in',
      'scope',
      'token_type',
    ]);
    assert.equal(token.token_type, 'Bearer');
    assert.equal(token.expires_in, 3600);
    return token as { access_token: string; scope: string };
  };

  it('the curl with --form (multipart) answers a 1-hour Bearer token, no refresh token', async () => {
    const response = await runCurl(tokenRequest, replacements);
    assert.equal(response.status, 200, response.text);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const token = assertTokenResponse(response.body);
    assert.equal(decodeJwt(token.access_token).client_id, clientId);
  });

  it('the optional scope line, uncommented: scope "admin read_all"', async () => {
    const withScope = tokenRequest
      .replace(`# required\n# --form`, `\\ # required\n--form`)
      .replace('{scope}', 'admin read_all');
    const response = await runCurl(withScope, replacements);
    assert.equal(response.status, 200, response.text);
    const token = assertTokenResponse(response.body);
    assert.equal(token.scope, 'admin read_all');
    assert.equal(decodeJwt(token.access_token).scope, 'admin read_all');
    const narrower = await runCurl(withScope.replace('admin read_all', 'admin'), replacements);
    assert.equal(decodeJwt(assertTokenResponse(narrower.body).access_token).scope, 'admin');
  });

  it('the JS (axios) snippet runs as written, sending JSON', async () => {
    const source = substitute(axiosSnippet, {
      "'{baseUrl}/'": `'${tessera.url}/'`,
      "'your_client_id'": `'${clientId}'`,
      "'your_client_secret'": `'${clientSecret}'`,
      // The snippet does not wait for its own call; the test must, to read the log.
      '\nauthenticate();': '\nawait authenticate();',
    });
    const logged = await runSnippet(source, {
      require: (name: string) => (name === 'axios' ? axios : assert.fail(name)),
    });
    assert.equal(logged[0]?.[0], 'Authentication successful!');
    assert.equal(logged[1]?.[0], 'Access token:');
    assert.equal(decodeJwt(logged[1]?.[1] as string).client_id, clientId);
    const refused = await runSnippet(
      substitute(source, { [`'${clientSecret}'`]: "'not-the-secret'" }),
      { require: () => axios },
    );
    assert.deepEqual(refused, [['Authentification failed with error code 401']]);
  });

  it("the PHP snippet's request (php-curl-class posts an array urlencoded)", async () => {
    const response = await postForm(`${tessera.url}/oauth/token`, {
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
    });
    assert.equal(response.status, 200, response.text);
    assert.ok(assertTokenResponse(response.body).access_token);
  });

  it('"Using the token": the API curl with the JWT is accepted by a verifier', async () => {
    const { access_token } = (await runCurl(tokenRequest, replacements)).body as {
      access_token: string;
    };
    const response = await runCurl(apiRequest, {
      '{baseUrl}': apiUrl,
      '{accessToken}': access_token,
    });
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.body, { client_id: clientId });
  });

  it('"Refreshing the token": not possible for client_credentials (RFC 6749 error)', async () => {
    const response = await runCurl(refreshRequest, {
      ...replacements,
      '{yourRefreshToken}': 'a-refresh-token',
    });
    assert.equal(response.status, 400);
    assert.deepEqual(response.body, {
      error: 'unsupported_grant_type',
      error_description: 'Only the client_credentials grant is supported',
    });
  });

  it('errors are RFC 6749 on the shared /oauth/token route', async () => {
    const wrong = await runCurl(tokenRequest, {
      ...replacements,
      '{yourClientSecret}': 'not-the-secret',
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('cache-control'), 'no-store');
    assert.deepEqual(wrong.body, {
      error: 'invalid_client',
      error_description: 'Client authentication failed',
    });
    const scope = await runCurl(
      tokenRequest
        .replace(`# required\n# --form`, `\\ # required\n--form`)
        .replace('{scope}', 'admin write_all'),
      replacements,
    );
    assert.equal(scope.status, 400);
    assert.deepEqual(scope.body, {
      error: 'invalid_scope',
      error_description: 'The client may not request the scope: write_all',
    });
  });

  it('shares the RFC token route: one POST /oauth/token, RFC-compatible presets only', () => {
    const routes = (
      tessera.server.app as unknown as { tesseraRoutes: Array<{ method: string; url: string }> }
    ).tesseraRoutes.filter((route) => route.method === 'POST' && route.url === '/oauth/token');
    assert.equal(routes.length, 1);
    const compatible = [...presets.values()].filter(isRfcCompatible).map((preset) => preset.name);
    assert.deepEqual(compatible, ['treezor']);
  });
});
