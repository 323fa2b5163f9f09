import { OAuthError, type AccessTokenClaims } from '@tessera/protocol';
import type { IncomingMessage } from 'node:http';
import type { TesseraContext } from '../context.js';
import type { ClientRecord } from '../store/contract.js';
import { clientCaPem } from '../tls/https-options.js';
import {
  certificateSource,
  presentedCertificate,
  type CertificateSource,
  type PresentedCertificate,
} from '../tls/client-certificate.js';
import { verifyDpopProof } from './dpop-proof.js';
import { DpopNonces } from './dpop-nonce.js';
import { effectiveProfile, fapi2Algorithms } from '../profiles/fapi2.js';

/** What the connection and headers say about the sender, beyond the request body. */
export interface TokenTransport {
  /** The TLS client certificate (direct or forwarded by a trusted proxy). */
  certificate?: PresentedCertificate | undefined;
  /** The `DPoP` header(s) as received. */
  dpop?: string | string[] | undefined;
  /** The token endpoint URL the client addressed: the `htu` a DPoP proof must carry. */
  htu: string;
}

interface SenderState {
  certificates: CertificateSource;
  /** `--dpop-nonce`: nonces every process sharing the KEK agrees on (issue 25). */
  nonces: DpopNonces | undefined;
}

// One per process (per context), built on first use so no shared module needs to know.
const states = new WeakMap<TesseraContext, SenderState>();

function stateOf(context: TesseraContext): SenderState {
  let state = states.get(context);
  if (!state) {
    state = {
      certificates: certificateSource({
        trustedProxies: context.config.trustedProxies,
        header: context.config.clientCertHeader,
        clientCaPem: clientCaPem(context.config),
      }),
      nonces: context.config.dpopNonce
        ? new DpopNonces(context.kek.derive('dpop-nonce'), context.nowSeconds)
        : undefined,
    };
    states.set(context, state);
  }
  return state;
}

/** The client certificate a request came with (mutual TLS, or a trusted proxy's header). */
export function requestCertificate(context: TesseraContext, request: IncomingMessage) {
  return presentedCertificate(request, stateOf(context).certificates, context.nowSeconds());
}

/** The sender facts of a token request as Fastify received it. */
export function tokenTransport(
  context: TesseraContext,
  request: IncomingMessage,
  path: string,
): TokenTransport {
  return {
    certificate: presentedCertificate(request, stateOf(context).certificates, context.nowSeconds()),
    dpop: request.headers.dpop,
    htu: `${context.config.issuer}${path}`,
  };
}

/**
 * Sender-constrains the token being issued: RFC 9449 §6 `cnf.jkt` when a DPoP proof came
 * with the request (required for clients registered `dpopBound`), RFC 8705 §3 `cnf.x5t#S256`
 * when it came over mutual TLS.
 */
export async function senderBinding(
  context: TesseraContext,
  client: ClientRecord,
  transport: TokenTransport | undefined,
): Promise<{
  cnf: AccessTokenClaims['cnf'];
  tokenType: 'Bearer' | 'DPoP';
  /** RFC 9449 §8.2: the nonce for the client's next proof, sent as `DPoP-Nonce`. */
  nonce?: string;
}> {
  const cnf: NonNullable<AccessTokenClaims['cnf']> = {};
  let tokenType: 'Bearer' | 'DPoP' = 'Bearer';
  const fapi2 = effectiveProfile(context.config, client) === 'fapi2';
  // FAPI 2.0 §5.3.3.1: only sender-constrained tokens.
  if (fapi2 && transport?.dpop === undefined && !transport?.certificate)
    throw new OAuthError(
      'invalid_request',
      'profile fapi2: the token must be sender-constrained: send a DPoP proof (RFC 9449) or use mutual TLS (RFC 8705)',
    );
  if (transport?.dpop !== undefined) {
    const { jkt } = await verifyDpopProof(transport.dpop, {
      htm: 'POST',
      htu: transport.htu,
      nowSeconds: context.nowSeconds(),
      replay: context.replayGuards.dpop,
      ...(fapi2 ? { algorithms: fapi2Algorithms } : {}),
      nonces: stateOf(context).nonces,
    });
    cnf.jkt = jkt;
    tokenType = 'DPoP';
  } else if (client.authConfig.dpopBound) {
    throw new OAuthError('invalid_request', 'This client must send a DPoP proof (RFC 9449)');
  }
  if (transport?.certificate) cnf['x5t#S256'] = transport.certificate.thumbprint;
  const nonce = tokenType === 'DPoP' ? stateOf(context).nonces?.current() : undefined;
  return {
    cnf: Object.keys(cnf).length === 0 ? undefined : cnf,
    tokenType,
    ...(nonce === undefined ? {} : { nonce }),
  };
}
