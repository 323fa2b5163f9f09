/**
 * A small OpenID Provider for the console's sign-in tests over HTTP: discovery, JWKS, an
 * authorization endpoint that signs in `idp.user` at once, and a token endpoint that checks
 * client_secret_basic and PKCE and then answers with an ID token — or, per `idp.mode`, with a
 * forged one (signed by another key) or an expired one. node-oidc-provider plays the real
 * company provider in the browser test; this one lets a test choose exactly what comes back.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';

export interface FakeUser {
  sub: string;
  email?: string;
  email_verified?: boolean;
  groups?: string[];
  acr?: string;
}

export interface FakeIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  user: FakeUser;
  mode: 'valid' | 'forged' | 'expired' | 'wrong-audience' | 'wrong-nonce';
  /** The query of the last authorization request. */
  lastAuthorization: URLSearchParams | undefined;
  close(): Promise<void>;
}

const body = async (request: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString());
};

export async function startFakeIdp(nowSeconds: () => number): Promise<FakeIdp> {
  const key = await generateKeyPair('ES256');
  const otherKey = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(key.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const codes = new Map<
    string,
    { nonce: string; challenge: string; redirectUri: string; user: FakeUser }
  >();
  const idp: FakeIdp = {
    issuer: '',
    clientId: 'tessera-console',
    clientSecret: 'console-secret',
    user: { sub: 'nobody' },
    mode: 'valid',
    lastAuthorization: undefined,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const send = (response: ServerResponse, status: number, value: unknown, headers = {}) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(value));
  };
  const idToken = async (code: { nonce: string; user: FakeUser }) => {
    const now = nowSeconds();
    const { sub, ...claims } = code.user;
    const signer: CryptoKey = idp.mode === 'forged' ? otherKey.privateKey : key.privateKey;
    return new SignJWT({
      ...claims,
      nonce: idp.mode === 'wrong-nonce' ? 'another-nonce' : code.nonce,
    })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(idp.issuer)
      .setSubject(sub)
      .setAudience(idp.mode === 'wrong-audience' ? 'someone-else' : idp.clientId)
      .setIssuedAt(idp.mode === 'expired' ? now - 7200 : now)
      .setExpirationTime(idp.mode === 'expired' ? now - 3600 : now + 300)
      .sign(signer);
  };

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', idp.issuer);
    void (async () => {
      if (url.pathname === '/.well-known/openid-configuration') {
        return send(response, 200, {
          issuer: idp.issuer,
          authorization_endpoint: `${idp.issuer}/authorize`,
          token_endpoint: `${idp.issuer}/token`,
          jwks_uri: `${idp.issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['ES256'],
          code_challenge_methods_supported: ['S256'],
        });
      }
      if (url.pathname === '/jwks') return send(response, 200, { keys: [jwk] });
      if (url.pathname === '/authorize') {
        const query = url.searchParams;
        idp.lastAuthorization = query;
        if (
          query.get('client_id') !== idp.clientId ||
          query.get('code_challenge_method') !== 'S256' ||
          !query.get('nonce')
        )
          return send(response, 400, { error: 'invalid_request' });
        const code = randomUUID();
        codes.set(code, {
          nonce: query.get('nonce')!,
          challenge: query.get('code_challenge')!,
          redirectUri: query.get('redirect_uri')!,
          user: { ...idp.user },
        });
        const back = new URL(query.get('redirect_uri')!);
        back.searchParams.set('code', code);
        back.searchParams.set('state', query.get('state') ?? '');
        response.writeHead(302, { location: back.href });
        return response.end();
      }
      if (url.pathname === '/token' && request.method === 'POST') {
        const form = await body(request);
        // RFC 6749 §2.3.1: each half form-urlencoded, then base64.
        const [id, secret] = Buffer.from(
          (request.headers.authorization ?? '').replace(/^Basic /, ''),
          'base64',
        )
          .toString()
          .split(':')
          .map((part) => decodeURIComponent(part.replace(/\+/g, ' ')));
        if (id !== idp.clientId || secret !== idp.clientSecret)
          return send(response, 401, { error: 'invalid_client' });
        const code = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        const challenge = createHash('sha256').update(verifier).digest('base64url');
        if (!code || code.challenge !== challenge || code.redirectUri !== form.get('redirect_uri'))
          return send(response, 400, { error: 'invalid_grant' });
        return send(
          response,
          200,
          {
            access_token: randomUUID(),
            token_type: 'Bearer',
            expires_in: 300,
            id_token: await idToken(code),
          },
          { 'cache-control': 'no-store' },
        );
      }
      send(response, 404, { error: 'not_found' });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  idp.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return idp;
}
