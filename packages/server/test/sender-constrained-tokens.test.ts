/**
 * Resource-server side of sender-constrained tokens, end to end over real TLS: Tessera issues
 * certificate-bound (RFC 8705 §3) and DPoP-bound (RFC 9449) tokens; an HTTPS resource server
 * using @tessera/verifier accepts them only from their holder.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { createVerifier, type Verifier } from '@tessera/verifier';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { fetchTrusting, httpsRequest, postFormTls, type TlsIdentity } from './support/https.js';
import { createTestPki, type TestPki } from './support/pki.js';
import { basicAuthorization, startTessera, type TestTessera } from './support/tessera.js';

const now = () => Math.floor(Date.now() / 1000);

describe('sender-constrained tokens at a resource server (verifier)', () => {
  let pki: TestPki;
  let tessera: TestTessera;
  let verifier: Verifier;
  let api: Server;
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
    api = createServer(
      {
        cert: pki.server.cert,
        key: pki.server.key,
        ca: pki.ca,
        requestCert: true,
        rejectUnauthorized: false,
      },
      (request, response) => {
        const socket = request.socket as TLSSocket;
        const certificate = socket.getPeerX509Certificate();
        verifier
          .verifyAuthorization(request.headers.authorization, {
            ...(certificate ? { clientCertificate: new Uint8Array(certificate.raw) } : {}),
            dpop: {
              method: request.method!,
              url: `${apiUrl}${request.url}`,
              proof: request.headers.dpop,
            },
          })
          .then(
            (verified) => {
              response.setHeader('content-type', 'application/json');
              response.end(JSON.stringify({ client_id: verified.claims.client_id }));
            },
            (error: unknown) => {
              const shaped = verifier.errorResponse(error);
              response.writeHead(shaped.status, shaped.headers);
              response.end(shaped.body === undefined ? '' : JSON.stringify(shaped.body));
            },
          );
      },
    );
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    apiUrl = `https://127.0.0.1:${(api.address() as { port: number }).port}`;
    secretClient = await tessera.createClient();
    const pair = await generateKeyPair('ES256', { extractable: true });
    dpopKey = { privateKey: pair.privateKey, publicJwk: await exportJWK(pair.publicKey) };
  });
  after(async () => {
    verifier.close();
    await new Promise((resolve) => api.close(resolve));
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
        { authorization: `DPoP ${token}`, dpop: await apiProof(token, { htu: `${apiUrl}/other` }) },
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
