import { isScopeToken, parseScope } from '@tessera/protocol';
import { randomUUID } from 'node:crypto';
import { generateClientSecret, type SecretHasher } from '../secrets/client-secret.js';
import {
  registeredAuthMethods,
  type AuditEntry,
  type NewClient,
  type ClientPatch,
  type ClientRecord,
  type RegisteredAuthMethod,
  type Store,
} from '../store/contract.js';
import { clientCredentialsGrant } from '../grants/client-credentials.js';
import { ClientIdTakenError } from '../store/errors.js';
import { InvalidQuota, parseTokenQuota } from '../quotas/token-quota.js';
import { usesSecret, validAuthConfig, type AuthConfigInput } from '../client-auth/auth-config.js';
import { fapi2RegistrationProblem } from '../profiles/fapi2.js';
import { ClaimsError, validClaims } from '../claims/extra-claims.js';

/** A request the registry refuses; its message names the offending field. */
export class RegistryError extends Error {
  override name = 'RegistryError';
  constructor(
    message: string,
    readonly code: 'invalid_client_metadata' | 'not_found' | 'conflict',
  ) {
    super(message);
  }
}

export interface ClientInput extends AuthConfigInput {
  name: string;
  scope?: string | undefined;
  audiences?: string[] | undefined;
  tokenTtl?: number | null | undefined;
  authMethod?: string | undefined;
  grantTypes?: string[] | undefined;
  /** Extra token claims (issue 19); an update replaces the whole object. */
  claims?: unknown;
  /** Import an existing client (migration): its id and secret instead of generated ones. */
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  /** Issue 25: `fapi2` holds the client to FAPI 2.0; `none` (or null) releases it. */
  profile?: string | null | undefined;
  /** Issue 22: `10/s,5000/d`; null clears it (the server default applies). */
  tokenQuota?: string | null | undefined;
  /** Issue 22: answer a still-fresh token again. */
  reuseTokens?: boolean | undefined;
}

const maxTokenTtl = 86400;
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** RFC 6749 Appendix A.1: client-id = *VSCHAR. */
const clientIdPattern = /^[\x20-\x7e]{1,200}$/;

/** Client registration rules shared by the CLI and the admin API. */
export class ClientRegistry {
  readonly #nowSeconds: () => number;
  readonly #actor: string | undefined;
  readonly #about: Pick<AuditEntry, 'person' | 'sourceAddress' | 'requestId'>;

  /**
   * @param actor who makes the changes, for the audit log (e.g. `cli:alice`,
   *   `admin-api:<client_id>`); no audit entries are written without one.
   * @param about the person, source address and request id the audit entries record.
   */
  constructor(
    private readonly store: Store,
    private readonly hasher: SecretHasher,
    options: {
      nowSeconds?: (() => number) | undefined;
      actor?: string;
      /** `--fapi-max-token-lifetime`: the longest token_ttl a fapi2 client may have. */
      fapiMaxTokenLifetime?: number | undefined;
      about?: Pick<AuditEntry, 'person' | 'sourceAddress' | 'requestId'>;
    } = {},
  ) {
    this.#nowSeconds = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
    this.#actor = options.actor;
    this.#about = options.about ?? {};
    this.#fapiMaxTokenLifetime = options.fapiMaxTokenLifetime ?? 600;
  }

  readonly #fapiMaxTokenLifetime: number;

