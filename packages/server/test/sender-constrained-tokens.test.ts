/**
 * Resource-server side of sender-constrained tokens, end to end over real TLS: Tessera issues
 * certificate-bound (RFC 8705 §3) and DPoP-bound (RFC 9449) tokens; an HTTPS resource server
 * using @tessera/verifier accepts them only from their holder.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import {
  createVerifier,
  tesseraFastify,
  tesseraMiddleware,
  type ConnectRequestLike,
  type VerifiedToken,
  type Verifier,
} from '@tessera/verifier';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { fetchTrusting, httpsRequest, postFormTls, type TlsIdentity } from './support/https.js';
import { createTestPki, type TestPki } from './support/pki.js';
import { basicAuthorization, startTessera, type TestTessera } from './support/tessera.js';

const now = () => Math.floor(Date.now() / 1000);

/**
 * A resource server on HTTPS asking for client certificates, protected by the verifier's
 * Express/Connect middleware on node:https or by its Fastify plugin: both hand the connection's
 * certificate and the request's DPoP proof to the verifier without being told.
 */
async function startApi(
  frontEnd: 'middleware' | 'fastify',
  verifier: Verifier,
  pki: TestPki,
): Promise<{ url: string; close(): Promise<void> }> {
  const tls = {
    cert: pki.server.cert,
    key: pki.server.key,
    ca: pki.ca,
    requestCert: true,
    rejectUnauthorized: false,
  };
  if (frontEnd === 'fastify') {
    const app = Fastify({ https: tls });
    await app.register(tesseraFastify(verifier));
    app.get('/orders', async (request) => ({
      client_id: (request as unknown as { tessera: VerifiedToken }).tessera.claims.client_id,
    }));
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    return { url, close: () => app.close() };
  }
  const protect = tesseraMiddleware(verifier);
  const server: Server = createServer(tls, (request, response) => {
    protect(request, response, () => {
      const verified = (request as ConnectRequestLike).auth!;
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ client_id: verified.claims.client_id }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

for (const frontEnd of ['middleware', 'fastify'] as const)
  describe(`sender-constrained tokens at a resource server (verifier, ${frontEnd})`, () => {
    let pki: TestPki;
    let tessera: TestTessera;
    let verifier: Verifier;
    let api: { url: string; close(): Promise<void> };
    let apiUrl: string;
    let secretClient: { clientId: string; clientSecret: string };
    let dpopKey: { privateKey: CryptoKey; publicJwk: JWK };

    before(async () => {
      pki = await createTestPki();
      tessera = await startTessera({
        tlsCert: pki.server.certFile,
        tlsKey: pki.server.keyFile,
        tlsClientCa: pki.caFile,
        defaultAudience: 'https://api.test',
      });
      verifier = createVerifier({
        issuer: tessera.issuer,
        audience: 'https://api.test',
        fetch: fetchTrusting(pki.ca),
      });
      api = await startApi(frontEnd, verifier, pki);
      apiUrl = api.url;
      secretClient = await tessera.createClient();
      const pair = await generateKeyPair('ES256', { extractable: true });
      dpopKey = { privateKey: pair.privateKey, publicJwk: await exportJWK(pair.publicKey) };
    });
    after(async () => {
      verifier.close();
      await api.close();
      await tessera.close();
      await pki.close();
    });

    const callApi = (headers: Record<string, string>, identity?: TlsIdentity, method = 'GET') =>
      httpsRequest(`${apiUrl}/orders`, {
        ca: pki.ca,
        method,
        headers,
        ...(identity ? { identity } : {}),
      });

    const issue = async (identity?: TlsIdentity, dpop?: string) => {
      const response = await postFormTls(
        `${tessera.url}/oauth/token`,
        { grant_type: 'client_credentials' },
        {
          ca: pki.ca,
          headers: {
            authorization: basicAuthorization(secretClient.clientId, secretClient.clientSecret),
            ...(dpop ? { dpop } : {}),
          },
          ...(identity ? { identity } : {}),
        },
      );
      assert.equal(response.status, 200, response.text);
      return (response.body as { access_token: string }).access_token;
    };

    const proof = (claims: Record<string, unknown>, key = dpopKey) =>
      new SignJWT({ jti: randomUUID(), iat: now(), ...claims })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk })
        .sign(key.privateKey);
    const ath = (token: string) => createHash('sha256').update(token).digest('base64url');
    const apiProof = (token: string, claims: Record<string, unknown> = {}) =>
      proof({ htm: 'GET', htu: `${apiUrl}/orders`, ath: ath(token), ...claims });

    describe('certificate-bound (mTLS) tokens', () => {
      it('are accepted over a connection with the same certificate', async () => {
        const token = await issue(pki.client);
        const response = await callApi({ authorization: `Bearer ${token}` }, pki.client);
        assert.equal(response.status, 200, response.text);
        assert.deepEqual(response.body, { client_id: secretClient.clientId });
      });

      it('are refused with another certificate or none', async () => {
        const token = await issue(pki.client);
        for (const identity of [pki.otherClient, pki.selfSigned, undefined]) {
          const response = await callApi({ authorization: `Bearer ${token}` }, identity);
          assert.equal(response.status, 401);
          assert.deepEqual(response.body, {
            error: 'invalid_token',
            error_description: 'The access token is bound to another client certificate',
          });
          assert.match(String(response.headers['www-authenticate']), /^Bearer .*invalid_token/);
        }
      });
    });

    describe('DPoP-bound tokens', () => {
      let token: string;
      before(async () => {
        token = await issue(
          undefined,
          await proof({ htm: 'POST', htu: `${tessera.url}/oauth/token` }),
        );
      });

      it('are accepted with the DPoP scheme and a proof for this request', async () => {
        const response = await callApi({
          authorization: `DPoP ${token}`,
          dpop: await apiProof(token),
        });
        assert.equal(response.status, 200, response.text);
      });

      it('are refused as plain Bearer, even with a proof', async () => {
        for (const headers of <Array<Record<string, string>>>[
          { authorization: `Bearer ${token}` },
          { authorization: `Bearer ${token}`, dpop: await apiProof(token) },
        ]) {
          const response = await callApi(headers);
          assert.equal(response.status, 401);
          assert.equal((response.body as { error: string }).error, 'invalid_token');
          assert.match(String(response.headers['www-authenticate']), /^DPoP /);
        }
      });

      it('are refused without a proof, or with a wrong htm, htu, ath, key or a replayed proof', async () => {
        const other = await generateKeyPair('ES256', { extractable: true });
        const otherKey = {
          privateKey: other.privateKey,
          publicJwk: await exportJWK(other.publicKey),
        };
        const cases: Array<Record<string, string>> = [
          { authorization: `DPoP ${token}` },
          { authorization: `DPoP ${token}`, dpop: await apiProof(token, { htm: 'POST' }) },
          {
            authorization: `DPoP ${token}`,
            dpop: await apiProof(token, { htu: `${apiUrl}/other` }),
          },
          {
            authorization: `DPoP ${token}`,
            dpop: await apiProof(token, { ath: ath('another token') }),
          },
          { authorization: `DPoP ${token}`, dpop: await apiProof(token, { iat: now() - 3600 }) },
          {
            authorization: `DPoP ${token}`,
            dpop: await proof({ htm: 'GET', htu: `${apiUrl}/orders`, ath: ath(token) }, otherKey),
          },
        ];
        for (const headers of cases) {
          const response = await callApi(headers);
          assert.equal(response.status, 401, JSON.stringify(Object.keys(headers)));
          assert.deepEqual(response.body, {
            error: 'invalid_dpop_proof',
            error_description: 'The DPoP proof is invalid',
          });
          assert.match(String(response.headers['www-authenticate']), /^DPoP .*algs=/);
        }
        const once = await apiProof(token);
        assert.equal((await callApi({ authorization: `DPoP ${token}`, dpop: once })).status, 200);
        const replay = await callApi({ authorization: `DPoP ${token}`, dpop: once });
        assert.equal(replay.status, 401);
        assert.equal((replay.body as { error: string }).error, 'invalid_dpop_proof');
      });

      it('the DPoP scheme is refused for an unbound token', async () => {
        const bearer = await issue();
        const response = await callApi({
          authorization: `DPoP ${bearer}`,
          dpop: await apiProof(bearer),
        });
        assert.equal(response.status, 401);
        assert.equal((response.body as { error: string }).error, 'invalid_token');
      });
    });
  });
