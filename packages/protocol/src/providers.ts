/**
 * Each seeded provider's wire constants, from its public documentation: the server's presets
 * (which mimic the provider) and the client's presets (which call it) both read them here, so
 * a path or host changes in one place. What each side accepts or sends beyond these (auth
 * methods, body encodings, error shapes) is that side's preset.
 */
export interface ProviderConstants {
  /** The `--preset` name and the client dialect's `name`. */
  readonly name: string;
  /** The token endpoint's path in the provider's API. */
  readonly tokenPath: string;
  /** The provider's documented hosts per environment. */
  readonly hosts?: Readonly<Record<string, string>>;
  /** A documented revocation call. */
  readonly revoke?: {
    readonly path: string;
    /** Headers the call carries, with the value the documentation shows (lower-case names). */
    readonly headers: Readonly<Record<string, string>>;
  };
}

/** Tesouro, "Client credentials authentication" (the revoke request wins over its prose). */
export const tesouroProvider = {
  name: 'tesouro',
  tokenPath: '/openid/connect/token',
  hosts: { sandbox: 'https://api.sandbox.tesouro.com', production: 'https://api.tesouro.com' },
  revoke: { path: '/v1/auth/revoke', headers: { 'x-finops-version': '2025-06-23' } },
} as const satisfies ProviderConstants;

/** Conta Simples, "Get access token" / "Obter Token de Acesso". */
export const contaSimplesProvider = {
  name: 'conta-simples',
  tokenPath: '/oauth/v1/access-token',
  hosts: { sandbox: 'https://api-sandbox.contasimples.com' },
} as const satisfies ProviderConstants;

/** Treezor, "Authentication": the RFC path; hosts are per customer. */
export const treezorProvider = {
  name: 'treezor',
  tokenPath: '/oauth/token',
} as const satisfies ProviderConstants;

/** AstraPay, "Client Credentials Flow": only the sandbox host is documented. */
export const astrapayProvider = {
  name: 'astrapay',
  tokenPath: '/oauth/v1/token',
  hosts: { sandbox: 'https://api-sandbox.astrapay.com.br' },
} as const satisfies ProviderConstants;
