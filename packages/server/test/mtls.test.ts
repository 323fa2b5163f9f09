import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { connect, type ConnectionOptions } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { httpsRequest, jwtPayload, postFormTls } from './support/https.js';
import { createTestPki, type TestPki } from './support/pki.js';
import { postForm, startTessera, type TestTessera } from './support/tessera.js';

const thumbprint = (pem: string) =>
  createHash('sha256').update(new X509Certificate(pem).raw).digest('base64url');

const invalidClient = {
  error: 'invalid_client',
  error_description: 'Client authentication failed',
};

describe('mutual TLS (RFC 8705) over real TLS sockets', () => {
  let pki: TestPki;
  let tessera: TestTessera;
  let tokenUrl: string;

  before(async () => {
    pki = await createTestPki();
    tessera = await startTessera({
      tlsCert: pki.server.certFile,
      tlsKey: pki.server.keyFile,
      tlsClientCa: pki.caFile,
    });
    tokenUrl = `${tessera.url}/oauth/token`;
  });
  after(async () => {
    await tessera.close();
    await pki.close();
  });

  const token = (form: Record<string, string>, identity?: { cert: string; key: string }) =>
    postFormTls(
      tokenUrl,
      { grant_type: 'client_credentials', ...form },
      { ca: pki.ca, ...(identity ? { identity } : {}) },
    );

  it('serves HTTPS with TLS 1.3 preferred', async () => {
    assert.match(tessera.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const response = await httpsRequest(`${tessera.url}/healthz`, { ca: pki.ca });
    assert.equal(response.protocol, 'TLSv1.3');
  });

  const handshake = (options: ConnectionOptions) =>
    new Promise<string>((resolve, reject) => {
      const url = new URL(tessera.url);
      const socket = connect({
        host: url.hostname,
        port: Number(url.port),
        ca: pki.ca,
        servername: 'localhost',
        ...options,
      });
      socket.once('secureConnect', () => {
        const cipher = socket.getCipher().name;
        socket.end();
        resolve(cipher);
      });
      socket.once('error', reject);
    });

  it('accepts TLS 1.2 only with BCP 195 cipher suites, and nothing older', async () => {
    assert.equal(
      await handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }),
      'ECDHE-ECDSA-AES128-GCM-SHA256',
    );
    await assert.rejects(handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA' }));
    await assert.rejects(
      handshake({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' }),
    );
  });

  it('advertises the TLS methods and certificate-bound tokens in discovery', async () => {
    const response = await httpsRequest(`${tessera.url}/.well-known/oauth-authorization-server`, {
      ca: pki.ca,
    });
    const metadata = response.body as Record<string, unknown>;
    assert.deepEqual(metadata.token_endpoint_auth_methods_supported, [
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
      'tls_client_auth',
      'self_signed_tls_client_auth',
    ]);
    assert.equal(metadata.tls_client_certificate_bound_access_tokens, true);
  });

  describe('tls_client_auth', () => {
    let byDn: string;
    let bySan: string;
    before(async () => {
      byDn = (
        await tessera.registry.create({
          name: 'mtls by DN',
          authMethod: 'tls_client_auth',
          tlsSubjectDn: 'CN=payments-client,O=Acme',
        })
      ).client.clientId;
      bySan = (
        await tessera.registry.create({
          name: 'mtls by SAN',
          authMethod: 'tls_client_auth',
          tlsSanDns: 'payments.acme.test',
        })
      ).client.clientId;
    });

    it('issues a certificate-bound token to the registered subject DN', async () => {
      const response = await token({ client_id: byDn }, pki.client);
      assert.equal(response.status, 200, response.text);
      const body = response.body as { access_token: string; token_type: string };
      assert.equal(body.token_type, 'Bearer');
      const claims = jwtPayload(body.access_token);
      assert.deepEqual(claims.cnf, { 'x5t#S256': thumbprint(pki.client.cert) });
      assert.equal(claims.client_id, byDn);
    });

    it('issues a token to the registered DNS subject alternative name', async () => {
      const response = await token({ client_id: bySan }, pki.client);
      assert.equal(response.status, 200, response.text);
    });

    it('refuses another certificate from the same CA', async () => {
      for (const clientId of [byDn, bySan]) {
        const response = await token({ client_id: clientId }, pki.otherClient);
        assert.equal(response.status, 401);
        assert.deepEqual(response.body, invalidClient);
        assert.equal(response.headers['cache-control'], 'no-store');
      }
    });

    it('refuses the right subject from an untrusted CA', async () => {
      const response = await token({ client_id: byDn }, pki.rogue);
      assert.equal(response.status, 401);
      assert.deepEqual(response.body, invalidClient);
    });

    it('refuses a request without a client certificate', async () => {
      const response = await token({ client_id: byDn });
      assert.equal(response.status, 401);
      assert.deepEqual(response.body, invalidClient);
    });

    it('refuses a secret in place of the certificate', async () => {
      const bare = await token({ client_id: byDn, client_secret: 'x'.repeat(43) });
      assert.equal(bare.status, 401);
      assert.deepEqual(bare.body, invalidClient);
      const withCertificate = await token(
        { client_id: byDn, client_secret: 'x'.repeat(43) },
        pki.client,
      );
      assert.equal(withCertificate.status, 401);
      assert.deepEqual(withCertificate.body, invalidClient);
    });

    it('still requires client_id', async () => {
      const response = await token({}, pki.client);
      assert.equal(response.status, 401);
      assert.deepEqual(response.body, invalidClient);
    });
  });

  describe('self_signed_tls_client_auth', () => {
    let byCertificate: string;
    let byJwk: string;
    before(async () => {
      byCertificate = (
        await tessera.registry.create({
          name: 'self-signed by certificate',
          authMethod: 'self_signed_tls_client_auth',
          certificates: [pki.selfSigned.cert],
        })
      ).client.clientId;
      const jwk = new X509Certificate(pki.selfSigned.cert).publicKey.export({ format: 'jwk' });
      byJwk = (
        await tessera.registry.create({
          name: 'self-signed by JWK',
          authMethod: 'self_signed_tls_client_auth',
          jwks: { keys: [jwk] },
        })
      ).client.clientId;
    });

    it('issues a bound token for the registered certificate or key', async () => {
      for (const clientId of [byCertificate, byJwk]) {
        const response = await token({ client_id: clientId }, pki.selfSigned);
        assert.equal(response.status, 200, response.text);
        const claims = jwtPayload((response.body as { access_token: string }).access_token);
        assert.deepEqual(claims.cnf, { 'x5t#S256': thumbprint(pki.selfSigned.cert) });
      }
    });

    it('refuses any other certificate, and none', async () => {
      for (const identity of [pki.client, pki.rogue, undefined]) {
        const response = await token({ client_id: byCertificate }, identity);
        assert.equal(response.status, 401);
        assert.deepEqual(response.body, invalidClient);
      }
    });
  });

  it('binds a secret client’s token to the certificate it connected with', async () => {
    const { clientId, clientSecret } = await tessera.createClient();
    const response = await token(
      { client_id: clientId, client_secret: clientSecret },
      pki.otherClient,
    );
    assert.equal(response.status, 200, response.text);
    const claims = jwtPayload((response.body as { access_token: string }).access_token);
    assert.deepEqual(claims.cnf, { 'x5t#S256': thumbprint(pki.otherClient.cert) });
    const plain = await token({ client_id: clientId, client_secret: clientSecret });
    assert.equal(jwtPayload((plain.body as { access_token: string }).access_token).cnf, undefined);
  });
});

describe('client certificates forwarded by a proxy', () => {
  let pki: TestPki;
  let trusting: TestTessera;
  let distrusting: TestTessera;
  let trustingClient: string;
  let distrustingClient: string;

  before(async () => {
    pki = await createTestPki();
    trusting = await startTessera({ trustedProxies: ['127.0.0.1'], tlsClientCa: pki.caFile });
    distrusting = await startTessera({ trustedProxies: ['10.9.9.9'], tlsClientCa: pki.caFile });
    const input = {
      name: 'behind proxy',
      authMethod: 'tls_client_auth',
      tlsSubjectDn: 'CN=payments-client,O=Acme',
    };
    trustingClient = (await trusting.registry.create(input)).client.clientId;
    distrustingClient = (await distrusting.registry.create(input)).client.clientId;
  });
  after(async () => {
    await trusting.close();
    await distrusting.close();
    await pki.close();
  });

  const forwarded = (pem: string) => ({ 'x-client-cert': encodeURIComponent(pem) });

  it('trusts X-Client-Cert from a configured proxy address', async () => {
    const response = await postForm(
      `${trusting.url}/oauth/token`,
      { grant_type: 'client_credentials', client_id: trustingClient },
      forwarded(pki.client.cert),
    );
    assert.equal(response.status, 200, response.text);
    const claims = jwtPayload((response.body as { access_token: string }).access_token);
    assert.deepEqual(claims.cnf, { 'x5t#S256': thumbprint(pki.client.cert) });
  });

  it('checks a forwarded certificate against the client CA', async () => {
    const response = await postForm(
      `${trusting.url}/oauth/token`,
      { grant_type: 'client_credentials', client_id: trustingClient },
      forwarded(pki.rogue.cert),
    );
    assert.equal(response.status, 401);
    assert.deepEqual(response.body, invalidClient);
  });

  it('ignores the header from any other address', async () => {
    const response = await postForm(
      `${distrusting.url}/oauth/token`,
      { grant_type: 'client_credentials', client_id: distrustingClient },
      forwarded(pki.client.cert),
    );
    assert.equal(response.status, 401);
    assert.deepEqual(response.body, invalidClient);
  });
});
