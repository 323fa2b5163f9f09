/**
 * Secretless (federated) clients, issue 25: a workload presents its own JWT from a trusted
 * issuer as an RFC 7523 client_assertion beside the client_id. Two loopback issuers signed
 * with jose: a Kubernetes-style one found through OpenID discovery, and a SPIFFE-style one
 * with a configured JWKS URL.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { runCli } from './support/cli.js';
import { startTessera, type TestTessera } from './support/tessera.js';
import { getToken } from './support/tokens.js';

const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const invalidClient = {
  error: 'invalid_client',
  error_description: 'Client authentication failed',
};

interface SigningKey {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function signingKey(alg: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomUUID();
  return { alg, kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), alg, kid } };
}

/** A loopback OpenID issuer: discovery under `/<path>`, its JWKS, and a switch to hang. */
class LoopbackIssuer {
  server!: Server;
  issuer!: string;
  keys: SigningKey[] = [];
  mode: 'ok' | 'hang' = 'ok';
  requests = 0;

  constructor(readonly path: string) {}

  async start(alg: string): Promise<this> {
    this.keys = [await signingKey(alg)];
    this.server = createServer((request, response) => {
      this.requests += 1;
      if (this.mode === 'hang') return; // never answers
      response.setHeader('content-type', 'application/json');
      if (request.url === `/${this.path}/.well-known/openid-configuration`) {
        response.end(JSON.stringify({ issuer: this.issuer, jwks_uri: this.jwksUri }));
      } else if (request.url === `/${this.path}/keys`) {
        response.end(JSON.stringify({ keys: this.keys.map((key) => key.publicJwk) }));
      } else {
        response.statusCode = 404;
        response.end('{}');
      }
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.issuer = `http://127.0.0.1:${port}/${this.path}`;
    return this;
  }

  get jwksUri(): string {
    return `${this.issuer}/keys`;
  }

  async rotate(): Promise<void> {
    this.keys = [await signingKey(this.keys[0]!.alg)];
  }

  /** A workload token as the issuer would mint it. */
  token(claims: Record<string, unknown>, options: { key?: SigningKey; iat?: number } = {}) {
    const key = options.key ?? this.keys[0]!;
    const iat = options.iat ?? Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: this.issuer, iat, exp: iat + 3600, ...claims })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
      .sign(key.privateKey);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('secretless clients: workload identity federation (RFC 7523 client_assertion)', () => {
  let tessera: TestTessera;
  let clock = Math.floor(Date.now() / 1000);
  const kubernetes = new LoopbackIssuer('k8s');
  const spiffe = new LoopbackIssuer('spiffe');
  const hanging = new LoopbackIssuer('hang');
  const k8sSubject = 'system:serviceaccount:payments:ledger';
  const spiffeSubject = 'spiffe://example.org/ns/payments/sa/ledger';
  let k8sClient: string;
  let spiffeClient: string;
  let hangingClient: string;
  let downClient: string;

  before(async () => {
    await Promise.all([kubernetes.start('RS256'), spiffe.start('ES256'), hanging.start('RS256')]);
    hanging.mode = 'hang';
    tessera = await startTessera({
      nowSeconds: () => clock,
      authFailureLimits: { perClient: 1000, perAddress: 1000, windowSeconds: 60, lockSeconds: 1 },
    });
    const federated = (name: string, input: Record<string, string>) =>
      tessera.registry
        .create({ name, authMethod: 'federated', scope: 'ledger:write', ...input })
        .then(({ client, clientSecret }) => {
          assert.equal(clientSecret, undefined);
          return client.clientId;
        });
    k8sClient = await federated('k8s ledger', {
      federatedIssuer: kubernetes.issuer,
      federatedSubject: k8sSubject,
    });
    spiffeClient = await federated('spiffe ledger', {
      federatedIssuer: spiffe.issuer,
      federatedSubject: spiffeSubject,
      federatedAudience: 'tessera',
      federatedJwksUri: spiffe.jwksUri,
    });
    hangingClient = await federated('hanging issuer', {
      federatedIssuer: hanging.issuer,
      federatedSubject: k8sSubject,
    });
    downClient = await federated('down issuer', {
      federatedIssuer: 'http://127.0.0.1:9/k8s',
      federatedSubject: k8sSubject,
    });
  });
  after(async () => {
    await tessera.close();
    await Promise.all([kubernetes.close(), spiffe.close(), hanging.close()]);
  });

  const token = async (clientId: string, assertion: string) => {
    const response = await fetch(`${tessera.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_assertion_type: assertionType,
        client_assertion: assertion,
      }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const k8sToken = (claims: Record<string, unknown> = {}, options = {}) =>
    kubernetes.token(
      { sub: k8sSubject, aud: [tessera.issuer], jti: randomUUID(), ...claims },
      { iat: clock, ...options },
    );

  it('accepts a Kubernetes service-account token found through discovery', async () => {
    const { status, body } = await token(k8sClient, await k8sToken());
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.scope, 'ledger:write');
    const claims = JSON.parse(
      Buffer.from(String(body.access_token).split('.')[1]!, 'base64url').toString(),
    ) as Record<string, unknown>;
    assert.equal(claims.client_id, k8sClient);
    assert.equal(claims.sub, k8sClient);
  });

  it('accepts a SPIFFE JWT-SVID with the configured audience and JWKS URL, no jti', async () => {
    const svid = await spiffe.token({ sub: spiffeSubject, aud: 'tessera' }, { iat: clock });
    const { status, body } = await token(spiffeClient, svid);
    assert.equal(status, 200, JSON.stringify(body));
  });

  it('refuses a wrong subject, issuer, audience, algorithm, an expired or a future token', async () => {
    const other = await signingKey('RS256');
    const refused = [
      await k8sToken({ sub: 'system:serviceaccount:payments:other' }),
      await k8sToken({ iss: spiffe.issuer }),
      await k8sToken({ aud: 'https://elsewhere.example' }),
      await k8sToken({ exp: clock - 120 }),
      await k8sToken({ nbf: clock + 600 }),
      await k8sToken({}, { key: { ...other, kid: kubernetes.keys[0]!.kid } }),
      await spiffe.token({ sub: spiffeSubject, aud: tessera.issuer }, { iat: clock }),
      // The Kubernetes subject at the SPIFFE client: the issuer does not match.
      await k8sToken({ aud: 'tessera' }),
    ];
    for (const [index, assertion] of refused.entries()) {
      const clientId = index >= 6 ? spiffeClient : k8sClient;
      const { status, body } = await token(clientId, assertion);
      assert.equal(status, 401, `case ${index}`);
      assert.deepEqual(body, invalidClient, `case ${index}`);
    }
  });

  it('refuses HMAC and unsigned tokens', async () => {
    const hmac = await new SignJWT({ iss: kubernetes.issuer, sub: k8sSubject, aud: tessera.issuer })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(clock + 60)
      .sign(new TextEncoder().encode('a shared secret is what federation replaces'));
    const header = Buffer.from('{"alg":"none"}').toString('base64url');
    const payload = Buffer.from(
      JSON.stringify({
        iss: kubernetes.issuer,
        sub: k8sSubject,
        aud: tessera.issuer,
        exp: clock + 60,
      }),
    ).toString('base64url');
    for (const assertion of [hmac, `${header}.${payload}.`]) {
      const { status, body } = await token(k8sClient, assertion);
      assert.equal(status, 401);
      assert.deepEqual(body, invalidClient);
    }
  });

  it('refuses a replayed jti', async () => {
    const assertion = await k8sToken();
    assert.equal((await token(k8sClient, assertion)).status, 200);
    const replay = await token(k8sClient, assertion);
    assert.equal(replay.status, 401);
    assert.deepEqual(replay.body, invalidClient);
  });

  it('needs the client_id beside the workload token, and only a federated client takes it', async () => {
    const response = await fetch(`${tessera.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_assertion_type: assertionType,
        client_assertion: await k8sToken(),
      }),
    });
    assert.equal(response.status, 401);
    assert.deepEqual(await response.json(), invalidClient);
    const { clientId } = await tessera.createClient();
    const secretClient = await token(clientId, await k8sToken());
    assert.equal(secretClient.status, 401);
    assert.deepEqual(secretClient.body, invalidClient);
  });

