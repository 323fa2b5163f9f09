import type { SenderEvidence } from '../sender-constraint.js';

/** The parts of a Node `IncomingMessage` that say who is sending the request. */
export interface IncomingLike {
  readonly method?: string | undefined;
  /** Path and query as received (Express rewrites `url` under a mount path; pass `originalUrl`). */
  readonly url?: string | undefined;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly socket?: unknown;
}

interface TlsSocketLike {
  encrypted?: boolean;
  getPeerX509Certificate?: () => { raw: Uint8Array } | undefined;
}

/** Options the adapters take for sender-constrained tokens. */
export interface SenderEvidenceOptions {
  /**
   * The origin clients call this API at (`https://api.example.com`), from which DPoP's `htu`
   * (RFC 9449 §4.3) is checked. Default: the connection's scheme and the `Host` header, which
   * is right when clients reach this process directly; behind a proxy, set it.
   */
  publicOrigin?: string;
}

/**
 * What an adapter knows about the sender without being told: the TLS client certificate of the
 * connection (RFC 8705 §3, for `cnf.x5t#S256` tokens) and the request's method and URL with its
 * `DPoP` header (RFC 9449 §7, for `cnf.jkt` tokens). Behind a TLS-terminating proxy the
 * certificate is not on this socket: pass `clientCertificate` in the call options instead.
 */
export function senderEvidenceOf(
  request: IncomingLike,
  options: SenderEvidenceOptions,
): SenderEvidence {
  const evidence: SenderEvidence = {};
  const socket = request.socket as TlsSocketLike | undefined;
  const certificate = socket?.getPeerX509Certificate?.();
  if (certificate) evidence.clientCertificate = new Uint8Array(certificate.raw);
  const host = request.headers.host;
  const origin =
    options.publicOrigin?.replace(/\/+$/, '') ??
    (typeof host === 'string' ? `${socket?.encrypted ? 'https' : 'http'}://${host}` : undefined);
  if (request.method !== undefined && request.url !== undefined && origin !== undefined) {
    const proof = request.headers.dpop;
    evidence.dpop = { method: request.method, url: `${origin}${request.url}`, proof };
  }
  return evidence;
}
