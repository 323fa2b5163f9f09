import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createTestPki, type TestPki } from '../../server/test/support/pki.js';
import { startTessera, type TestTessera } from '../../server/test/support/tessera.js';
import { createTokenClient, type TokenEndpointError } from '../src/index.js';
import { httpsFetch } from './fixtures/https-fetch.js';
import { decodeJws } from './fixtures/keys.js';

const thumbprint = (pem: string): string =>
  createHash('sha256').update(new X509Certificate(pem).raw).digest('base64url');

describe('mutual TLS through a custom fetch, against a real Tessera HTTPS server', () => {
  let pki: TestPki;
  let tessera: TestTessera;
  let byDn: string;
  let selfSigned: string;
  before(async () => {
    pki = await createTestPki();
    tessera = await startTessera({
      tlsCert: pki.server.certFile,
      tlsKey: pki.server.keyFile,
      tlsClientCa: pki.caFile,
    });
    byDn = (
      await tessera.registry.create({
        name: 'mtls client',
        authMethod: 'tls_client_auth',
        tlsSubjectDn: 'CN=payments-client,O=Acme',
      })
    ).client.clientId;
    selfSigned = (
      await tessera.registry.create({
        name: 'self-signed mtls client',
        authMethod: 'self_signed_tls_client_auth',
        certificates: [pki.selfSigned.cert],
      })
    ).client.clientId;
  });
  after(async () => {
    await tessera.close();
    await pki.close();
  });

  const mtlsClient = (
    clientId: string,
    identity: { cert: string; key: string },
    authMethod: 'tls_client_auth' | 'self_signed_tls_client_auth' = 'tls_client_auth',
  ) =>
    createTokenClient({
      issuer: tessera.issuer,
      clientId,
      authMethod,
      fetch: httpsFetch({ ca: pki.ca, cert: identity.cert, key: identity.key }),
    });

  test('tls_client_auth: discovery and a certificate-bound token over mTLS', async () => {
    const client = mtlsClient(byDn, pki.client);
    const token = await client.getToken();
    const claims = decodeJws(token).payload;
    assert.equal(claims['client_id'], byDn);
    assert.deepEqual(claims['cnf'], { 'x5t#S256': thumbprint(pki.client.cert) });
    await client.close({ revoke: false });
  });

  test('tls_client_auth: revocation over mTLS', async () => {
    const client = mtlsClient(byDn, pki.client);
    await client.getToken();
    const revoked: boolean[] = [];
    client.on('revoke', (e) => revoked.push(e.ok));
    await client.close();
    assert.deepEqual(revoked, [true]);
  });

  test('self_signed_tls_client_auth', async () => {
    const client = mtlsClient(selfSigned, pki.selfSigned, 'self_signed_tls_client_auth');
    const claims = decodeJws(await client.getToken()).payload;
    assert.deepEqual(claims['cnf'], { 'x5t#S256': thumbprint(pki.selfSigned.cert) });
    await client.close({ revoke: false });
  });

  test('another certificate from the same CA is invalid_client', async () => {
    const client = mtlsClient(byDn, pki.otherClient);
    await assert.rejects(client.getToken(), (e: TokenEndpointError) => {
      assert.equal(e.error, 'invalid_client');
      assert.equal(e.status, 401);
      return true;
    });
    await client.close({ revoke: false });
  });
});