  it('picks up a rotated issuer key: refetched on an unknown kid, at most once a minute', async () => {
    await kubernetes.rotate();
    const fresh = await token(k8sClient, await k8sToken());
    // Keys fetched moments ago: the unknown kid does not refetch yet.
    assert.equal(fresh.status, 401);
    clock += 61;
    const later = await token(k8sClient, await k8sToken());
    assert.equal(later.status, 200, JSON.stringify(later.body));
  });

  it('fails closed within 10 s when the issuer hangs or is down', async () => {
    const started = Date.now();
    const hung = await token(
      hangingClient,
      await hanging.token({ sub: k8sSubject, aud: tessera.issuer }),
    );
    assert.ok(Date.now() - started < 10_000, `answered after ${Date.now() - started} ms`);
    assert.equal(hung.status, 401);
    assert.deepEqual(hung.body, invalidClient);
    const down = await token(downClient, await k8sToken({ iss: 'http://127.0.0.1:9/k8s' }));
    assert.equal(down.status, 401);
    assert.deepEqual(down.body, invalidClient);
  });

  it('registers only with issuer and subject, https issuers (http on loopback only)', async () => {
    await assert.rejects(
      tessera.registry.create({
        name: 'x',
        authMethod: 'federated',
        federatedIssuer: kubernetes.issuer,
      }),
      { message: 'federated needs federated_issuer and federated_subject' },
    );
    await assert.rejects(
      tessera.registry.create({
        name: 'x',
        authMethod: 'federated',
        federatedIssuer: 'http://kubernetes.default.svc',
        federatedSubject: k8sSubject,
      }),
      { message: 'federated_issuer must be an https URL' },
    );
    await assert.rejects(
      tessera.registry.create({
        name: 'x',
        authMethod: 'private_key_jwt',
        jwksUri: kubernetes.jwksUri,
        federatedSubject: k8sSubject,
      }),
      { message: 'federatedSubject cannot be used with private_key_jwt' },
    );
  });