  /** A client held to a profile must meet it (issue 25): the exact reason otherwise. */
  #checkProfile(client: Pick<ClientRecord, 'authMethod' | 'authConfig' | 'tokenTtl'>): void {
    const problem = fapi2RegistrationProblem({
      ...client,
      maxTokenTtl: this.#fapiMaxTokenLifetime,
    });
    if (problem) throw new RegistryError(problem, 'invalid_client_metadata');
  }

  private nowSeconds(): number {
    return this.#nowSeconds();
  }

  /**
   * The audit entry for a change, committed by the store together with the change itself
   * (none when the registry has no actor, as in tests and internal tooling).
   */
  #audit(action: string, target: string, details: Record<string, unknown> = {}): AuditEntry[] {
    if (this.#actor === undefined) return [];
    return [{ at: this.nowSeconds(), actor: this.#actor, action, target, details, ...this.#about }];
  }

  /** Creates a client; the returned secret is the only copy that will ever exist. */
  async create(
    input: ClientInput & { authMethod?: 'client_secret_basic' | 'client_secret_post' | 'any' },
  ): Promise<{ client: ClientRecord; clientSecret: string }>;
  /** private_key_jwt and the TLS methods have no secret: `clientSecret` is then undefined. */
  async create(
    input: ClientInput,
  ): Promise<{ client: ClientRecord; clientSecret: string | undefined }>;
  async create(
    input: ClientInput,
  ): Promise<{ client: ClientRecord; clientSecret: string | undefined }> {
    const clientId = input.clientId ?? randomUUID();
    if (!clientIdPattern.test(clientId)) {
      throw new RegistryError(
        'client_id must be 1 to 200 printable ASCII characters',
        'invalid_client_metadata',
      );
    }
    const authMethod = validAuthMethod(input.authMethod ?? 'any');
    const authConfig = registryAuthConfig(authMethod, input);
    if (!usesSecret(authMethod) && input.clientSecret !== undefined) {
      throw new RegistryError(
        `a ${authMethod} client has no client_secret`,
        'invalid_client_metadata',
      );
    }
    const clientSecret = usesSecret(authMethod)
      ? (input.clientSecret ?? generateClientSecret())
      : undefined;
    if (
      input.clientSecret !== undefined &&
      input.clientSecret.length < 32 &&
      !uuid.test(input.clientSecret)
    ) {
      throw new RegistryError(
        'an imported client_secret must be at least 32 characters or a UUID',
        'invalid_client_metadata',
      );
    }
    if (validProfile(input.profile) === 'fapi2')
      this.#checkProfile({ authMethod, authConfig, tokenTtl: validTtl(input.tokenTtl ?? null) });
    if (await this.store.getClient(clientId)) {
      throw new RegistryError(`a client with client_id ${clientId} already exists`, 'conflict');
    }
    const record: NewClient = {
      clientId,
      name: validName(input.name),
      status: 'active',
      scopes: validScopes(input.scope ?? ''),
      audiences: validAudiences(input.audiences ?? []),
      tokenTtl: validTtl(input.tokenTtl ?? null),
      authMethod,
      authConfig,
      grantTypes: input.grantTypes ?? [clientCredentialsGrant],
      ...(validProfile(input.profile) === null ? {} : { profile: 'fapi2' as const }),
      claims: registryClaims(input.claims ?? {}),
      tokenQuota: validQuota(input.tokenQuota ?? null),
      reuseTokens: input.reuseTokens ?? false,
      secrets:
        clientSecret === undefined ? [] : [this.hasher.newRecord(clientSecret, this.nowSeconds())],
    };
    const client = await this.#createRecord(
      record,
      this.#audit('client.create', clientId, {
        name: record.name,
        scope: record.scopes.join(' '),
        audience: record.audiences,
        token_ttl: record.tokenTtl,
        auth_method: record.authMethod,
        ...(record.profile ? { profile: record.profile } : {}),
        ...(record.tokenQuota ? { token_quota: record.tokenQuota } : {}),
        ...(record.reuseTokens ? { reuse_tokens: true } : {}),
        ...(Object.keys(authConfig).length > 0 ? { auth_config: authConfig } : {}),
        ...(Object.keys(record.claims ?? {}).length > 0 ? { claims: record.claims } : {}),
        imported: input.clientSecret !== undefined,
      }),
    );
    return { client, clientSecret };
  }

  /** createClient, with a client_id another tenant holds refused like a duplicate (409). */
  async #createRecord(record: NewClient, audit: AuditEntry[]): Promise<ClientRecord> {
    try {
      return await this.store.createClient(record, audit);
    } catch (error) {
      if (error instanceof ClientIdTakenError) throw new RegistryError(error.message, 'conflict');
      throw error;
    }
  }

  async get(clientId: string): Promise<ClientRecord> {
    const client = await this.store.getClient(clientId);
    if (!client) throw new RegistryError(`no client with client_id ${clientId}`, 'not_found');
    return client;
  }

  list(): Promise<ClientRecord[]> {
    return this.store.listClients();
  }

  async update(
    clientId: string,
    input: Omit<Partial<ClientInput>, 'clientId' | 'clientSecret'> & {
      status?: ClientRecord['status'];
    },
  ): Promise<ClientRecord> {
    const patch: ClientPatch = {};
    if (input.name !== undefined) patch.name = validName(input.name);
    if (input.scope !== undefined) patch.scopes = validScopes(input.scope);
    if (input.audiences !== undefined) patch.audiences = validAudiences(input.audiences);
    if (input.tokenTtl !== undefined) patch.tokenTtl = validTtl(input.tokenTtl);
    if (input.authMethod !== undefined) patch.authMethod = validAuthMethod(input.authMethod);
    if (input.grantTypes !== undefined) patch.grantTypes = input.grantTypes;
    if (input.status !== undefined) patch.status = input.status;
    if (input.profile !== undefined) patch.profile = validProfile(input.profile);
    if (input.claims !== undefined) patch.claims = registryClaims(input.claims);
    if (input.tokenQuota !== undefined) patch.tokenQuota = validQuota(input.tokenQuota);
    if (input.reuseTokens !== undefined) patch.reuseTokens = input.reuseTokens;
    const authConfigKeys = [
      'jwks',
      'jwksUri',
      'tlsSubjectDn',
      'tlsSanDns',
      'certificates',
      'dpopBound',
      'federatedIssuer',
      'federatedSubject',
      'federatedAudience',
      'federatedJwksUri',
    ] as const;
    if (patch.authMethod !== undefined || authConfigKeys.some((key) => input[key] !== undefined)) {
      const current = await this.get(clientId);
      const method = patch.authMethod ?? current.authMethod;
      // A method change starts from a clean configuration; otherwise the given fields replace.
      const base: AuthConfigInput =
        patch.authMethod !== undefined && patch.authMethod !== current.authMethod
          ? {}
          : {
              ...current.authConfig,
              ...(input.certificates !== undefined ? { jwks: undefined } : {}),
            };
      patch.authConfig = registryAuthConfig(method, { ...base, ...definedOnly(input) });
    }
    if (
      patch.profile !== undefined ||
      patch.authMethod !== undefined ||
      patch.authConfig !== undefined ||
      patch.tokenTtl !== undefined
    ) {
      const current = await this.get(clientId);
      if ((patch.profile === undefined ? current.profile : patch.profile) === 'fapi2')
        this.#checkProfile({
          authMethod: patch.authMethod ?? current.authMethod,
          authConfig: patch.authConfig ?? current.authConfig,
          tokenTtl: patch.tokenTtl === undefined ? current.tokenTtl : patch.tokenTtl,
        });
    }
    const { status, ...changes } = patch;
    const client = await this.store.updateClient(clientId, patch, [
      ...(Object.keys(changes).length > 0 ? this.#audit('client.update', clientId, changes) : []),
      ...(status !== undefined
        ? this.#audit(status === 'active' ? 'client.enable' : 'client.disable', clientId)
        : []),
    ]);
    if (!client) throw new RegistryError(`no client with client_id ${clientId}`, 'not_found');
    return client;
  }

  setStatus(clientId: string, status: ClientRecord['status']): Promise<ClientRecord> {
    return this.update(clientId, { status });
  }

  /**
   * Issues a new secret (returned once); earlier live secrets keep working for `graceSeconds`.
   * At most two secrets are live: with two live already, the older one expires at once.
   */
  async rotateSecret(
    clientId: string,
    graceSeconds: number,
  ): Promise<{ client: ClientRecord; clientSecret: string }> {
    if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > 30 * 86400) {
      throw new RegistryError(
        'grace must be a whole number of seconds from 0 to 2592000 (30 days)',
        'invalid_client_metadata',
      );
    }
    const client = await this.get(clientId);
    const now = this.nowSeconds();
    const live = client.secrets.filter(
      (secret) => secret.expiresAt === null || secret.expiresAt > now,
    );
    const dead = client.secrets.filter((secret) => !live.includes(secret));
    const newest = live.at(-1);
    const clientSecret = generateClientSecret();
    await this.store.changeSecrets(
      clientId,
      {
        add: [this.hasher.newRecord(clientSecret, now)],
        remove: dead.map((secret) => secret.id),
        expire: live.map((secret) => ({
          id: secret.id,
          expiresAt:
            secret === newest ? Math.min(secret.expiresAt ?? Infinity, now + graceSeconds) : now,
        })),
      },
      this.#audit('client.rotate_secret', clientId, { grace_seconds: graceSeconds }),
    );
    return { client: await this.get(clientId), clientSecret };
  }

  async delete(clientId: string): Promise<void> {
    if (!(await this.store.deleteClient(clientId, this.#audit('client.delete', clientId)))) {
      throw new RegistryError(`no client with client_id ${clientId}`, 'not_found');
    }
  }
}

function validName(name: string): string {
  const trimmed = name.trim();
  if (trimmed === '' || trimmed.length > 200 || /[\x00-\x1f\x7f]/.test(trimmed)) {
    throw new RegistryError(
      'name must be 1 to 200 characters without control characters',
      'invalid_client_metadata',
    );
  }
  return trimmed;
}

function validScopes(scope: string): string[] {
  const scopes = parseScope(scope);
  if (!scopes || !scopes.every(isScopeToken)) {
    throw new RegistryError(
      'scope must be space-separated RFC 6749 scope tokens (no quotes or backslashes)',
      'invalid_client_metadata',
    );
  }
  return scopes;
}

function validAudiences(audiences: string[]): string[] {
  for (const audience of audiences) {
    let ok = false;
    try {
      ok = new URL(audience).protocol !== '' && !audience.includes('#');
    } catch {
      ok = false;
    }
    if (!ok)
      throw new RegistryError(
        `audience ${JSON.stringify(audience)} must be an absolute URI without a fragment`,
        'invalid_client_metadata',
      );
  }
  return [...new Set(audiences)];
}

function validTtl(ttl: number | null): number | null {
  if (ttl === null) return null;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > maxTokenTtl) {
    throw new RegistryError(
      `token TTL must be an integer from 1 to ${maxTokenTtl} seconds`,
      'invalid_client_metadata',
    );
  }
  return ttl;
}

