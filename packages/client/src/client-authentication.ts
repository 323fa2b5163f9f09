import { jwtBearerAssertionType } from '@tessera/protocol';
import { basicCredential } from './lib/basic.js';
import type { TokenRequestContext } from './token-request.js';

/** How one request authenticates the client: headers and body parameters to add. */
export interface ClientAuthentication {
  headers: Record<string, string>;
  params: [string, string][];
  /** The one-time credential sent (an assertion), to scrub from whatever the peer echoes. */
  assertion: string | undefined;
}

/**
 * Client authentication for a token or revocation request, by method: RFC 6749 §2.3.1
 * (Basic header or `client_secret` in the body), RFC 7523 §2.2 (a fresh assertion each call,
 * with `client_id` as RFC 7521 §4.2 allows), RFC 8705 §2 (`client_id` only: the TLS
 * connection made by the configured `fetch` carries the certificate).
 */
export async function authenticateClient(
  ctx: Pick<
    TokenRequestContext,
    'clientId' | 'clientSecret' | 'authMethod' | 'dialect' | 'clientAssertion'
  >,
): Promise<ClientAuthentication> {
  switch (ctx.authMethod) {
    case 'client_secret_basic':
      return {
        headers: {
          authorization: basicCredential(
            ctx.clientId,
            ctx.clientSecret,
            ctx.dialect.basicCredentialEncoding,
          ),
        },
        params: [],
        assertion: undefined,
      };
    case 'client_secret_post':
      return {
        headers: {},
        params: [
          ['client_id', ctx.clientId],
          ['client_secret', ctx.clientSecret],
        ],
        assertion: undefined,
      };
    case 'private_key_jwt': {
      // validateOptions guarantees the signer for this method.
      const assertion = await ctx.clientAssertion!();
      return {
        headers: {},
        params: [
          ['client_id', ctx.clientId],
          ['client_assertion_type', jwtBearerAssertionType],
          ['client_assertion', assertion],
        ],
        assertion,
      };
    }
    case 'tls_client_auth':
    case 'self_signed_tls_client_auth':
      return { headers: {}, params: [['client_id', ctx.clientId]], assertion: undefined };
  }
}
