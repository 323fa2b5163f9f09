/**
 * What the multi-instance tests (several `tessera serve` on one PostgreSQL, on a replica, or
 * sharing state through Redis) set up alike: a deployment's schema, data directory and
 * key-encryption key, a registry of the test's own on that database, calls against one
 * instance, the one-time proofs whose reuse at another instance must be refused, and each
 * shared-state backend on its own.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { loadKek } from '../../src/lib/kek.js';
import { ClientRegistry } from '../../src/registry/client-registry.js';
import { SecretHasher } from '../../src/secrets/client-secret.js';
import { MemorySharedState } from '../../src/shared-state/memory-state.js';
import { PostgresSharedState } from '../../src/shared-state/postgres-state.js';
import { RedisSharedState } from '../../src/shared-state/redis-state.js';
import type { SharedState } from '../../src/shared-state/shared-state.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { newKek, within, type TesseraProcess } from './instances.js';
import { postgresSkipReason } from './postgres.js';
import { createTestSchema, type TestSchema } from './postgres-schema.js';
import { redisSkipReason, redisUrl } from './redis.js';
import { basicAuthorization, postForm } from './tessera.js';

/** The issuer every instance of a test deployment is configured with. */
export const issuer = 'http://tessera.test';

export type Credentials = { clientId: string; clientSecret: string };

/** A schema, data directory and key-encryption key that every instance of the test shares. */
export class PostgresDeployment {
  readonly kek = newKek();
  #store: PostgresStore | undefined;
  #registry: ClientRegistry | undefined;

  private constructor(
    readonly schema: TestSchema,
    readonly dataDir: string,
  ) {}

  static async create(label: string): Promise<PostgresDeployment> {
    const schema = await createTestSchema(label);
    return new PostgresDeployment(schema, await mkdtemp(join(tmpdir(), `tessera-${label}-`)));
  }

  /** The environment of instance `name`: the shared settings, its own data directory. */
  env(name: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      TESSERA_KEK: this.kek,
      TESSERA_ISSUER: issuer,
      TESSERA_DATA_DIR: join(this.dataDir, name),
      ...extra,
    };
  }

  /** Opened on first use, so that the instances (started before) migrate the schema. */
  async registry(): Promise<ClientRegistry> {
    if (!this.#registry) {
      const store = (this.#store = new PostgresStore(this.schema.url));
      const kek = loadKek(this.kek, join(this.dataDir, 'unused.key'));
      this.#registry = new ClientRegistry(store, await SecretHasher.load(store, kek));
    }
    return this.#registry;
  }

  get store(): PostgresStore {
    if (!this.#store) throw new Error('PostgresDeployment: call registry() first');
    return this.#store;
  }

  async createClient(input: {
    name: string;
    scope?: string;
    tokenQuota?: string;
  }): Promise<Credentials> {
    const { client, clientSecret } = await (await this.registry()).create(input);
    return { clientId: client.clientId, clientSecret };
  }

  /** Stops `instances` (SIGTERM), then drops what the deployment made. */
  async close(...instances: Array<TesseraProcess | undefined>): Promise<void> {
    await Promise.all(instances.map((instance) => instance?.stop()));
    await this.#store?.close();
    await this.schema.drop();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** Waits until `instance` has logged `tessera listening` once per worker. */
export async function workersListening(instance: TesseraProcess, workers: number): Promise<void> {
  const listening = () => instance.output().split('tessera listening').length - 1;
  assert.ok(await within(20_000, async () => listening() >= workers), instance.output());
}

export function token(url: string, client: Credentials) {
  return postForm(
    `${url}/oauth/token`,
    { grant_type: 'client_credentials' },
    { authorization: basicAuthorization(client.clientId, client.clientSecret) },
  );
}

export async function accessToken(url: string, client: Credentials): Promise<string> {
  const result = await token(url, client);
  assert.equal(result.status, 200, result.text);
  return (result.body as { access_token: string }).access_token;
}

/** An admin API call with a fresh token of `admin`; the body parsed when there is one. */
export async function adminCall(
  url: string,
  admin: Credentials,
  method: string,
  path: string,
  body?: unknown,
) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${await accessToken(url, admin)}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** `issued` introspected at `url` by `introspector`. */
export async function introspect(url: string, introspector: Credentials, issued: string) {
  const answer = await postForm(
    `${url}/oauth/introspect`,
    { token: issued },
    { authorization: basicAuthorization(introspector.clientId, introspector.clientSecret) },
  );
  return answer.body as { active: boolean; jti?: string };
}

/**
 * A private_key_jwt client (its key `kid`) and a DPoP key, each proof or assertion made with
 * a fresh `jti`: what one instance accepts once and another must then refuse.
 */
export async function oneTimeProofs(registry: ClientRegistry, kid: string) {
  const assertionPair = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(assertionPair.publicKey)), kid, alg: 'ES256' };
  const assertionClient = (
    await registry.create({
      name: 'assertions',
      authMethod: 'private_key_jwt',
      jwks: { keys: [jwk] },
    })
  ).client.clientId;
  const dpop = await generateKeyPair('ES256', { extractable: true });
  const { kty, crv, x, y } = await exportJWK(dpop.publicKey);
  return {
    /** A DPoP proof for `POST {issuer}/oauth/token`. */
    dpopProof: () =>
      new SignJWT({
        jti: randomUUID(),
        htm: 'POST',
        htu: `${issuer}/oauth/token`,
        iat: Math.floor(Date.now() / 1000),
      })
        .setProtectedHeader({
          alg: 'ES256',
          typ: 'dpop+jwt',
          jwk: { kty: kty!, crv: crv!, x: x!, y: y! },
        })
        .sign(dpop.privateKey),
    /** A client_credentials form authenticated by a client assertion. */
    assertionForm: async () => ({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES256', kid })
        .setIssuer(assertionClient)
        .setSubject(assertionClient)
        .setAudience(issuer)
        .setIssuedAt()
        .setExpirationTime('60s')
        .sign(assertionPair.privateKey),
    }),
  };
}

export interface SharedStateBackend {
  name: SharedState['kind'];
  skip: () => Promise<string | undefined>;
  open: (now: () => number) => Promise<{ state: SharedState; dispose: () => Promise<void> }>;
  /** Whether expiry follows the injected clock (Redis expires keys on its own clock). */
  injectedExpiry: boolean;
}

/** Every shared-state backend on an injected clock; PostgreSQL's in a fresh schema `label`. */
export const sharedStateBackends = (label: string): SharedStateBackend[] => [
  {
    name: 'memory',
    skip: () => Promise.resolve(undefined),
    open: (now) => {
      const state = new MemorySharedState(now);
      return Promise.resolve({ state, dispose: () => state.close() });
    },
    injectedExpiry: true,
  },
  {
    name: 'postgres',
    skip: postgresSkipReason,
    open: async (now) => {
      const schema = await createTestSchema(label);
      const store = new PostgresStore(schema.url);
      await store.migrate();
      await store.close();
      const state = new PostgresSharedState(schema.url, now);
      return {
        state,
        dispose: async () => {
          await state.close();
          await schema.drop();
        },
      };
    },
    injectedExpiry: true,
  },
  {
    name: 'redis',
    skip: redisSkipReason,
    open: async (now) => {
      const state = await RedisSharedState.connect(redisUrl, now);
      return { state, dispose: () => state.close() };
    },
    injectedExpiry: false,
  },
];
