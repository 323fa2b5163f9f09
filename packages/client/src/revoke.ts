import { authenticateClient } from './client-authentication.js';
import { RevocationError } from './errors.js';
import type { TokenRequestContext } from './token-request.js';

/**
 * Revokes one access token: RFC 7009 §2.1 (`token` + `token_type_hint=access_token`, client
 * authenticated as at the token endpoint) or the dialect's JSON shape. RFC 7009 §2.2: 200
 * means revoked or already invalid. Not retried: a token that stays valid expires anyway.
 */
export async function revokeToken(
  ctx: TokenRequestContext,
  endpoint: string,
  token: string,
): Promise<void> {
  const headers: Record<string, string> = {
    accept: 'application/json',
    ...ctx.dialect.revocationHeaders,
  };
  let body: string;
  let assertion: string | undefined;
  if (ctx.dialect.revocationFormat === 'json-credentials') {
    headers['content-type'] = 'application/json';
    body = JSON.stringify({ client_id: ctx.clientId, client_secret: ctx.clientSecret, token });
  } else {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    const auth = await authenticateClient(ctx);
    Object.assign(headers, auth.headers);
    assertion = auth.assertion;
    body = new URLSearchParams([
      ['token', token],
      ['token_type_hint', 'access_token'],
      ...auth.params,
    ]).toString();
  }
  let response: Response;
  try {
    response = await ctx.fetch(endpoint, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(ctx.timeoutMs)]),
    });
  } catch (error) {
    throw new RevocationError('revocation_failed', 'revocation endpoint unreachable', {
      cause: error,
    });
  }
  let text = ctx.redact(await response.text());
  if (assertion !== undefined) text = text.split(assertion).join('[REDACTED]');
  if (response.ok) return;
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  const obj =
    typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  throw new RevocationError(
    'revocation_failed',
    `revocation endpoint answered ${response.status}`,
    {
      status: response.status,
      ...(typeof obj['error'] === 'string' ? { error: obj['error'] } : {}),
      ...(typeof obj['error_description'] === 'string'
        ? { error_description: obj['error_description'] }
        : {}),
      cause: { body: parsed },
    },
  );
}