function validAuthMethod(method: string): RegisteredAuthMethod {
  if (!(registeredAuthMethods as readonly string[]).includes(method)) {
    throw new RegistryError(
      `auth method must be one of ${registeredAuthMethods.join(', ')}`,
      'invalid_client_metadata',
    );
  }
  return method as RegisteredAuthMethod;
}

function validProfile(profile: string | null | undefined): 'fapi2' | null {
  if (profile === undefined || profile === null || profile === 'none') return null;
  if (profile === 'fapi2') return 'fapi2';
  throw new RegistryError(
    `profile must be fapi2 or none, got ${JSON.stringify(profile)}`,
    'invalid_client_metadata',
  );
}

function registryAuthConfig(method: RegisteredAuthMethod, input: AuthConfigInput) {
  try {
    return validAuthConfig(method, input);
  } catch (error) {
    throw new RegistryError((error as Error).message, 'invalid_client_metadata');
  }
}

function registryClaims(claims: unknown) {
  try {
    return validClaims(claims);
  } catch (error) {
    if (!(error instanceof ClaimsError)) throw error;
    throw new RegistryError(error.message, 'invalid_client_metadata');
  }
}

function definedOnly(input: AuthConfigInput): AuthConfigInput {
  return Object.fromEntries(
    Object.entries(input).filter(([, value]) => value !== undefined),
  ) as AuthConfigInput;
}

/** A quota's canonical text, or a refusal naming what is wrong (`invalid_client_metadata`). */
function validQuota(text: string | null): string | null {
  if (text === null || text === '') return null;
  try {
    return parseTokenQuota(text).text;
  } catch (error) {
    if (error instanceof InvalidQuota)
      throw new RegistryError(error.message, 'invalid_client_metadata');
    throw error;
  }
}