  it('is registered by the CLI and the admin API, and shown under its metadata names', async () => {
    const created = await runCli([
      ...['clients', 'create', '--name', 'cli ledger', '--auth-method', 'federated'],
      ...['--federated-issuer', kubernetes.issuer, '--federated-subject', k8sSubject],
      ...['--federated-audience', 'https://tessera.example', '--json'],
      ...['--database', tessera.database],
    ]);
    assert.equal(created.status, 0, created.stderr);
    const view = JSON.parse(created.stdout) as Record<string, unknown>;
    assert.equal(view.client_secret, undefined);
    assert.equal(view.auth_method, 'federated');
    assert.equal(view.federated_issuer, kubernetes.issuer);
    assert.equal(view.federated_subject, k8sSubject);
    assert.equal(view.federated_audience, 'https://tessera.example');
    const used = await token(
      String(view.client_id),
      await k8sToken({ aud: 'https://tessera.example' }),
    );
    assert.equal(used.status, 200, JSON.stringify(used.body));

    const admin = await tessera.createClient({ scope: 'tessera:admin' });
    const adminToken = await getToken(tessera.url, admin);
    const response = await fetch(`${tessera.url}/admin/v1/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'admin ledger',
        auth_method: 'federated',
        federated_issuer: spiffe.issuer,
        federated_subject: spiffeSubject,
        federated_jwks_uri: spiffe.jwksUri,
      }),
    });
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(response.status, 201, JSON.stringify(body));
    assert.equal(body.client_secret, undefined);
    assert.equal(body.federated_jwks_uri, spiffe.jwksUri);
    const refused = await fetch(`${tessera.url}/admin/v1/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', auth_method: 'federated', federated_subject: 'x' }),
    });
    assert.equal(refused.status, 400);
    assert.deepEqual(await refused.json(), {
      error: 'invalid_client_metadata',
      error_description: 'federated needs federated_issuer and federated_subject',
    });
  });
});
