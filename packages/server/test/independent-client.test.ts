import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { startTessera, type TestTessera } from './support/tessera.js';

describe('independent implementations', () => {
  let tessera: TestTessera;
  before(async () => {
    tessera = await startTessera();
  });
  after(() => tessera.close());

  for (const method of ['client_secret_basic', 'client_secret_post'] as const) {
    it(`oauth4webapi gets a token through discovery with ${method}, jose verifies it`, async () => {
      const registered = await tessera.createClient({
        scope: 'read write',
        audience: 'https://api.example.com',
      });
      const issuer = new URL(tessera.issuer);
      const as = await oauth
        .discoveryRequest(issuer, { algorithm: 'oauth2', [oauth.allowInsecureRequests]: true })
        .then((response) => oauth.processDiscoveryResponse(issuer, response));
      assert.equal(as.token_endpoint, `${tessera.url}/oauth/token`);
      const client: oauth.Client = { client_id: registered.clientId };
      const auth =
        method === 'client_secret_basic'
          ? oauth.ClientSecretBasic(registered.clientSecret)
          : oauth.ClientSecretPost(registered.clientSecret);
      const response = await oauth.clientCredentialsGrantRequest(
        as,
        client,
        auth,
        new URLSearchParams({ scope: 'read' }),
        {
          [oauth.allowInsecureRequests]: true,
        },
      );
      const result = await oauth.processClientCredentialsResponse(as, client, response);
      assert.equal(result.token_type, 'bearer');
      assert.equal(result.expires_in, 3600);
      assert.equal(result.scope, 'read');

      const jwks = createRemoteJWKSet(new URL(as.jwks_uri!));
      const { payload, protectedHeader } = await jwtVerify(result.access_token, jwks, {
        issuer: tessera.issuer,
        audience: 'https://api.example.com',
        typ: 'at+jwt',
        algorithms: ['RS256'],
      });
      assert.equal(protectedHeader.typ, 'at+jwt');
      assert.equal(payload.client_id, registered.clientId);
      assert.equal(payload.sub, registered.clientId);
      assert.equal(payload.scope, 'read');
    });
  }

  for (const alg of ['ES256', 'EdDSA'] as const) {
    it(`issues ${alg} tokens that jose verifies when configured for ${alg}`, async () => {
      const other = await startTessera({ signingAlg: alg });
      try {
        const registered = await other.createClient();
        const response = await fetch(`${other.url}/oauth/token`, {
          method: 'POST',
          body: new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: registered.clientId,
            client_secret: registered.clientSecret,
          }),
        });
        const body = (await response.json()) as { access_token: string };
        const { protectedHeader } = await jwtVerify(
          body.access_token,
          createRemoteJWKSet(new URL(`${other.url}/.well-known/jwks.json`)),
          {
            issuer: other.issuer,
            typ: 'at+jwt',
            algorithms: [alg],
          },
        );
        assert.equal(protectedHeader.alg, alg);
      } finally {
        await other.close();
      }
    });
  }
});
