/**
 * Issue 16, standards and interop, over real HTTP: HTTP Basic with an unencoded `+` in the
 * client_id (axios `auth:`, Python requests), and `--assertion-audience any` /
 * `--assertion-max-lifetime` for private_key_jwt clients using Authlib-style defaults
 * (`aud` = the token endpoint URL, a one-hour `exp`). Discovery's RFC 8414 members and
 * `token_type_hint` are asserted in discovery-and-keys and revocation-introspection.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { postForm, startTessera, type TestTessera } from './support/tessera.js';

const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const now = () => Math.floor(Date.now() / 1000);
const plainBasic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('HTTP Basic without form-urlencoding', () => {
  let tessera: TestTessera;
  before(async () => {
    tessera = await startTessera();
  });
  after(() => tessera.close());

  it('a raw + in the client_id is tried as sent when the decoded id is unknown', async () => {
    const { clientSecret } = await tessera.registry.create({
      name: 'plus',
      clientId: 'partner+eu',
    });
    const token = (authorization: string) =>
      postForm(
        `${tessera.url}/oauth/token`,
        { grant_type: 'client_credentials' },
        { authorization },
      );
    const raw = await token(plainBasic('partner+eu', clientSecret));
    assert.equal(raw.status, 200, raw.text);
    const encoded = await token(plainBasic('partner%2Beu', clientSecret));
    assert.equal(encoded.status, 200, 'the RFC 6749 §2.3.1 encoding still works');
    const wrong = await token(plainBasic('partner+eu', 'wrong'));
    assert.equal(wrong.status, 401);
  });

  it('a real id with a space wins over the raw fallback', async () => {
    const spaced = await tessera.registry.create({ name: 'space', clientId: 'a b' });
    await tessera.registry.create({ name: 'plus', clientId: 'a+b' });
    const answer = await postForm(
      `${tessera.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: plainBasic('a+b', spaced.clientSecret) },
    );
    assert.equal(answer.status, 200, 'a+b decodes to "a b", which exists and matches');
  });
});

describe('private_key_jwt assertion policy', () => {
  let key: Awaited<ReturnType<typeof generateKeyPair>>;
  let jwks: { keys: JsonWebKey[] };
  before(async () => {
    key = await generateKeyPair('ES256', { extractable: true });
    jwks = {
      keys: [{ ...(await exportJWK(key.publicKey)), alg: 'ES256', kid: 'k' } as JsonWebKey],
    };
  });

  const setUp = async (options: Parameters<typeof startTessera>[0] = {}) => {
    const tessera = await startTessera(options);
    const { client } = await tessera.registry.create({
      name: 'authlib-like',
      authMethod: 'private_key_jwt',
      jwks,
    });
    const request = async (aud: string | string[], lifetime = 60) =>
      postForm(`${tessera.url}/oauth/token`, {
        grant_type: 'client_credentials',
        client_assertion_type: assertionType,
        client_assertion: await new SignJWT({ jti: randomUUID(), aud })
          .setProtectedHeader({ alg: 'ES256', kid: 'k' })
          .setIssuer(client.clientId)
          .setSubject(client.clientId)
          .setIssuedAt()
          .setExpirationTime(now() + lifetime)
          .sign(key.privateKey),
      });
    return { tessera, request };
  };

  it('is strict by default, and says why in error_description', async () => {
    const { tessera, request } = await setUp();
    try {
      assert.equal((await request(tessera.issuer)).status, 200);
      const tokenUrl = await request(`${tessera.url}/oauth/token`);
      assert.deepEqual(
        [tokenUrl.status, tokenUrl.body],
        [
          401,
          {
            error: 'invalid_client',
            error_description: `Client authentication failed: client_assertion aud must be the issuer (${tessera.issuer}) as a single string`,
          },
        ],
      );
      const hour = await request(tessera.issuer, 3600);
      assert.deepEqual(
        [hour.status, hour.body],
        [
          401,
          {
            error: 'invalid_client',
            error_description:
              'Client authentication failed: client_assertion exp may be at most 300 seconds away',
          },
        ],
      );
    } finally {
      await tessera.close();
    }
  });

  it('--assertion-audience any and --assertion-max-lifetime 3600 accept Authlib defaults', async () => {
    const { tessera, request } = await setUp({
      assertionAudience: 'any',
      assertionMaxLifetime: 3600,
    });
    try {
      const tokenUrl = `${tessera.url}/oauth/token`;
      for (const aud of [tessera.issuer, tokenUrl, [tokenUrl, 'https://other.example']]) {
        const answer = await request(aud, 3600);
        assert.equal(answer.status, 200, `${JSON.stringify(aud)}: ${answer.text}`);
      }
      const elsewhere = await request('https://elsewhere.example');
      assert.deepEqual(
        [elsewhere.status, elsewhere.body],
        [
          401,
          {
            error: 'invalid_client',
            error_description: `Client authentication failed: client_assertion aud must be one of ${tessera.issuer}, ${tokenUrl}`,
          },
        ],
      );
      const tooLong = await request(tokenUrl, 7200);
      assert.equal(tooLong.status, 401);
      assert.equal(
        (tooLong.body as { error_description: string }).error_description,
        'Client authentication failed: client_assertion exp may be at most 3600 seconds away',
      );
    } finally {
      await tessera.close();
    }
  });
});
